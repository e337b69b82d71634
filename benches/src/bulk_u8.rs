//! The rows of `stream_bulk_u8`: bytes of a [`BytePattern`] in 64 KiB blocks, recycled over
//! crossbeam channels (checked in place or copied out) or through a native stream (one lent
//! buffer, or a [`ReadAhead`] of two); each loop also takes [`Laps`] for the breakdown.
//!
//! May touch: the blocks, channels and streams it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::time::Duration;

use stream_core::{stream_with, ReadAhead, ReadError};
use stream_events::Backend;

use crate::bulk_u64::drain_read_ahead;
use crate::{two_threads, AlignedBlock, BulkLaps, ByteCheck, BytePattern, Laps, BLOCK};

/// Buffers in flight in the crossbeam rows of `stream_bulk_u8`.
pub const CROSSBEAM_POOL: usize = 2;

/// Times the transfer of `total` bytes of `pattern` as recycled 64 KiB blocks over crossbeam
/// channels: two blocks circulate, full ones over one `bounded(2)` channel and empty ones back
/// over another; the partner fills one from the pattern while the timed thread checks the
/// other in place. One copy per byte, the same work as a stream.
pub fn bulk_u8_crossbeam(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_crossbeam_with(pattern, total, false)
}

/// The crossbeam row for a reader that wants the bytes in its own buffer (where a stream
/// puts them): as [`bulk_u8_crossbeam`], but the reader copies each block into its own
/// 64 KiB block and checks that copy. Each byte is copied twice, once on each side.
pub fn bulk_u8_crossbeam_copy(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_crossbeam_with(pattern, total, true)
}

/// [`bulk_u8_crossbeam`], or with `copy_out` [`bulk_u8_crossbeam_copy`].
fn bulk_u8_crossbeam_with(pattern: &BytePattern, total: u64, copy_out: bool) -> Duration {
    bulk_u8_crossbeam_laps::<()>(pattern, total, copy_out).elapsed
}

/// The crossbeam rows with the time of each side split by `L` (see [`BulkLaps`]): the
/// reader waits in `recv` and works on copying out (with `copy_out`), returning and checking
/// the block; the writer waits for an empty block and works on filling and sending it.
pub(crate) fn bulk_u8_crossbeam_laps<L: Laps>(
    pattern: &BytePattern,
    total: u64,
    copy_out: bool,
) -> BulkLaps<L> {
    let (full_tx, full_rx) = crossbeam_channel::bounded::<AlignedBlock>(CROSSBEAM_POOL);
    let (empty_tx, empty_rx) = crossbeam_channel::bounded::<AlignedBlock>(CROSSBEAM_POOL);
    for _ in 0..CROSSBEAM_POOL {
        empty_tx.send(AlignedBlock::new()).unwrap();
    }
    let ((elapsed, reader), writer) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut own = AlignedBlock::new();
            let mut laps = L::default();
            let start = gate.open();
            laps.start();
            while let Ok(block) = full_rx.recv() {
                laps.waited();
                if copy_out {
                    own.fill_from(block.as_bytes());
                    // Fails only once the writer is done and gone; the block is then not
                    // needed.
                    let _ = empty_tx.send(block);
                    check.check(own.as_bytes());
                } else {
                    check.check(block.as_bytes());
                    let _ = empty_tx.send(block);
                }
                laps.worked();
            }
            let elapsed = start.elapsed();
            check.finish(total);
            (elapsed, laps)
        },
        move |gate| {
            let mut laps = L::default();
            gate.open();
            laps.start();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let mut block = empty_rx.recv().unwrap();
                laps.waited();
                block.fill_from(&rest[..want]);
                full_tx.send(block).unwrap();
                laps.worked();
                offset += want as u64;
            }
            // Dropping `full_tx` disconnects: the reader's loop ends.
            laps
        },
    );
    BulkLaps {
        elapsed,
        reader,
        writer,
    }
}
/// Times the transfer of `total` bytes of `pattern` through a blocking stream with backend
/// `B`: the timed thread lends one reused 64 KiB [`AlignedBlock`] and checks every chunk in
/// place with [`ByteCheck`]; the partner `write_slice`s from the pattern into it.
pub fn bulk_u8_stream<B: Backend>(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_native::<B>(pattern, total, false)
}

/// The native rows of `stream_bulk_u8`: as [`bulk_u8_stream`], but the timed thread reads
/// with a [`ReadAhead`] of two page-aligned 64 KiB buffers, so it checks each chunk while the
/// writer `write_slice`s the next one into the other buffer.
pub fn bulk_u8_read_ahead<B: Backend>(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_native::<B>(pattern, total, true)
}

/// [`bulk_u8_stream`], or with `read_ahead` [`bulk_u8_read_ahead`].
fn bulk_u8_native<B: Backend>(pattern: &BytePattern, total: u64, read_ahead: bool) -> Duration {
    bulk_u8_native_laps::<B, ()>(pattern, total, read_ahead).elapsed
}

/// The native rows with the time of each side split by `L` (see [`BulkLaps`]): the reader
/// waits for a chunk and works on checking it; the writer waits for a loan and works on
/// copying into it and committing (what `write_slice` does, in two steps).
pub(crate) fn bulk_u8_native_laps<B: Backend, L: Laps>(
    pattern: &BytePattern,
    total: u64,
    read_ahead: bool,
) -> BulkLaps<L> {
    let (mut writer, mut reader) = stream_with::<u8, B>();
    let ((elapsed, reader), writer) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut laps = L::default();
            if read_ahead {
                let mut reader = ReadAhead::new(reader, BLOCK);
                let start = gate.open();
                laps.start();
                drain_read_ahead(&mut reader, |chunk| {
                    laps.waited();
                    check.check(chunk);
                    laps.worked();
                });
                let elapsed = start.elapsed();
                check.finish(total);
                return (elapsed, laps);
            }
            let mut buf = AlignedBlock::new();
            let start = gate.open();
            laps.start();
            loop {
                match reader.read_uninit(buf.as_uninit_mut()) {
                    Ok(n) => {
                        laps.waited();
                        // SAFETY: `read` initialised the first `n` bytes of the block.
                        unsafe { buf.set_len(n) };
                        check.check(buf.as_bytes());
                        laps.worked();
                    }
                    Err(ReadError::Closed) => break,
                    Err(e) => panic!("read failed: {e:?}"),
                }
            }
            let elapsed = start.elapsed();
            check.finish(total);
            (elapsed, laps)
        },
        move |gate| {
            let mut laps = L::default();
            gate.open();
            laps.start();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let loan = writer.loan().unwrap();
                laps.waited();
                offset += loan.copy_from_slice(&rest[..want]) as u64;
                laps.worked();
            }
            // Dropping `writer` closes the stream: the reader's next read is `Closed`.
            laps
        },
    );
    BulkLaps {
        elapsed,
        reader,
        writer,
    }
}
