//! The bounded spin that the parking backends run before they park.

use std::time::{Duration, Instant};

/// How long a parking backend spins before it parks.
///
/// Waking a parked thread costs about 20 µs on the machines we measure on; spinning for about
/// as long as a park costs is the classic two-competitive choice: a partner that answers within
/// the budget is caught without a syscall, and a partner that does not costs at most twice the
/// optimal wait.
pub const SPIN_BUDGET: Duration = Duration::from_micros(16);

/// Spins until `cond` holds (returns `true`), [`SPIN_BUDGET`] is spent or `deadline` passes
/// (returns `false`). Never yields or sleeps.
///
/// This is the spin phase every parking backend runs before it parks (and the `Listener`
/// backend before an async registration), public so that code waiting by other means (an
/// event loop, a benchmark of another waker) can use the same policy.
///
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
    spin_slow(cond, deadline)
}

#[cold]
fn spin_slow(cond: &mut impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
    let start = Instant::now();
    if deadline.is_some_and(|d| d <= start) {
        return false;
    }
    let end = match deadline {
        Some(d) if d < start + SPIN_BUDGET => d,
        _ => start + SPIN_BUDGET,
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
