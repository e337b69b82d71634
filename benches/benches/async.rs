//! Native streams from async code (`stream-async`), beside async-channel and tokio's mpsc.
//!
//! * `async_round_trip`: one iteration is one element there and back between two threads,
//!   each running its side as one future on its own executor: the timed thread sends `i` over
//!   the first stream (or channel) and awaits `i + 1` from the second; the partner answers.
//!   Rows ([`benches::AsyncRoundTripRow`]): `native` (a [`stream_async::AsyncWriter`] and
//!   [`stream_async::AsyncReader`] pair each way, reader buffer of one element), `async_channel_bounded1`, `tokio_mpsc1`, all under
//!   `futures_lite::future::block_on`. `async_round_trip_tokio_rt`: the same three rows under
//!   a tokio current-thread runtime per thread (the setting of the peers' published figures).
//! * `async_wake`, `async_wake_parked`: the wake-up mechanism alone. A counter goes back and
//!   forth between two threads, each on its own `block_on`; a waiting side polls until the
//!   counter holds its value. Rows: `listener` (the [`Event<Listener>`] streams use: spin,
//!   then an event-listener entry) and `waker_slot` (one dedicated `AtomicWaker` per
//!   direction, spinning first on every wait). In `async_wake_parked` each side works 40 µs
//!   before it answers, past the spin phase, so that every wait parks: the rows differ by the
//!   cost of registering, parking and waking (a round trip includes 80 µs of work).
//! * `async_bulk_u8`: one iteration moves `NATIVE_STREAM_BENCH_BYTES` bytes (default 64 MiB)
//!   of [`BytePattern`], checked by [`ByteCheck`]. The writer `AsyncWriteExt::write_all`s each
//!   pattern block; the reader's stream buffer is 64 KiB (page-aligned, as every bulk buffer
//!   here); each side runs on its own `block_on`. Rows: `async_io` (the reader's
//!   `AsyncReadExt::read` into a page-aligned 64 KiB block, checked there: a second copy),
//!   `async_bufread` (`AsyncBufReadExt::fill_buf`, checked in the stream buffer, then
//!   `consume`) and `blocking` (the same transfer with the blocking listener-backend stream:
//!   the reader lends its 64 KiB block, the writer `write_slice`s into it).
//!
//! Run: `cargo bench -p benches --bench async`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use benches::{
    bulk_async, bulk_u8_stream, env_amount, two_threads, BytePattern, Executor, ReadMode,
    ASYNC_ROUND_TRIP_ROWS, DEFAULT_BULK_BYTES,
};
use criterion::{Criterion, SamplingMode, Throughput};
use futures::task::AtomicWaker;
use stream_events::{spin_until, AsyncBackend, Event, Listener};

fn async_round_trip(c: &mut Criterion) {
    for executor in [Executor::BlockOn, Executor::TokioCurrentThread] {
        let mut group = c.benchmark_group(executor.group());
        for &row in ASYNC_ROUND_TRIP_ROWS {
            group.bench_function(row.name(), |b| {
                b.iter_custom(|iters| row.time(iters, executor))
            });
        }
        group.finish();
    }
}
// ---------------------------------------------------------------------------------------------
// async_wake, async_wake_parked: the wake-up mechanism alone

/// An async wake-up mechanism: what a stream's event does for a pending poll.
trait Waiter: Default + Sync {
    /// What a pending poll keeps between polls.
    type Registration: Default;

    /// Wakes the registered task, if any.
    fn wake(&self);

    /// `Ready` once `cond` holds; otherwise registers the task and returns `Pending`.
    fn poll_wait(
        &self,
        registration: &mut Self::Registration,
        cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()>;
}

/// The shipped mechanism: an [`Event<Listener>`] (spin first, then an event-listener entry).
#[derive(Default)]
struct ListenerWaiter(Event<Listener>);

impl Waiter for ListenerWaiter {
    type Registration = <Listener as AsyncBackend>::Registration;

    fn wake(&self) {
        self.0.activate();
    }

    fn poll_wait(
        &self,
        registration: &mut Self::Registration,
        cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        self.0.poll_until(registration, cond, cx)
    }
}

/// The alternative: one dedicated waker slot (`AtomicWaker`), with the same spin first.
#[derive(Default)]
struct SlotWaiter(AtomicWaker);

impl Waiter for SlotWaiter {
    /// Whether this wait has registered (spun) already.
    type Registration = bool;

    fn wake(&self) {
        self.0.wake();
    }

    fn poll_wait(
        &self,
        registered: &mut bool,
        mut cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if !*registered && spin_until(&mut cond, None) {
            return Poll::Ready(());
        }
        *registered = true;
        self.0.register(cx.waker());
        if cond() {
            *registered = false;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Waits until `counter` is `value`.
async fn wait_for<W: Waiter>(waiter: &W, counter: &AtomicU32, value: u32) {
    let mut registration = W::Registration::default();
    futures_lite::future::poll_fn(|cx| {
        waiter.poll_wait(
            &mut registration,
            // ORDERING: Acquire pairs with the other side's Release store of the value.
            || counter.load(Ordering::Acquire) == value,
            cx,
        )
    })
    .await;
}

/// Times `iters` round trips of a counter between two threads, each on its own `block_on`;
/// each side works (spins) for `delay` before it answers, to force the other past its spin
/// phase.
fn wake_round_trips<W: Waiter>(iters: u64, delay: Duration) -> Duration {
    let counter = AtomicU32::new(0);
    let (to_partner, to_main) = (W::default(), W::default());
    let iters = u32::try_from(iters).expect("fewer than 2^31 iterations");
    let (elapsed, ()) = two_threads(
        |gate| {
            futures_lite::future::block_on(async {
                let start = gate.open();
                for i in 0..iters {
                    spin_for(delay);
                    // ORDERING: Release publishes the value to the partner's Acquire load.
                    counter.store(2 * i + 1, Ordering::Release);
                    to_partner.wake();
                    wait_for(&to_main, &counter, 2 * i + 2).await;
                }
                start.elapsed()
            })
        },
        |gate| {
            futures_lite::future::block_on(async {
                gate.open();
                for i in 0..iters {
                    wait_for(&to_partner, &counter, 2 * i + 1).await;
                    spin_for(delay);
                    // ORDERING: Release publishes the value to the main side's Acquire load.
                    counter.store(2 * i + 2, Ordering::Release);
                    to_main.wake();
                }
            })
        },
    );
    elapsed
}

/// Busy for `delay` (nothing when it is zero).
fn spin_for(delay: Duration) {
    if delay.is_zero() {
        return;
    }
    let until = Instant::now() + delay;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// How long each side of `async_wake_parked` works before it answers: past the spin phase.
const PARKED_DELAY: Duration = Duration::from_micros(40);

fn async_wake(c: &mut Criterion) {
    for (group, delay) in [
        ("async_wake", Duration::ZERO),
        ("async_wake_parked", PARKED_DELAY),
    ] {
        let mut group = c.benchmark_group(group);
        group.bench_function("listener", |b| {
            b.iter_custom(|iters| wake_round_trips::<ListenerWaiter>(iters, delay))
        });
        group.bench_function("waker_slot", |b| {
            b.iter_custom(|iters| wake_round_trips::<SlotWaiter>(iters, delay))
        });
        group.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// async_bulk_u8

fn async_bulk_u8(c: &mut Criterion) {
    let bytes = env_amount("NATIVE_STREAM_BENCH_BYTES", DEFAULT_BULK_BYTES);
    let pattern = BytePattern::new();
    let pattern = &pattern;
    let mut group = c.benchmark_group("async_bulk_u8");
    group.throughput(Throughput::Bytes(bytes));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("async_io", |b| {
        b.iter_custom(|iters| bulk_async(pattern, iters * bytes, ReadMode::CopyOut))
    });
    group.bench_function("async_bufread", |b| {
        b.iter_custom(|iters| bulk_async(pattern, iters * bytes, ReadMode::InPlace))
    });
    group.bench_function("blocking", |b| {
        b.iter_custom(|iters| bulk_u8_stream::<Listener>(pattern, iters * bytes))
    });
    group.finish();
}

// `criterion_group!` makes an undocumented `pub fn`, which the workspace lints reject; this is
// what it and `criterion_main!` expand to.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    async_round_trip(&mut criterion);
    async_wake(&mut criterion);
    async_bulk_u8(&mut criterion);
    criterion.final_summary();
}
