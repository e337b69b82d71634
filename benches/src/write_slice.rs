//! The rows of `stream_write_slice` (and the recycled-block peers): bytes of a
//! [`BytePattern`] in 64 KiB pieces, written with the plain [`Writer::write_slice`](stream_core::Writer::write_slice) a user would
//! call and read through a [`ReadAhead`] of 64 KiB chunks, or carried as four recycled 64 KiB
//! blocks over crossbeam `bounded(4)` and `std::sync::mpsc::sync_channel(4)`. The reader checks
//! every byte ([`ByteCheck`]).
//!
//! May touch: the blocks, vectors, channels and streams it makes, and the partner thread of
//! [`two_threads`].

use std::time::Duration;

use stream_core::{stream_with, ReadAhead};
use stream_events::Futex;

use crate::bulk_u64::drain_read_ahead;
use crate::{two_threads, AlignedBlock, ByteCheck, BytePattern, BLOCK, PAGE, PATTERN_BLOCKS};

/// Where the writer of [`bulk_u8_write_slice`] takes its bytes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteSource {
    /// The pattern's own page-aligned blocks: the copy into the reader's page-aligned ring is
    /// at relative page offset 0 (`write_slice_aligned`).
    Aligned,
    /// A user's `Vec<u8>` holding the pattern's blocks one after the other, its data 16 bytes
    /// past a page boundary, where glibc's `malloc` puts a large block (`write_slice_vec`):
    /// every copy into the ring is at relative page offset 16 ([`AlignedBlock`] says what that
    /// can cost).
    UnalignedVec,
}

/// The page offset of the [`WriteSource::UnalignedVec`] data.
const VEC_PAGE_OFFSET: usize = 16;

/// A `Vec` with the pattern's [`PATTERN_BLOCKS`] blocks in order, starting at
/// [`VEC_PAGE_OFFSET`] in a page: the bytes are `vec[start..]`.
fn unaligned_copy(pattern: &BytePattern) -> (Vec<u8>, usize) {
    let span = PATTERN_BLOCKS * BLOCK;
    let mut vec = Vec::with_capacity(span + PAGE);
    let start = (VEC_PAGE_OFFSET + PAGE - vec.as_ptr() as usize % PAGE) % PAGE;
    vec.resize(start, 0);
    for k in 0..PATTERN_BLOCKS {
        vec.extend_from_slice(pattern.rest_of_block((k * BLOCK) as u64));
    }
    assert_eq!((vec[start..].as_ptr() as usize) % PAGE, VEC_PAGE_OFFSET);
    (vec, start)
}

/// Times the transfer of `total` bytes of `pattern` through a stream of the default backend:
/// the partner offers each 64 KiB block (the rest of it after a short write) to
/// [`Writer::write_slice`], from `source`; the timed thread reads a [`ReadAhead`] of 64 KiB
/// chunks and checks every chunk in place.
pub fn bulk_u8_write_slice(pattern: &BytePattern, total: u64, source: WriteSource) -> Duration {
    // `Futex` is the default backend (`stream::<u8>()`); named, for older revisions.
    let (mut writer, reader) = stream_with::<u8, Futex>();
    let copy = match source {
        WriteSource::Aligned => None,
        WriteSource::UnalignedVec => Some(unaligned_copy(pattern)),
    };
    let copy = copy.as_ref();
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut reader = ReadAhead::new(reader, BLOCK);
            let start = gate.open();
            drain_read_ahead(&mut reader, |chunk| check.check(chunk));
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            let span = (PATTERN_BLOCKS * BLOCK) as u64;
            let mut offset = 0u64;
            while offset < total {
                let rest = match copy {
                    None => pattern.rest_of_block(offset),
                    Some((vec, start)) => {
                        // The rest of the 64 KiB block that holds `offset`, as in the pattern.
                        let at = (offset % span) as usize;
                        &vec[start + at..start + at - at % BLOCK + BLOCK]
                    }
                };
                let want = rest.len().min((total - offset) as usize);
                offset += writer.write_slice(&rest[..want]).unwrap() as u64;
            }
            // Dropping `writer` closes the stream: the reader's next chunk is `Closed`.
        },
    );
    elapsed
}

/// A channel of the recycled-block peers: crossbeam's `bounded` or std's `sync_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockChannel {
    /// `crossbeam_channel::bounded`.
    Crossbeam,
    /// `std::sync::mpsc::sync_channel`.
    Std,
}

/// Blocks in flight in [`bulk_u8_recycled`]: the capacity of its channels.
pub const RECYCLED_POOL: usize = 4;

/// Times the transfer of `total` bytes of `pattern` as [`RECYCLED_POOL`] recycled 64 KiB
/// blocks over two channels of that capacity (full blocks one way, empty ones back): the
/// partner fills a block from the pattern and sends it, the timed thread checks it in place and
/// sends it back.
pub fn bulk_u8_recycled(pattern: &BytePattern, total: u64, channel: BlockChannel) -> Duration {
    match channel {
        BlockChannel::Crossbeam => {
            let (full_tx, full_rx) = crossbeam_channel::bounded(RECYCLED_POOL);
            let (empty_tx, empty_rx) = crossbeam_channel::bounded(RECYCLED_POOL);
            recycled(
                pattern,
                total,
                move |b| full_tx.send(b).unwrap(),
                move || full_rx.recv().ok(),
                move |b| drop(empty_tx.send(b)),
                move || empty_rx.recv().unwrap(),
            )
        }
        BlockChannel::Std => {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel(RECYCLED_POOL);
            let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel(RECYCLED_POOL);
            recycled(
                pattern,
                total,
                move |b| full_tx.send(b).unwrap(),
                move || full_rx.recv().ok(),
                move |b| drop(empty_tx.send(b)),
                move || empty_rx.recv().unwrap(),
            )
        }
    }
}

/// [`bulk_u8_recycled`] over channels given as closures.
fn recycled(
    pattern: &BytePattern,
    total: u64,
    send_full: impl FnMut(AlignedBlock) + Send,
    mut recv_full: impl FnMut() -> Option<AlignedBlock>,
    mut send_empty: impl FnMut(AlignedBlock),
    mut recv_empty: impl FnMut() -> AlignedBlock + Send,
) -> Duration {
    for _ in 0..RECYCLED_POOL {
        send_empty(AlignedBlock::new());
    }
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let start = gate.open();
            while let Some(block) = recv_full() {
                check.check(block.as_bytes());
                send_empty(block);
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            let mut send_full = send_full;
            gate.open();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let mut block = recv_empty();
                block.fill_from(&rest[..want]);
                send_full(block);
                offset += want as u64;
            }
            // Dropping the full blocks' sender ends the reader's loop.
        },
    );
    elapsed
}
