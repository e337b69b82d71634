//! The rows of `async_round_trip` and `async_round_trip_tokio_rt`: [`AsyncRoundTripRow`] is
//! the one definition of each async channel the groups compare (an async native stream each
//! way, async-channel and tokio's mpsc of capacity 1), [`Executor`] how each thread runs its
//! side. Used by the criterion `async` bench and the interleaved example alike.
//!
//! May touch: the executors, streams and channels it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::future::Future;
use std::time::Duration;

use stream_async::{AsyncReader, AsyncWriter};

use crate::two_threads;

/// A row of the async round-trip groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncRoundTripRow {
    /// An [`AsyncWriter`]/[`AsyncReader`] pair each way, reader buffer of one element.
    Native,
    /// `async_channel::bounded(1)` each way.
    AsyncChannelBounded1,
    /// `tokio::sync::mpsc::channel(1)` each way.
    TokioMpsc1,
}

/// Every row of the async round-trip groups, the native one first.
pub const ASYNC_ROUND_TRIP_ROWS: &[AsyncRoundTripRow] = &[
    AsyncRoundTripRow::Native,
    AsyncRoundTripRow::AsyncChannelBounded1,
    AsyncRoundTripRow::TokioMpsc1,
];

impl AsyncRoundTripRow {
    /// The row's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            AsyncRoundTripRow::Native => "native",
            AsyncRoundTripRow::AsyncChannelBounded1 => "async_channel_bounded1",
            AsyncRoundTripRow::TokioMpsc1 => "tokio_mpsc1",
        }
    }

    /// Times `iters` round trips between two threads, each running its side as one future
    /// on `executor`: the timed thread sends `i` and awaits `i + 1`; the partner answers.
    pub fn time(self, iters: u64, executor: Executor) -> Duration {
        match self {
            AsyncRoundTripRow::Native => round_trip::<Native>(iters, executor),
            AsyncRoundTripRow::AsyncChannelBounded1 => round_trip::<AsyncChannel1>(iters, executor),
            AsyncRoundTripRow::TokioMpsc1 => round_trip::<TokioMpsc1>(iters, executor),
        }
    }
}

/// How each thread of an async round trip runs its future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executor {
    /// `futures_lite::future::block_on`.
    BlockOn,
    /// A tokio current-thread runtime per thread (the setting of the peers' published
    /// figures).
    TokioCurrentThread,
}

impl Executor {
    /// The group of the rows run on this executor.
    pub fn group(self) -> &'static str {
        match self {
            Executor::BlockOn => "async_round_trip",
            Executor::TokioCurrentThread => "async_round_trip_tokio_rt",
        }
    }

    fn run<F: Future>(self, f: F) -> F::Output {
        match self {
            Executor::BlockOn => futures_lite::future::block_on(f),
            Executor::TokioCurrentThread => tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime")
                .block_on(f),
        }
    }
}

/// A one-way async channel of `u64`: what every round-trip row runs.
trait AsyncChannel {
    type Tx: Send + 'static;
    type Rx: Send + 'static;

    fn channel() -> (Self::Tx, Self::Rx);
    fn send(tx: &mut Self::Tx, v: u64) -> impl Future<Output = ()>;
    /// `None` once the sender is gone.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>>;
}

struct Native;

impl AsyncChannel for Native {
    type Tx = AsyncWriter<u64>;
    type Rx = AsyncReader<u64>;

    fn channel() -> (Self::Tx, Self::Rx) {
        stream_async::stream::<u64>(1)
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).await.unwrap();
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

struct AsyncChannel1;

impl AsyncChannel for AsyncChannel1 {
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;

    fn channel() -> (Self::Tx, Self::Rx) {
        async_channel::bounded(1)
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).await.unwrap();
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

struct TokioMpsc1;

impl AsyncChannel for TokioMpsc1 {
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;

    fn channel() -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(1)
    }
    async fn send(tx: &mut Self::Tx, v: u64) {
        tx.send(v).await.unwrap();
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

fn round_trip<C: AsyncChannel>(iters: u64, executor: Executor) -> Duration {
    let (mut ping_tx, mut ping_rx) = C::channel();
    let (mut pong_tx, mut pong_rx) = C::channel();
    let (elapsed, answered) = two_threads(
        move |gate| {
            executor.run(async move {
                let start = gate.open();
                for i in 0..iters {
                    C::send(&mut ping_tx, i).await;
                    assert_eq!(C::recv(&mut pong_rx).await, Some(i + 1));
                }
                let elapsed = start.elapsed();
                // Dropping the ping sender ends the partner's loop.
                drop(ping_tx);
                elapsed
            })
        },
        move |gate| {
            executor.run(async move {
                gate.open();
                let mut answered = 0u64;
                while let Some(v) = C::recv(&mut ping_rx).await {
                    C::send(&mut pong_tx, v + 1).await;
                    answered += 1;
                }
                answered
            })
        },
    );
    assert_eq!(answered, iters);
    elapsed
}
