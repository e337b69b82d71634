//! The yields of a wait whose partner shares its CPU ([`ThreadWaits`](super::ThreadWaits) says
//! when a wait yields): `sched_yield` and a check, timed, so that the caller learns whether a
//! yield ran another thread and whether it gave a busy thread a time slice.
//!
//! May touch: nothing but the clock and `std::thread::yield_now`.

use std::time::{Duration, Instant};

use super::SPIN_BUDGET;

/// How the yields of [`yield_until`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Yielded {
    /// The condition holds; `handed`: a yield ran another thread (took over [`HANDED`]).
    Answered { handed: bool },
    /// A yield ran another thread for a time slice: it ended at `at` and took `took` (over
    /// [`SLICE`]); `answered`: the condition held after it.
    Sliced {
        answered: bool,
        at: Instant,
        took: Duration,
    },
    /// No answer within [`SPIN_BUDGET`] or by the deadline.
    Unanswered,
}

/// How many times the time slice a yield gave a busy thread the waits park at once before they
/// yield again: the probe for the busy thread's leaving then costs a ninth of the time.
///
/// Eight, not fifty (2026-12-07): while the waits park at once, the reader of a stream whose
/// writer shares its CPU parks at every hand-off, and the CPU it leaves is where the kernel puts
/// a busy thread, so the probe at the pause's end finds one again. With 50 that state
/// lasted whole runs (`write_slice` beside busy loads at 6.9-7.5 GiB/s, one park a 64 KiB block,
/// against crossbeam's 9.5-10.6); with 8 the yields came back and kept the pair's CPU
/// occupied (12.1-12.8 GiB/s), the round trips beside busy loads unchanged (3.1-3.2 µs), and
/// both partners pinned to one CPU with a busy thread paid 13-19 µs a round trip where 50 paid
/// 13-16 (docs/bench.md, "the threads packed on one CPU").
pub(super) const YIELD_PAUSE: u32 = 8;

/// The longest slice a pause is sized by (a thread descheduled for longer was stopped, not
/// out-scheduled by a busy thread).
pub(super) const YIELD_PROBE_MAX: Duration = Duration::from_millis(20);

/// A yield that took longer than this ran another thread (a `sched_yield` that finds nothing
/// else to run returns in well under a microsecond).
const HANDED: Duration = Duration::from_micros(2);

/// A yield that took longer than this ran another thread for a time slice, not a partner that
/// answered and waits in turn. Busy threads' slices last 0.75 ms and more (4.2 ms measured on
/// a 2-vCPU guest); a virtual CPU's short stops took yields on an idle pinned CPU to 53-201 µs
/// (docs/shared-cpu.md), which a 50 µs threshold took for slices.
const SLICE: Duration = Duration::from_micros(500);

/// The wait of a thread whose partner shares its CPU: yields until `cond` holds, for at most
/// [`SPIN_BUDGET`], until `deadline`, or until a yield ran another thread for a time slice.
pub(super) fn yield_until(
    cond: &mut impl FnMut() -> bool,
    start: Instant,
    deadline: Option<Instant>,
) -> Yielded {
    let mut handed = false;
    let mut last = start;
    loop {
        std::thread::yield_now();
        let now = Instant::now();
        let took = now - last;
        if took > SLICE {
            return Yielded::Sliced {
                answered: cond(),
                at: now,
                took,
            };
        }
        handed |= took > HANDED;
        if cond() {
            return Yielded::Answered { handed };
        }
        if now - start > SPIN_BUDGET || deadline.is_some_and(|d| now >= d) {
            return Yielded::Unanswered;
        }
        last = now;
    }
}
