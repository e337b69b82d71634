//! One-element futures per backend, beside the `oneshot` crate, tokio's and futures' oneshot
//! channels, and a floor.
//!
//! Every row of a group runs the same code ([`benches::FutureRow`]): create a pair, send one
//! value, receive it with a blocking receive (`FutureReader::read`, `oneshot::Receiver::recv`,
//! tokio's `blocking_recv`, `futures::executor::block_on` of futures' receiver). The rows:
//! `spin`, `futex`, `listener` ([`stream_future::future_with`] with that backend), `oneshot`,
//! `tokio_oneshot`, `futures_oneshot`, and a floor per group.
//!
//! * `create_send_recv`: one thread; an iteration creates a pair, sends `i` and receives it,
//!   asserting `i`. Floor `box`: `Box::new(i)` and moving the value back out (the allocation
//!   every row makes).
//! * `pipelined`: the value is there before the receiver looks. The partner thread creates a
//!   pair, sends `i` and pushes the receiver into a pre-allocated 64-slot rtrb ring; the timed
//!   thread pops each receiver, receives from it and asserts `i`. An iteration is one item;
//!   both sides spin on the ring (only), so the row measures creation, sending, receiving an
//!   arrived value and freeing on the other thread. Every row does the same work on each side
//!   (the partner allocates and sends, the timed thread receives and frees), and the timed
//!   loop runs at the pace of the slower side. The free on the other thread is part of what
//!   is measured: with glibc, a block freed away from the thread that allocated it goes to
//!   that thread's arena, lock-free for small blocks (up to 120 bytes) and under the arena
//!   lock, which the allocating thread takes too, for larger ones. Floor `queue_only`: the
//!   `u64`s themselves through the same ring. Floors `box_40b` and `box_112b`
//!   ([`benches::pipelined_box`]): boxes of the size of `oneshot`'s block and of ours through
//!   the same ring, which price the allocation alone: a future's 64-byte, 64-byte-aligned
//!   header needs a 112-byte block from `malloc`, `oneshot`'s channel 40 bytes at most.
//! * `reader_waiting`: the receiver is already blocked in its receive when the value arrives.
//!   An iteration is one round trip that wakes a waiting receiver twice. Before the gate the
//!   partner holds the receiver of a first request; each round, the timed thread creates the
//!   next request pair and a reply pair, sends `(i, next request receiver, reply sender)`
//!   over the current request and blocks receiving the reply; the partner, blocked receiving
//!   the request, wakes, sends `i + 1` over the reply (the timed thread asserts it) and blocks
//!   on the next request at once. Each side sends only after waking up, so the other side is
//!   always already waiting (spinning first, if its backend spins, or parked). Dropping the
//!   last request sender ends the partner, which must have answered every round. Floor
//!   `raw_futex` (Linux): a round trip of [`benches::RawFutex`], which parks at once and
//!   allocates nothing.
//!
//! Run: `cargo bench -p benches --bench future`.

use benches::{create_send_recv_box, pipelined_box, pipelined_queue_only, FUTURE_ROWS};
#[cfg(target_os = "linux")]
use benches::{ping_pong, RawFutex};
use criterion::{BenchmarkId, Criterion};

fn future(c: &mut Criterion) {
    let mut group = c.benchmark_group("future");
    for &row in FUTURE_ROWS {
        group.bench_function(BenchmarkId::new("create_send_recv", row.name()), |b| {
            b.iter_custom(|iters| row.create_send_recv(iters))
        });
    }
    group.bench_function(BenchmarkId::new("create_send_recv", "box"), |b| {
        b.iter_custom(create_send_recv_box)
    });
    for &row in FUTURE_ROWS {
        group.bench_function(BenchmarkId::new("pipelined", row.name()), |b| {
            b.iter_custom(|iters| row.pipelined(iters))
        });
    }
    group.bench_function(BenchmarkId::new("pipelined", "queue_only"), |b| {
        b.iter_custom(pipelined_queue_only)
    });
    group.bench_function(BenchmarkId::new("pipelined", "box_40b"), |b| {
        b.iter_custom(pipelined_box::<5>)
    });
    group.bench_function(BenchmarkId::new("pipelined", "box_112b"), |b| {
        b.iter_custom(pipelined_box::<14>)
    });
    for &row in FUTURE_ROWS {
        group.bench_function(BenchmarkId::new("reader_waiting", row.name()), |b| {
            b.iter_custom(|iters| row.reader_waiting(iters))
        });
    }
    #[cfg(target_os = "linux")]
    group.bench_function(BenchmarkId::new("reader_waiting", "raw_futex"), |b| {
        b.iter_custom(ping_pong::<RawFutex>)
    });
    group.finish();
}

// `criterion_group!` makes an undocumented `pub fn`, which the workspace lints reject; this is
// what it and `criterion_main!` expand to.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    future(&mut criterion);
    criterion.final_summary();
}
