//! The rows of `events_round_trip` (and the futex floor of `future/reader_waiting`): a counter
//! handed back and forth by a [`Signal`] in [`ping_pong`], over a raw spin, a raw futex or two
//! events of a backend.
//!
//! May touch: atomics it owns, the futex syscall on them (Linux), the events it owns, and the
//! partner thread of [`two_threads`](crate::two_threads).

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stream_events::{Backend, Event};

use crate::two_threads;

/// Which way a [`Signal`] goes: `Ping` from the timed thread to the partner, `Pong` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Timed thread → partner.
    Ping,
    /// Partner → timed thread.
    Pong,
}

/// A counter that two threads hand back and forth, ping-ponged by [`ping_pong`].
pub trait Signal: Sync {
    /// A signal with the counter at 0.
    fn new() -> Self;

    /// Sets the counter to `value` and wakes the thread waiting on side `to`.
    fn publish(&self, to: Side, value: u32);

    /// Blocks on side `at` until the counter is `value`.
    fn wait_for(&self, at: Side, value: u32);

    /// The counter now.
    fn current(&self) -> u32;
}

/// Times `iters` round trips of a [`Signal`]: the timed thread publishes `2i + 1` and waits
/// for `2i + 2`; the partner waits for `2i + 1` and publishes `2i + 2`. A wait only ends on
/// the exact value, and the counter must end at `2 * iters`.
///
/// # Panics
///
/// When `iters` is 2³¹ or more (the counter is 32 bits, for the futex), or the counter ends
/// elsewhere.
pub fn ping_pong<S: Signal>(iters: u64) -> Duration {
    assert!(iters < 1 << 31, "too many iterations for a 32-bit counter");
    let iters = iters as u32;
    let signal = S::new();
    let (elapsed, ()) = two_threads(
        |gate| {
            let start = gate.open();
            for i in 0..iters {
                signal.publish(Side::Ping, 2 * i + 1);
                signal.wait_for(Side::Pong, 2 * i + 2);
            }
            start.elapsed()
        },
        |gate| {
            gate.open();
            for i in 0..iters {
                signal.wait_for(Side::Ping, 2 * i + 1);
                signal.publish(Side::Pong, 2 * i + 2);
            }
        },
    );
    assert_eq!(signal.current(), 2 * iters);
    elapsed
}

/// Keeps both CPUs busy with a [`RawSpin`] ping-pong for `duration` (in runs of 200 round
/// trips), so that the row timed next starts with both threads' CPUs running.
///
/// Measured on a 2-vCPU guest (AMD EPYC, 2026-12-06): after a row whose threads park for tens
/// of microseconds at a time (flume or std channels at halt-poll 0), the first 1 000-2 000
/// spinning round trips take 13-24 µs each, where the steady state is 66-100 ns; it takes
/// 15-40 ms of spinning until the host runs both virtual CPUs again at once. A row timed
/// right after such a row pays that transition, and which row does depends only on the order
/// of the rows in a round.
pub fn settle_cpus(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        ping_pong::<RawSpin>(200);
    }
}

/// The spin floor: one `AtomicU64`, both sides spin on it with `spin_loop` and never yield.
#[derive(Debug, Default)]
pub struct RawSpin {
    word: AtomicU64,
}

impl Signal for RawSpin {
    fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn publish(&self, _to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`.
        self.word.store(u64::from(value), Ordering::Release);
    }

    #[inline]
    fn wait_for(&self, _at: Side, value: u32) {
        // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
        while self.word.load(Ordering::Acquire) != u64::from(value) {
            core::hint::spin_loop();
        }
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.word.load(Ordering::Relaxed) as u32
    }
}

/// The futex floor: one `AtomicU32`; a waiter parks at once with `FUTEX_WAIT` (no spinning),
/// and every publish makes a `FUTEX_WAKE` syscall (no waiter bookkeeping).
#[cfg(target_os = "linux")]
#[derive(Debug, Default)]
pub struct RawFutex {
    word: AtomicU32,
}

#[cfg(target_os = "linux")]
impl Signal for RawFutex {
    fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn publish(&self, _to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`.
        self.word.store(value, Ordering::Release);
        // SAFETY: FUTEX_WAKE only reads the address, which points to our live, aligned
        // `AtomicU32`; the extra arguments are ignored by FUTEX_WAKE.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    #[inline]
    fn wait_for(&self, _at: Side, value: u32) {
        loop {
            // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
            let seen = self.word.load(Ordering::Acquire);
            if seen == value {
                return;
            }
            // SAFETY: the address points to our live, aligned `AtomicU32`; a null timeout
            // waits without limit. The kernel re-checks `seen` atomically and returns EAGAIN if
            // the word changed; EINTR and spurious returns are handled by the loop.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.word.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    seen,
                    core::ptr::null::<libc::timespec>(),
                );
            }
        }
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.word.load(Ordering::Relaxed)
    }
}

/// Two [`Event`]s of backend `B` (`ping`, `pong`) and the counter they announce: the round
/// trip of the `events` benchmark.
pub struct EventSignal<B: Backend> {
    counter: AtomicU64,
    ping: Event<B>,
    pong: Event<B>,
}

impl<B: Backend> EventSignal<B> {
    fn event(&self, side: Side) -> &Event<B> {
        match side {
            Side::Ping => &self.ping,
            Side::Pong => &self.pong,
        }
    }
}

impl<B: Backend> Signal for EventSignal<B> {
    fn new() -> Self {
        Self {
            counter: AtomicU64::new(0),
            ping: Event::new(),
            pong: Event::new(),
        }
    }

    #[inline]
    fn publish(&self, to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`
        // condition; the activation after it is the event's own business.
        self.counter.store(u64::from(value), Ordering::Release);
        self.event(to).activate();
    }

    #[inline]
    fn wait_for(&self, at: Side, value: u32) {
        self.event(at).wait_until(|| {
            // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
            self.counter.load(Ordering::Acquire) == u64::from(value)
        });
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.counter.load(Ordering::Relaxed) as u32
    }
}

impl<B: Backend> fmt::Debug for EventSignal<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSignal")
            .field("backend", &B::NAME)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crossbeam_round_trips;

    #[test]
    fn ping_pongs_end_in_place() {
        ping_pong::<RawSpin>(1000);
        #[cfg(target_os = "linux")]
        ping_pong::<RawFutex>(1000);
        ping_pong::<EventSignal<stream_events::Futex>>(1000);
        assert!(crossbeam_round_trips(1000, 1) > Duration::ZERO);
    }
}
