//! One-element futures per backend, beside the `oneshot` crate, tokio's and futures' oneshot
//! channels, and a floor.
//!
//! Every row of a group runs the same code, generic over [`Oneshot`]: create a pair, send one
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

use std::hint::black_box;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use benches::{ping_pong, RawFutex};
use benches::{pipelined_box, pipelined_ring, two_threads};
use criterion::{BenchmarkId, Criterion};
use stream_events::{Backend, Futex, Listener, Spin};
use stream_future::{future_with, FutureReader, FutureWriter};

/// A one-shot channel: what every row of a group runs.
trait Oneshot {
    /// The sending end.
    type Tx<T: Send>: Send;
    /// The receiving end.
    type Rx<T: Send>: Send;

    /// Creates a pair.
    fn channel<T: Send>() -> (Self::Tx<T>, Self::Rx<T>);

    /// Sends `value` without blocking.
    ///
    /// # Panics
    ///
    /// When the receiver is gone.
    fn send<T: Send>(tx: Self::Tx<T>, value: T);

    /// Receives the value, blocking until it is there; `None` when the sender was dropped
    /// without sending.
    fn recv<T: Send>(rx: Self::Rx<T>) -> Option<T>;
}

/// [`stream_future`] futures with backend `B`.
struct Native<B>(B);

impl<B: Backend> Oneshot for Native<B> {
    type Tx<T: Send> = FutureWriter<T, B>;
    type Rx<T: Send> = FutureReader<T, B>;

    #[inline]
    fn channel<T: Send>() -> (Self::Tx<T>, Self::Rx<T>) {
        future_with::<T, B>()
    }

    #[inline]
    fn send<T: Send>(tx: Self::Tx<T>, value: T) {
        assert!(tx.write(value).is_ok(), "reader gone");
    }

    #[inline]
    fn recv<T: Send>(rx: Self::Rx<T>) -> Option<T> {
        rx.read().ok()
    }
}

/// The `oneshot` crate.
struct OneshotCrate;

impl Oneshot for OneshotCrate {
    type Tx<T: Send> = oneshot::Sender<T>;
    type Rx<T: Send> = oneshot::Receiver<T>;

    #[inline]
    fn channel<T: Send>() -> (Self::Tx<T>, Self::Rx<T>) {
        oneshot::channel()
    }

    #[inline]
    fn send<T: Send>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok(), "receiver gone");
    }

    #[inline]
    fn recv<T: Send>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
}

/// `tokio::sync::oneshot`, received with `blocking_recv`.
struct Tokio;

impl Oneshot for Tokio {
    type Tx<T: Send> = tokio::sync::oneshot::Sender<T>;
    type Rx<T: Send> = tokio::sync::oneshot::Receiver<T>;

    #[inline]
    fn channel<T: Send>() -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::oneshot::channel()
    }

    #[inline]
    fn send<T: Send>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok(), "receiver gone");
    }

    #[inline]
    fn recv<T: Send>(rx: Self::Rx<T>) -> Option<T> {
        rx.blocking_recv().ok()
    }
}

/// `futures::channel::oneshot`, received with `futures::executor::block_on`.
struct Futures;

impl Oneshot for Futures {
    type Tx<T: Send> = futures::channel::oneshot::Sender<T>;
    type Rx<T: Send> = futures::channel::oneshot::Receiver<T>;

    #[inline]
    fn channel<T: Send>() -> (Self::Tx<T>, Self::Rx<T>) {
        futures::channel::oneshot::channel()
    }

    #[inline]
    fn send<T: Send>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok(), "receiver gone");
    }

    #[inline]
    fn recv<T: Send>(rx: Self::Rx<T>) -> Option<T> {
        futures::executor::block_on(rx).ok()
    }
}

// ---------------------------------------------------------------------------------------------
// create_send_recv

fn create_send_recv<O: Oneshot>(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = O::channel::<u64>();
        O::send(tx, black_box(i));
        assert_eq!(O::recv(black_box(rx)), Some(i));
    }
    start.elapsed()
}

fn create_send_recv_box(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let boxed = black_box(Box::new(black_box(i)));
        assert_eq!(*boxed, i);
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------
// pipelined

fn pipelined<O: Oneshot>(iters: u64) -> Duration {
    pipelined_ring(
        iters,
        |i| {
            let (tx, rx) = O::channel::<u64>();
            O::send(tx, i);
            rx
        },
        |rx| O::recv(rx).expect("sender dropped without sending"),
    )
}

fn pipelined_queue_only(iters: u64) -> Duration {
    pipelined_ring(iters, |i| i, |i| i)
}

// ---------------------------------------------------------------------------------------------
// reader_waiting

/// One request of `reader_waiting`: the round, where the next request comes from and where
/// the reply goes.
struct Request<O: Oneshot> {
    round: u64,
    next: O::Rx<Request<O>>,
    reply: O::Tx<u64>,
}

fn reader_waiting<O: Oneshot>(iters: u64) -> Duration {
    let (first_tx, first_rx) = O::channel::<Request<O>>();
    let (elapsed, answered) = two_threads(
        move |gate| {
            let mut request_tx = first_tx;
            let start = gate.open();
            for i in 0..iters {
                let (next_tx, next_rx) = O::channel::<Request<O>>();
                let (reply_tx, reply_rx) = O::channel::<u64>();
                O::send(
                    request_tx,
                    Request {
                        round: i,
                        next: next_rx,
                        reply: reply_tx,
                    },
                );
                request_tx = next_tx;
                assert_eq!(O::recv(reply_rx), Some(i + 1));
            }
            let elapsed = start.elapsed();
            // Dropping the last request sender ends the partner's loop.
            drop(request_tx);
            elapsed
        },
        move |gate| {
            let mut request_rx = first_rx;
            gate.open();
            let mut answered = 0u64;
            while let Some(request) = O::recv(request_rx) {
                assert_eq!(request.round, answered);
                O::send(request.reply, request.round + 1);
                request_rx = request.next;
                answered += 1;
            }
            answered
        },
    );
    assert_eq!(answered, iters);
    elapsed
}

// ---------------------------------------------------------------------------------------------

/// Benches `$pattern::<O>` for every [`Oneshot`] as function `$name` of `$group`.
macro_rules! oneshot_rows {
    ($group:expr, $name:literal, $pattern:ident) => {
        oneshot_rows!(@row $group, $name, "spin", $pattern::<Native<Spin>>);
        oneshot_rows!(@row $group, $name, "futex", $pattern::<Native<Futex>>);
        oneshot_rows!(@row $group, $name, "listener", $pattern::<Native<Listener>>);
        oneshot_rows!(@row $group, $name, "oneshot", $pattern::<OneshotCrate>);
        oneshot_rows!(@row $group, $name, "tokio_oneshot", $pattern::<Tokio>);
        oneshot_rows!(@row $group, $name, "futures_oneshot", $pattern::<Futures>);
    };
    (@row $group:expr, $name:literal, $row:literal, $run:expr) => {
        $group.bench_function(BenchmarkId::new($name, $row), |b| b.iter_custom($run));
    };
}

fn future(c: &mut Criterion) {
    let mut group = c.benchmark_group("future");
    oneshot_rows!(group, "create_send_recv", create_send_recv);
    group.bench_function(BenchmarkId::new("create_send_recv", "box"), |b| {
        b.iter_custom(create_send_recv_box)
    });
    oneshot_rows!(group, "pipelined", pipelined);
    group.bench_function(BenchmarkId::new("pipelined", "queue_only"), |b| {
        b.iter_custom(pipelined_queue_only)
    });
    group.bench_function(BenchmarkId::new("pipelined", "box_40b"), |b| {
        b.iter_custom(pipelined_box::<5>)
    });
    group.bench_function(BenchmarkId::new("pipelined", "box_112b"), |b| {
        b.iter_custom(pipelined_box::<14>)
    });
    oneshot_rows!(group, "reader_waiting", reader_waiting);
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
