//! Native streams per backend, beside crossbeam-channel, `std::sync::mpsc`, rtrb and floors.
//!
//! * `stream_round_trip`: one iteration is one element there and back: the timed thread
//!   sends `i` over the first stream (or channel), the partner answers `i + 1` over the
//!   second, and the timed thread asserts it. Rows: every [`RoundTripRow`](benches::RoundTripRow)
//!   of [`ROUND_TRIP_ROWS`] (`spin`, `futex`, `listener` (native streams), then crossbeam,
//!   kanal, flume and `std::sync::mpsc` channels of capacity 1 and 0), `rtrb` (capacity-1
//!   rings, both sides spin) and `raw_spin` (one spun-on `AtomicU64`, the floor).
//! * `stream_bulk_u8`: one iteration moves `NATIVE_STREAM_BENCH_BYTES` bytes (default 64 MiB)
//!   of [`BytePattern`]. The reader is the timed thread and checks every chunk with
//!   [`ByteCheck`] in place. Rows: `spin`, `futex`, `listener` (the reader is a [`ReadAhead`]
//!   with two 64 KiB buffers: it lends one while it checks the other; the writer
//!   `write_slice`s from the pattern into the lent one); `futex_one_buffer` (the reader lends
//!   one reused 64 KiB buffer, with [`Reader::read`](stream_core::Reader::read): the writer
//!   waits while the reader checks); `crossbeam_recycled_copy` (two 64 KiB heap buffers
//!   circulate: full ones over one `bounded(2)` channel, empty ones back over another; the
//!   writer fills one from the pattern while the reader copies the other into its own 64 KiB
//!   buffer, where a stream would have delivered it, and checks it there: two copies per
//!   byte, the peer of the target); `crossbeam_recycled` (the same, but the reader
//!   checks the circulating buffer in place: one copy per byte, the same work as a stream);
//!   `rtrb` (a 64 KiB ring, `write_chunk_uninit` + `read_chunk` of whatever is free or
//!   ready, checked in place, both sides spin); `memcpy` (one thread copies each 64 KiB block
//!   into a buffer and checks it: the floor). All buffers sit at the same page offset as
//!   their source ([`AlignedBlock`] says why).
//! * `stream_bulk_u64`: one iteration moves `NATIVE_STREAM_BENCH_ELEMS` `u64`s (default 16 Mi)
//!   of the sequence `0, 1, 2, …`, checked by [`U64Check`]. Rows: `spin`, `futex`, `listener`
//!   (1024-element lent buffers filled through `loan()` + `as_uninit_mut()` + `commit`; the
//!   reader is a [`ReadAhead`] with two of them), `futex_one_buffer` (the reader reads into
//!   one reused 1024-element buffer),
//!   `rtrb` (single `push`/`pop` through a 1024-slot ring, spinning) and `crossbeam_bounded1024`
//!   (single `send`/`recv`).
//! * `stream_write_slice`: one iteration moves `NATIVE_STREAM_BENCH_BYTES` bytes of
//!   [`BytePattern`], checked by [`ByteCheck`]. Rows: `write_slice_aligned` and
//!   `write_slice_vec` (a stream of the default backend; the writer offers each 64 KiB block to
//!   `write_slice`, from the pattern's page-aligned blocks or from a `Vec` whose data starts 16
//!   bytes into a page; the reader is a [`ReadAhead`] of 64 KiB chunks), `crossbeam_bounded4`
//!   and `sync_channel4` (four 64 KiB blocks recycled over two channels of capacity 4, checked
//!   in place): [`WRITE_SLICE_ROWS`](benches::WRITE_SLICE_ROWS).
//!
//! Run: `cargo bench -p benches --bench stream`; see the `benches` crate docs for the
//! environment variables.

use std::time::Duration;

use benches::{
    env_amount, ping_pong, pop_spin, push_spin, two_threads, BytePattern, RawSpin, BULK_U64_ROWS,
    BULK_U8_ROWS, DEFAULT_BULK_BYTES, DEFAULT_BULK_ELEMS, ROUND_TRIP_ROWS, WRITE_SLICE_ROWS,
};
use criterion::{Criterion, SamplingMode, Throughput};
use rtrb::RingBuffer;

// ---------------------------------------------------------------------------------------------
// stream_round_trip

fn round_trip_rtrb(iters: u64) -> Duration {
    let (mut ping_p, mut ping_c) = RingBuffer::<u64>::new(1);
    let (mut pong_p, mut pong_c) = RingBuffer::<u64>::new(1);
    let (elapsed, answered) = two_threads(
        move |gate| {
            let start = gate.open();
            for i in 0..iters {
                assert!(push_spin(&mut ping_p, i));
                assert_eq!(pop_spin(&mut pong_c), Some(i + 1));
            }
            start.elapsed()
        },
        move |gate| {
            gate.open();
            let mut answered = 0u64;
            while let Some(v) = pop_spin(&mut ping_c) {
                assert!(push_spin(&mut pong_p, v + 1));
                answered += 1;
            }
            answered
        },
    );
    assert_eq!(answered, iters);
    elapsed
}

fn stream_round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_round_trip");
    for &row in ROUND_TRIP_ROWS {
        group.bench_function(row.name(), |b| b.iter_custom(|iters| row.time(iters)));
    }
    group.bench_function("rtrb", |b| b.iter_custom(round_trip_rtrb));
    group.bench_function("raw_spin", |b| b.iter_custom(ping_pong::<RawSpin>));
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// stream_bulk_u8

fn stream_bulk_u8(c: &mut Criterion) {
    bulk_u8_group(c, "stream_bulk_u8", BULK_U8_ROWS);
}

/// A group of byte rows, each moving `NATIVE_STREAM_BENCH_BYTES` per iteration.
fn bulk_u8_group(c: &mut Criterion, name: &str, rows: &[benches::BulkU8Row]) {
    let bytes = env_amount("NATIVE_STREAM_BENCH_BYTES", DEFAULT_BULK_BYTES);
    let pattern = BytePattern::new();
    let pattern = &pattern;
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes));
    // An iteration takes milliseconds to seconds: keep the iteration count per sample flat.
    group.sampling_mode(SamplingMode::Flat);
    for &row in rows {
        group.bench_function(row.name(), |b| {
            b.iter_custom(|iters| row.time(pattern, iters * bytes))
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// stream_bulk_u64

fn stream_bulk_u64(c: &mut Criterion) {
    let elems = env_amount("NATIVE_STREAM_BENCH_ELEMS", DEFAULT_BULK_ELEMS);
    let mut group = c.benchmark_group("stream_bulk_u64");
    group.throughput(Throughput::Elements(elems));
    // An iteration takes milliseconds to seconds: keep the iteration count per sample flat.
    group.sampling_mode(SamplingMode::Flat);
    for &row in BULK_U64_ROWS {
        group.bench_function(row.name(), |b| {
            b.iter_custom(|iters| row.time(iters * elems))
        });
    }
    group.finish();
}

// `criterion_group!` makes an undocumented `pub fn`, which the workspace lints reject; this is
// what it and `criterion_main!` expand to.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    stream_round_trip(&mut criterion);
    stream_bulk_u8(&mut criterion);
    stream_bulk_u64(&mut criterion);
    bulk_u8_group(&mut criterion, "stream_write_slice", WRITE_SLICE_ROWS);
    criterion.final_summary();
}
