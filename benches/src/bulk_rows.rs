//! The rows of the bulk groups (`stream_bulk_u8`, `stream_write_slice`, `stream_bulk_u64`) as
//! values: each [`BulkU8Row`] and [`BulkU64Row`] is defined once, with its name, and timed by
//! its `time` in every mode (the criterion `stream` bench, the interleaved example in every
//! profile). Also the rows that only the criterion bench had: the rtrb byte ring, the
//! `memcpy` floor and crossbeam's `bounded(1024)` of `u64`s.
//!
//! May touch: the rings, channels and streams the rows make, and the partner thread of
//! [`two_threads`].

use std::time::{Duration, Instant};

use rtrb::RingBuffer;
use stream_events::{Futex, Listener, Spin};

use crate::{
    bulk_u64_native, bulk_u64_one_by_one, bulk_u64_rtrb, bulk_u8_crossbeam, bulk_u8_crossbeam_copy,
    bulk_u8_read_ahead, bulk_u8_stream, copy_to_uninit, two_threads, AlignedBlock, ByteCheck,
    BytePattern, NativeBackend, BLOCK, PAGE, U64_BATCH,
};

/// A row of the byte groups: what carries 64 KiB blocks of a [`BytePattern`] from the partner
/// to the timed thread, which checks every byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkU8Row {
    /// A native stream read through a [`ReadAhead`](stream_core::ReadAhead) of two buffers
    /// ([`bulk_u8_read_ahead`]): `spin`, `futex`, `listener`.
    ReadAhead(NativeBackend),
    /// A native stream reading into one reused buffer ([`bulk_u8_stream`]): `futex_one_buffer`.
    OneBuffer(NativeBackend),
    /// A native stream whose writer batches this many blocks a hand-off
    /// ([`bulk_u8_batched`](crate::bulk_u8_batched)): `futex_batched4`.
    #[cfg(all(feature = "current-api", target_os = "linux"))]
    Batched(NativeBackend, usize),
    /// Two blocks recycled over crossbeam `bounded(2)`, copied out by the reader
    /// ([`bulk_u8_crossbeam_copy`]): `crossbeam_recycled_copy`.
    CrossbeamRecycledCopy,
    /// The same, checked in place ([`bulk_u8_crossbeam`]): `crossbeam_recycled`.
    CrossbeamRecycled,
    /// Four blocks recycled over a channel of capacity 4
    /// ([`bulk_u8_recycled`](crate::bulk_u8_recycled)): `crossbeam_bounded4`,
    /// `sync_channel4`.
    Recycled(crate::BlockChannel),
    /// A native stream of the default backend, the writer `write_slice`ing 64 KiB from a
    /// source, the reader a [`ReadAhead`](stream_core::ReadAhead) of 64 KiB chunks
    /// ([`bulk_u8_write_slice`](crate::bulk_u8_write_slice)): `write_slice_aligned`,
    /// `write_slice_vec`.
    WriteSlice(crate::WriteSource),
    /// A 64 KiB rtrb ring, both sides spinning ([`bulk_u8_rtrb`]): `rtrb`.
    Rtrb,
    /// One thread copying and checking ([`bulk_u8_memcpy`]): `memcpy`, the floor.
    Memcpy,
}

/// The rows of `stream_bulk_u8` in the criterion bench, in table order.
pub const BULK_U8_ROWS: &[BulkU8Row] = &[
    BulkU8Row::ReadAhead(NativeBackend::Spin),
    BulkU8Row::ReadAhead(NativeBackend::Futex),
    BulkU8Row::ReadAhead(NativeBackend::Listener),
    BulkU8Row::OneBuffer(NativeBackend::Futex),
    BulkU8Row::CrossbeamRecycledCopy,
    BulkU8Row::CrossbeamRecycled,
    BulkU8Row::Rtrb,
    BulkU8Row::Memcpy,
];

/// The rows of `stream_write_slice`, in table order: `write_slice` into a `ReadAhead` from
/// a page-aligned source and from a user's unaligned `Vec`, beside four recycled blocks over
/// crossbeam `bounded(4)` and std `sync_channel(4)`.
pub const WRITE_SLICE_ROWS: &[BulkU8Row] = &[
    BulkU8Row::WriteSlice(crate::WriteSource::Aligned),
    BulkU8Row::WriteSlice(crate::WriteSource::UnalignedVec),
    BulkU8Row::Recycled(crate::BlockChannel::Crossbeam),
    BulkU8Row::Recycled(crate::BlockChannel::Std),
];

impl BulkU8Row {
    /// The row's name in every table.
    pub fn name(self) -> &'static str {
        match self {
            BulkU8Row::ReadAhead(backend) => backend.name(),
            BulkU8Row::OneBuffer(NativeBackend::Spin) => "spin_one_buffer",
            BulkU8Row::OneBuffer(NativeBackend::Futex) => "futex_one_buffer",
            BulkU8Row::OneBuffer(NativeBackend::Listener) => "listener_one_buffer",
            #[cfg(all(feature = "current-api", target_os = "linux"))]
            BulkU8Row::Batched(NativeBackend::Futex, 4) => "futex_batched4",
            #[cfg(all(feature = "current-api", target_os = "linux"))]
            BulkU8Row::Batched(..) => "batched_other",
            BulkU8Row::CrossbeamRecycledCopy => "crossbeam_recycled_copy",
            BulkU8Row::CrossbeamRecycled => "crossbeam_recycled",
            BulkU8Row::Recycled(crate::BlockChannel::Crossbeam) => "crossbeam_bounded4",
            BulkU8Row::Recycled(crate::BlockChannel::Std) => "sync_channel4",
            BulkU8Row::WriteSlice(crate::WriteSource::Aligned) => "write_slice_aligned",
            BulkU8Row::WriteSlice(crate::WriteSource::UnalignedVec) => "write_slice_vec",
            BulkU8Row::Rtrb => "rtrb",
            BulkU8Row::Memcpy => "memcpy",
        }
    }

    /// Times the transfer of `total` bytes of `pattern` (the rtrb row makes its own, at its
    /// ring's page offset).
    pub fn time(self, pattern: &BytePattern, total: u64) -> Duration {
        match self {
            BulkU8Row::ReadAhead(NativeBackend::Spin) => bulk_u8_read_ahead::<Spin>(pattern, total),
            BulkU8Row::ReadAhead(NativeBackend::Futex) => {
                bulk_u8_read_ahead::<Futex>(pattern, total)
            }
            BulkU8Row::ReadAhead(NativeBackend::Listener) => {
                bulk_u8_read_ahead::<Listener>(pattern, total)
            }
            BulkU8Row::OneBuffer(NativeBackend::Spin) => bulk_u8_stream::<Spin>(pattern, total),
            BulkU8Row::OneBuffer(NativeBackend::Futex) => bulk_u8_stream::<Futex>(pattern, total),
            BulkU8Row::OneBuffer(NativeBackend::Listener) => {
                bulk_u8_stream::<Listener>(pattern, total)
            }
            #[cfg(all(feature = "current-api", target_os = "linux"))]
            BulkU8Row::Batched(backend, blocks) => {
                use crate::bulk_u8_batched;
                match backend {
                    NativeBackend::Spin => bulk_u8_batched::<Spin>(pattern, total, blocks),
                    NativeBackend::Futex => bulk_u8_batched::<Futex>(pattern, total, blocks),
                    NativeBackend::Listener => bulk_u8_batched::<Listener>(pattern, total, blocks),
                }
            }
            BulkU8Row::CrossbeamRecycledCopy => bulk_u8_crossbeam_copy(pattern, total),
            BulkU8Row::CrossbeamRecycled => bulk_u8_crossbeam(pattern, total),
            BulkU8Row::Recycled(channel) => crate::bulk_u8_recycled(pattern, total, channel),
            BulkU8Row::WriteSlice(source) => crate::bulk_u8_write_slice(pattern, total, source),
            BulkU8Row::Rtrb => bulk_u8_rtrb(total),
            BulkU8Row::Memcpy => bulk_u8_memcpy(pattern, total),
        }
    }
}

/// Times the transfer of `total` bytes of the pattern through a 64 KiB rtrb ring:
/// `write_chunk_uninit` + `read_chunk` of whatever is free or ready, checked in place, both
/// sides spinning. The pattern is made with the ring's page offset ([`AlignedBlock`] says why).
pub fn bulk_u8_rtrb(total: u64) -> Duration {
    let (mut producer, mut consumer) = RingBuffer::<u8>::new(BLOCK);
    // The ring's write position is always `offset % BLOCK`, the position in the pattern's
    // block: give the pattern the ring's page offset so that every copy is at the same
    // relative placement as in the other rows (see `AlignedBlock`).
    let ring_start = producer
        .write_chunk_uninit(BLOCK)
        .unwrap()
        .as_mut_slices()
        .0
        .as_ptr() as usize;
    let pattern = &BytePattern::with_page_offset(ring_start % PAGE);
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let start = gate.open();
            loop {
                let ready = consumer.slots();
                if ready == 0 {
                    if consumer.is_abandoned() && consumer.is_empty() {
                        break;
                    }
                    core::hint::spin_loop();
                    continue;
                }
                let chunk = consumer.read_chunk(ready).unwrap();
                let (first, second) = chunk.as_slices();
                check.check(first);
                check.check(second);
                chunk.commit_all();
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            let mut offset = 0u64;
            while offset < total {
                let free = producer.slots();
                if free == 0 {
                    assert!(!producer.is_abandoned(), "reader gone");
                    core::hint::spin_loop();
                    continue;
                }
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize).min(free);
                let mut chunk = producer.write_chunk_uninit(want).unwrap();
                let (first, second) = chunk.as_mut_slices();
                let split = first.len();
                copy_to_uninit(first, &rest[..split]);
                copy_to_uninit(second, &rest[split..want]);
                // SAFETY: both slices of the chunk (`want` slots in all) were initialised just
                // above.
                unsafe { chunk.commit_all() };
                offset += want as u64;
            }
            // Dropping `producer` abandons the ring: the reader stops once it is empty.
        },
    );
    elapsed
}

/// The floor of `stream_bulk_u8`: one thread copies each 64 KiB block of `pattern` into a
/// buffer and checks it there; no second thread, no stream.
pub fn bulk_u8_memcpy(pattern: &BytePattern, total: u64) -> Duration {
    let mut dst = AlignedBlock::new();
    let mut check = ByteCheck::new(pattern);
    let start = Instant::now();
    let mut offset = 0u64;
    while offset < total {
        let rest = pattern.rest_of_block(offset);
        let want = rest.len().min((total - offset) as usize);
        dst.fill_from(&rest[..want]);
        check.check(std::hint::black_box(&dst).as_bytes());
        offset += want as u64;
    }
    let elapsed = start.elapsed();
    check.finish(total);
    elapsed
}

/// A row of `stream_bulk_u64`: what carries `u64`s `0, 1, 2, …` from the partner to the
/// timed thread, which checks every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkU64Row {
    /// A native stream of 1024-element lent buffers, read through a `ReadAhead` of two:
    /// `spin`, `futex`, `listener` ([`bulk_u64_native`] with `read_ahead`).
    ReadAhead(NativeBackend),
    /// The same, read into one reused buffer: `futex_one_buffer`.
    OneBuffer(NativeBackend),
    /// rtrb's single `push`/`pop` through a 1024-slot ring, spinning: `rtrb`.
    Rtrb,
    /// crossbeam's `bounded(1024)`, single `send`/`recv`: `crossbeam_bounded1024`.
    Crossbeam1024,
}

/// The rows of `stream_bulk_u64` in the criterion bench, in table order.
pub const BULK_U64_ROWS: &[BulkU64Row] = &[
    BulkU64Row::ReadAhead(NativeBackend::Spin),
    BulkU64Row::ReadAhead(NativeBackend::Futex),
    BulkU64Row::ReadAhead(NativeBackend::Listener),
    BulkU64Row::OneBuffer(NativeBackend::Futex),
    BulkU64Row::Rtrb,
    BulkU64Row::Crossbeam1024,
];

impl BulkU64Row {
    /// The row's name in every table.
    pub fn name(self) -> &'static str {
        match self {
            BulkU64Row::ReadAhead(backend) => backend.name(),
            BulkU64Row::OneBuffer(NativeBackend::Spin) => "spin_one_buffer",
            BulkU64Row::OneBuffer(NativeBackend::Futex) => "futex_one_buffer",
            BulkU64Row::OneBuffer(NativeBackend::Listener) => "listener_one_buffer",
            BulkU64Row::Rtrb => "rtrb",
            BulkU64Row::Crossbeam1024 => "crossbeam_bounded1024",
        }
    }

    /// Times the transfer of `total` elements.
    pub fn time(self, total: u64) -> Duration {
        let native = |backend, read_ahead| match backend {
            NativeBackend::Spin => bulk_u64_native::<Spin>(total, read_ahead),
            NativeBackend::Futex => bulk_u64_native::<Futex>(total, read_ahead),
            NativeBackend::Listener => bulk_u64_native::<Listener>(total, read_ahead),
        };
        match self {
            BulkU64Row::ReadAhead(backend) => native(backend, true),
            BulkU64Row::OneBuffer(backend) => native(backend, false),
            BulkU64Row::Rtrb => bulk_u64_rtrb(total),
            BulkU64Row::Crossbeam1024 => {
                let (tx, rx) = crossbeam_channel::bounded::<u64>(U64_BATCH);
                bulk_u64_one_by_one(total, move |v| tx.send(v).unwrap(), move || rx.recv().ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bulk_row_moves_and_checks_its_bytes() {
        let pattern = BytePattern::new();
        let names: Vec<_> = BULK_U8_ROWS.iter().map(|r| r.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "{name} twice");
        }
        for row in BULK_U8_ROWS.iter().chain(WRITE_SLICE_ROWS) {
            row.time(&pattern, 3 * BLOCK as u64 + 100);
        }
        // Past the pattern's period, so that the `Vec` source wraps.
        for row in WRITE_SLICE_ROWS {
            row.time(&pattern, 9 * BLOCK as u64 + 4000);
        }
    }

    #[test]
    fn every_u64_row_moves_and_checks_its_elements() {
        for row in BULK_U64_ROWS {
            row.time(3 * U64_BATCH as u64 + 7);
        }
    }
}
