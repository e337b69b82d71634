//! The spin backend: no parking at all.

use std::time::Instant;

use crossbeam_utils::Backoff;

use crate::sync::yield_now;
use crate::Backend;

/// How many times the spin backend checks its condition before it falls back to [`Backoff`]:
/// 1, then 2 `spin_loop` hints apart, 255 hints in all (5-15 µs, depending on the CPU's
/// pause).
const TIGHT_CHECKS: u32 = 1 << 7;

/// Waits by spinning with crossbeam-utils [`Backoff`], after a short tight phase: a few rounds of growing busy-waits,
/// then `yield_now` between checks, forever. It never parks, so it never burns a core
/// indefinitely while the partner is descheduled (it yields to it), but it never sleeps either.
///
/// `activate` does nothing: the waiter watches the condition itself. The event word holds
/// nothing (it stays 0).
///
/// The spin backend cannot wake a [`Waker`](core::task::Waker), so it does not implement
/// [`AsyncBackend`](crate::AsyncBackend).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spin;

impl Backend for Spin {
    type Word = usize;
    const NAME: &'static str = "spin";

    #[inline]
    fn new_word() -> usize {
        0
    }

    #[inline]
    fn activate(_word: &usize) {}

    #[inline]
    fn wait(_word: &usize, mut cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        // A tight first phase answers a partner that is running now within a few
        // nanoseconds (Backoff's growing pauses would add up to a microsecond per wake-up);
        // then Backoff's spin-and-yield, bounded per step, for as long as it takes. The
        // checks of the tight phase are 2 hints apart: each check pulls the state's cache
        // line away from the partner that is about to change it, and checking after every
        // hint tripled the round trip of a stream (1.2 µs against 0.33 µs,
        // `stream_round_trip/spin`); spacing them out further, to 4 and 8 hints, cost the
        // round trips more than it saved (interleaved A/B, 2026-11-27: events 1.24-1.51x
        // `raw_spin` at 2 hints against 1.73-2.18x at 8, streams 130-155 ns against
        // 157-175 ns).
        if !cfg!(stream_loom) && deadline.is_none() {
            for i in 0..TIGHT_CHECKS {
                if cond() {
                    return true;
                }
                for _ in 0..1u32 << i.min(1) {
                    core::hint::spin_loop();
                }
            }
        }
        let backoff = Backoff::new();
        loop {
            if cond() {
                return true;
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return cond();
                }
            }
            if cfg!(stream_loom) || backoff.is_completed() {
                yield_now();
            } else {
                backoff.snooze();
            }
        }
    }
}
