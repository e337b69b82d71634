//! The rows of the `future` groups (`create_send_recv`, `pipelined`, `reader_waiting`):
//! [`FutureRow`] is the one definition of each one-shot channel a group compares (the native
//! futures per backend, `oneshot`, tokio's and futures' oneshot channels), run by the
//! criterion `future` bench and the interleaved example alike; the floors of the groups are
//! functions here too. `benches/benches/future.rs` says what each pattern measures.
//!
//! May touch: the futures and channels it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::hint::black_box;
use std::time::{Duration, Instant};

use stream_events::{Backend, Futex, Listener, Spin};
use stream_future::{future_with, FutureReader, FutureWriter};

use crate::{pipelined_ring, two_threads};

/// A row of the `future` groups: one kind of one-shot channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutureRow {
    /// [`stream_future`] futures with the `Spin` backend.
    Spin,
    /// [`stream_future`] futures with the `Futex` backend.
    Futex,
    /// [`stream_future`] futures with the `Listener` backend.
    Listener,
    /// The `oneshot` crate (0.2), received with `recv`.
    Oneshot,
    /// `tokio::sync::oneshot`, received with `blocking_recv`.
    TokioOneshot,
    /// `futures::channel::oneshot`, received with `futures::executor::block_on`.
    FuturesOneshot,
}

/// Every row of the `future` groups, natives first.
pub const FUTURE_ROWS: &[FutureRow] = &[
    FutureRow::Spin,
    FutureRow::Futex,
    FutureRow::Listener,
    FutureRow::Oneshot,
    FutureRow::TokioOneshot,
    FutureRow::FuturesOneshot,
];

/// Dispatches `$pattern::<O>($iters)` to the [`Oneshot`] of row `$row`.
macro_rules! by_row {
    ($row:expr, $pattern:ident, $iters:expr) => {
        match $row {
            FutureRow::Spin => $pattern::<Native<Spin>>($iters),
            FutureRow::Futex => $pattern::<Native<Futex>>($iters),
            FutureRow::Listener => $pattern::<Native<Listener>>($iters),
            FutureRow::Oneshot => $pattern::<OneshotCrate>($iters),
            FutureRow::TokioOneshot => $pattern::<Tokio>($iters),
            FutureRow::FuturesOneshot => $pattern::<Futures>($iters),
        }
    };
}

impl FutureRow {
    /// The row's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FutureRow::Spin => "spin",
            FutureRow::Futex => "futex",
            FutureRow::Listener => "listener",
            FutureRow::Oneshot => "oneshot",
            FutureRow::TokioOneshot => "tokio_oneshot",
            FutureRow::FuturesOneshot => "futures_oneshot",
        }
    }

    /// Whether the row is one of ours.
    pub fn is_native(self) -> bool {
        matches!(
            self,
            FutureRow::Spin | FutureRow::Futex | FutureRow::Listener
        )
    }

    /// `future/create_send_recv`: `iters` pairs created, written and read on this thread.
    pub fn create_send_recv(self, iters: u64) -> Duration {
        by_row!(self, create_send_recv, iters)
    }

    /// `future/pipelined`: `iters` values there before their receivers look.
    pub fn pipelined(self, iters: u64) -> Duration {
        by_row!(self, pipelined, iters)
    }

    /// `future/reader_waiting`: `iters` round trips, each waking a waiting receiver twice.
    pub fn reader_waiting(self, iters: u64) -> Duration {
        by_row!(self, reader_waiting, iters)
    }
}

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

fn create_send_recv<O: Oneshot>(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = O::channel::<u64>();
        O::send(tx, black_box(i));
        assert_eq!(O::recv(black_box(rx)), Some(i));
    }
    start.elapsed()
}

/// The floor of `future/create_send_recv` (`box`): `Box::new(i)` and the value moved back
/// out, the allocation every row makes.
pub fn create_send_recv_box(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let boxed = black_box(Box::new(black_box(i)));
        assert_eq!(*boxed, i);
    }
    start.elapsed()
}

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

/// A floor of `future/pipelined` (`queue_only`): the `u64`s themselves through the same ring.
pub fn pipelined_queue_only(iters: u64) -> Duration {
    pipelined_ring(iters, |i| i, |i| i)
}

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
