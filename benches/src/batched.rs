//! The `stream_write_slice` group's batching row (`futex_batched4`, under a load): a stream
//! whose writer batches several 64 KiB blocks per hand-off with [`BatchWriter`]
//! ([`bulk_u8_batched`]).
//!
//! Needs the feature `current-api` (on by default): `BatchWriter` is newer than some revisions
//! that `cargo xtask bench --baseline` builds this crate against.
//!
//! May touch: the stream it makes and the partner thread of [`two_threads`].

use std::time::Duration;

use stream_core::{stream_with, BatchWriter, ReadAhead};
use stream_events::Backend;

use crate::bulk_u64::drain_read_ahead;
use crate::{two_threads, ByteCheck, BytePattern, BLOCK};

/// Times the transfer of `total` bytes of `pattern` through a native stream with backend `B`
/// whose writer batches: the timed thread reads with a [`ReadAhead`] of two buffers of
/// `blocks` 64 KiB blocks and checks every chunk; the partner copies each 64 KiB block of the
/// pattern with [`BatchWriter::push_slice`], so that one hand-off carries `blocks` blocks
/// (the same data and copies as [`bulk_u8_read_ahead`](crate::bulk_u8_read_ahead), with
/// `blocks` times fewer hand-offs).
pub fn bulk_u8_batched<B: Backend>(pattern: &BytePattern, total: u64, blocks: usize) -> Duration {
    let (writer, reader) = stream_with::<u8, B>();
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut reader = ReadAhead::new(reader, blocks * BLOCK);
            let start = gate.open();
            drain_read_ahead(&mut reader, |chunk| check.check(chunk));
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            let mut writer = BatchWriter::new(writer);
            gate.open();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                writer.hold().unwrap();
                offset += writer.push_slice(&rest[..want]) as u64;
            }
            // Dropping `writer` commits what it holds and closes the stream.
        },
    );
    elapsed
}
