//! The bounded spin that the parking backends run before they park, sized by how recent
//! spins ended ([`SpinHistory`]).

use core::cell::Cell;
use std::time::{Duration, Instant};

/// The longest spin of a parking backend before it parks.
///
/// Waking a parked thread costs about 20 µs on the machines we measure on; spinning for about
/// as long as a park costs is the classic two-competitive choice: a partner that answers within
/// the budget is caught without a syscall, and a partner that does not costs at most twice the
/// optimal wait. A spin only pays while the partner is running, though: [`SpinHistory`]
/// shortens the spin after spins that saw nothing.
pub const SPIN_BUDGET: Duration = Duration::from_micros(16);

/// Spins until `cond` holds (returns `true`), [`SPIN_BUDGET`] is spent or `deadline` passes
/// (returns `false`). Never yields or sleeps.
///
/// The fixed-budget spin, public so that code waiting by other means (an event loop, a
/// benchmark of another waker) can use it; the backends size theirs with [`SpinHistory`].
#[inline]
pub fn spin_until(cond: &mut impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
    if cond() {
        return true;
    }
    // Under loom a spin is only more interleavings for the same outcomes: the parking path
    // re-checks the condition anyway.
    if cfg!(stream_loom) {
        return false;
    }
    spin_slow(cond, SPIN_BUDGET, Instant::now(), deadline)
}

/// Levels of [`SpinHistory`]: level `l >= 1` spins up to `SPIN_BUDGET >> (MAX_LEVEL - l)`
/// (0.5, 1, 2, 4, 8, 16 µs); level 0 spins only every [`PROBE_EVERY`]th wait, at level 1's
/// budget.
const MAX_LEVEL: u8 = 6;

/// At level 0, one wait in this many still spins (at the shortest budget), so that a partner
/// that runs again is noticed.
const PROBE_EVERY: u8 = 32;

/// How recent waits of one waiter ended, which sizes its next spin.
///
/// A spin pays only while the partner is running: on a busy machine (the partner waits for a
/// CPU) or on a one-thread executor (the partner task runs only once this poll returns), a
/// spin only delays the partner. So a spin that saw its condition come true sets the longest
/// budget ([`SPIN_BUDGET`]), and each spin that saw nothing halves the next one, down to
/// 0.5 µs and then to no spin at all. What brings the budget back differs:
///
/// * Async waits ([`spin`](Self::spin), one history per registration): one short probe every
///   32 waits at level 0. A wait that registered cannot tell whether spinning would have
///   paid: on a one-thread executor the partner answers soon after the poll returns, but
///   only because it returned.
/// * Blocking waits (one history per thread): a wait that parked
///   measures how long it took in all. If it ended within twice [`SPIN_BUDGET`], a longer
///   spin would probably have caught it, and the next budget doubles; if it took longer, the
///   next budget halves. On a busy machine, where the partner waits for a CPU for
///   milliseconds, waits stop spinning; once it runs again and answers within microseconds,
///   they spin again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpinHistory {
    level: u8,
    /// Waits at level 0 since the last probe.
    skipped: u8,
}

impl Default for SpinHistory {
    fn default() -> Self {
        Self {
            level: MAX_LEVEL,
            skipped: 0,
        }
    }
}

impl SpinHistory {
    /// Spins until `cond` holds (returns `true`), this history's budget is spent or
    /// `deadline` passes (returns `false`), and records how the spin ended. Checks `cond` once
    /// first, without spinning, whatever the history says; never yields or sleeps.
    #[inline]
    pub fn spin(&mut self, cond: &mut impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        if cond() {
            return true;
        }
        if cfg!(stream_loom) {
            return false;
        }
        self.spin_slow(cond, deadline)
    }

    #[cold]
    fn spin_slow(&mut self, cond: &mut impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        let level = if self.level == 0 {
            self.skipped += 1;
            if self.skipped < PROBE_EVERY {
                return false;
            }
            self.skipped = 0;
            1
        } else {
            self.level
        };
        if spin_slow(cond, self.budget_at(level), Instant::now(), deadline) {
            self.level = MAX_LEVEL;
            true
        } else {
            self.level = self.level.saturating_sub(1);
            false
        }
    }

    /// The budget of the next async spin (zero when it will not spin: at level 0 between
    /// probes).
    pub fn budget(&self) -> Duration {
        match self.level {
            0 if self.skipped + 1 < PROBE_EVERY => Duration::ZERO,
            0 => self.budget_at(1),
            l => self.budget_at(l),
        }
    }

    /// The budget of level `level >= 1`.
    fn budget_at(&self, level: u8) -> Duration {
        SPIN_BUDGET / (1 << (MAX_LEVEL - level))
    }
}

thread_local! {
    /// The spin history of the blocking waits of this thread.
    static THREAD_HISTORY: Cell<SpinHistory> = const {
        Cell::new(SpinHistory { level: MAX_LEVEL, skipped: 0 })
    };
}

/// The blocking wait of the parking backends: checks `cond`, spins for as long as the calling
/// thread's [`SpinHistory`] says, then calls `park(cond, deadline)` (which must return as
/// [`Backend::wait`](crate::Backend::wait) does), and records how the wait ended.
#[inline]
pub(crate) fn spin_adaptive_then<C: FnMut() -> bool>(
    mut cond: C,
    deadline: Option<Instant>,
    park: impl FnOnce(C, Option<Instant>) -> bool,
) -> bool {
    if cond() {
        return true;
    }
    // Under loom a spin is only more interleavings for the same outcomes: the parking path
    // re-checks the condition anyway.
    if cfg!(stream_loom) {
        return park(cond, deadline);
    }
    spin_then_park_slow(cond, deadline, park)
}

#[cold]
fn spin_then_park_slow<C: FnMut() -> bool>(
    mut cond: C,
    deadline: Option<Instant>,
    park: impl FnOnce(C, Option<Instant>) -> bool,
) -> bool {
    // A thread being torn down has no history left: it waits as a fresh one does.
    let mut history = THREAD_HISTORY.try_with(Cell::get).unwrap_or_default();
    let start = Instant::now();
    let done = if history.level > 0
        && spin_slow(&mut cond, history.budget_at(history.level), start, deadline)
    {
        history.level = MAX_LEVEL;
        true
    } else {
        let done = park(cond, deadline);
        history.level = if start.elapsed() <= 2 * SPIN_BUDGET {
            (history.level + 1).min(MAX_LEVEL)
        } else {
            history.level.saturating_sub(1)
        };
        done
    };
    let _ = THREAD_HISTORY.try_with(|cell| cell.set(history));
    done
}

#[cold]
fn spin_slow(
    cond: &mut impl FnMut() -> bool,
    budget: Duration,
    start: Instant,
    deadline: Option<Instant>,
) -> bool {
    if deadline.is_some_and(|d| d <= start) {
        return false;
    }
    let end = match deadline {
        Some(d) if d < start + budget => d,
        _ => start + budget,
    };
    // Check often: every check skipped is latency added to the partner's answer. The pause
    // between checks grows to 8 `spin_loop` hints (about 0.2 µs) and stays there.
    let mut step = 0u32;
    loop {
        for _ in 0..1u32 << step.min(3) {
            core::hint::spin_loop();
        }
        if cond() {
            return true;
        }
        step += 1;
        if step % 16 == 0 && Instant::now() >= end {
            return false;
        }
    }
}

#[cfg(all(test, not(stream_loom)))]
mod tests {
    use super::*;

    /// Runs one async wait whose condition never holds; returns how often it was checked.
    fn checks_of_a_missed_wait(history: &mut SpinHistory) -> u32 {
        let mut calls = 0u32;
        assert!(!history.spin(
            &mut || {
                calls += 1;
                false
            },
            None
        ));
        calls
    }

    /// Misses halve the budget down to level 0, where only one wait in 32 spins; a spin
    /// that sees its condition restores the longest budget.
    #[test]
    fn history_shortens_after_misses_and_restores_on_a_hit() {
        let mut history = SpinHistory::default();
        assert_eq!(history.budget(), SPIN_BUDGET);
        let mut expected = SPIN_BUDGET;
        for _ in 0..MAX_LEVEL {
            assert_eq!(history.budget(), expected);
            let calls = checks_of_a_missed_wait(&mut history);
            assert!(calls > 1, "a spin checks more than once");
            expected /= 2;
        }
        // Level 0: 31 waits check once and do not spin, the 32nd probes.
        for _ in 1..PROBE_EVERY {
            assert_eq!(history.budget(), Duration::ZERO);
            let calls = checks_of_a_missed_wait(&mut history);
            assert_eq!(calls, 1);
        }
        assert_eq!(history.budget(), SPIN_BUDGET / 32);
        // The probe sees the condition come true on its third check: back to the longest
        // budget.
        let mut calls = 0u32;
        assert!(history.spin(
            &mut || {
                calls += 1;
                calls == 3
            },
            None
        ));
        assert_eq!(history.budget(), SPIN_BUDGET);
    }

    /// A condition that holds at once is not a spin and changes nothing.
    #[test]
    fn a_first_check_that_holds_leaves_the_history() {
        let mut history = SpinHistory::default();
        assert!(!history.spin(&mut || false, None));
        let before = history;
        assert!(history.spin(&mut || true, None));
        assert_eq!(history, before);
    }

    /// A blocking wait that parks and ends long after the budget shortens the thread's next
    /// spin, down to none; one that ends soon after it parked doubles it, and a spin that
    /// catches its partner restores the longest budget. Per thread: another thread's spins
    /// stay at full length.
    #[test]
    fn blocking_history_learns_from_parked_waits() {
        let level = || THREAD_HISTORY.with(Cell::get).level;
        for expected in (0..MAX_LEVEL).rev() {
            let slow_park = |_, _| {
                std::thread::sleep(3 * SPIN_BUDGET);
                true
            };
            assert!(spin_adaptive_then(|| false, None, slow_park));
            assert_eq!(level(), expected);
        }
        // Level 0: no spin (the condition is checked once before parking).
        let mut checks = 0;
        let mut cond = || {
            checks += 1;
            false
        };
        assert!(spin_adaptive_then(&mut cond, None, |_, _| true));
        assert_eq!(checks, 1);
        // That park ended at once: a spin of the shortest budget next.
        assert_eq!(level(), 1);
        // A spin that sees its condition come true: the longest budget.
        let mut checks = 0;
        let cond = || {
            checks += 1;
            checks == 3
        };
        assert!(spin_adaptive_then(cond, None, |_, _| unreachable!(
            "parked"
        )));
        assert_eq!(level(), MAX_LEVEL);
        std::thread::spawn(move || {
            assert_eq!(THREAD_HISTORY.with(Cell::get), SpinHistory::default());
        })
        .join()
        .unwrap();
    }
}
