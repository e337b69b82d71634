//! The bounded spin that the parking backends run before they park, sized by how recent
//! spins ended ([`SpinHistory`]).

use core::cell::Cell;
use std::time::{Duration, Instant};

mod async_spin;
mod placement;
mod yields;

pub(crate) use async_spin::AsyncSpin;

use placement::{current_cpu, note_wake_of, record_park, woken_from_here};
use yields::{yield_until, Yielded, YIELD_PAUSE, YIELD_PROBE_MAX};

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
        self.spin_at_least(cond, deadline, Duration::ZERO)
    }

    /// The spin of [`spin`](Self::spin) after its first check, for at least `at_least`
    /// whatever the history says.
    fn spin_at_least(
        &mut self,
        cond: &mut impl FnMut() -> bool,
        deadline: Option<Instant>,
        at_least: Duration,
    ) -> bool {
        let budget = if self.level > 0 {
            self.budget_at(self.level)
        } else if !at_least.is_zero() {
            Duration::ZERO
        } else {
            self.skipped += 1;
            if self.skipped < PROBE_EVERY {
                return false;
            }
            self.skipped = 0;
            self.budget_at(1)
        };
        if spin_slow(cond, budget.max(at_least), Instant::now(), deadline) {
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

/// The longest window of a post-wake spin: a partner that takes longer than this to answer a
/// wake-up is busy or has no CPU, and parking costs less than spinning for it.
///
/// The kernel's cpuidle haltpoll polls up to 200 µs before it halts a guest's CPU; a woken
/// thread on a guest whose idle CPUs halt at once runs again after about 7-15 µs
/// (docs/performance.md, 2026-12-06).
const WAKE_WINDOW_MAX: Duration = Duration::from_micros(100);

/// The shortest post-wake window: the longest history spin, about what a wake-up costs.
const WAKE_WINDOW_MIN: Duration = SPIN_BUDGET;

/// The post-wake window a thread starts with: twice the longest history spin.
const WAKE_WINDOW_START: Duration = Duration::from_micros(32);

/// What the blocking waits of one thread remember: how its recent spins ended, and how long a
/// partner it woke takes to answer.
///
/// A spin pays while the partner runs, and also while it is *being woken*: a thread that
/// made a wake-up (a futex wake, a listener notified) knows its partner will answer only
/// after the wake-up latency, which on a guest whose idle CPUs halt at once is 7-15 µs, on
/// top of the partner's own work. So after a wake-up the next wait spins at least for the
/// *wake window*, timed from its start, whatever the spin history says; the window
/// is learned from how long woken partners took to answer: the answer time and a half after a
/// spin that saw the answer (shrinking slowly), half the window after a spin that missed it
/// (the partner had no CPU, perhaps this thread's own, or was busy with other work), from
/// [`SPIN_BUDGET`] to [`WAKE_WINDOW_MAX`]. This is the state a
/// hand-off returns to: once one side parks, the other's wake-up and post-wake spin catch
/// its answer, the parked side's short park doubles its next spin, and both spin again.
///
/// Unless the partner shares this thread's CPU (the `placement` module): then it runs only
/// once this thread stops, and a spin only delays it. A parked wait woken from its own CPU
/// (`shared`) lowers the history by three levels, and the next wait *yields* instead of
/// spinning ([`yield_until`]): a partner queued behind this thread runs at once and answers, and
/// its activation finds nobody parked (no wake-up syscall). The wait after the wake-up of a
/// partner that parked on this thread's CPU after a shared park of its own yields too, without
/// the window. A wait leaves the yields for the spins when an answer comes while its yields ran
/// no other thread, twice in a row (the partner runs elsewhere), and for a park when they find
/// no answer within [`SPIN_BUDGET`]. A yield that ran another thread for a time slice means a
/// busy thread shares the CPU too: a yield gives it the CPU for its whole slice, where a parked
/// thread woken by its partner runs at once; so the next waits of a shared thread park at once,
/// for [`YIELD_PAUSE`] times as long as that slice was, before a yield probes again.
#[derive(Debug, Clone, Copy)]
struct ThreadWaits {
    history: SpinHistory,
    /// This thread woke a parked partner, and no wait has used that since.
    woke: bool,
    /// The CPU that partner parked on, if known and if the partner's previous park was shared.
    woke_cpu: Option<u32>,
    /// The last wait of this thread that ended parked was woken from its own CPU.
    shared: bool,
    /// Until when the waits park at once instead of yielding, after a yield ran a busy thread
    /// for a time slice ([`Yielded::Sliced`]).
    yield_off_until: Option<Instant>,
    /// Answers in a row that came while the yields ran no other thread.
    quick_answers: u8,
    /// How long after a wake-up the next wait spins at least.
    wake_window: Duration,
    /// How many wake-ups this thread has made (wrapping): an async wait that finds it changed
    /// between its registration and its end was answered by a partner on its own thread.
    wakes: u32,
}

impl ThreadWaits {
    const NEW: Self = Self {
        history: SpinHistory {
            level: MAX_LEVEL,
            skipped: 0,
        },
        woke: false,
        woke_cpu: None,
        shared: false,
        yield_off_until: None,
        quick_answers: 0,
        wake_window: WAKE_WINDOW_START,
        wakes: 0,
    };

    /// What a wait owes to a wake-up this thread made since its last wait, if any: the window
    /// (a spin, timed from the start of the wait), or nothing but a yield when the woken
    /// partner parked on `cpu` (this thread's CPU, asked only after a wake-up) after a shared
    /// park.
    fn take_wake(&mut self, cpu: impl FnOnce() -> Option<u32>) -> Option<Wake> {
        let partner = self.woke_cpu.take();
        if !core::mem::take(&mut self.woke) {
            return None;
        }
        if partner.is_some() && partner == cpu() {
            return Some(Wake::PartnerHere);
        }
        Some(Wake::Window(self.wake_window))
    }

    /// How a blocking wait that starts now begins. `cpu` says where this thread runs (asked
    /// only after a wake-up), `now` what time it is (asked only while a pause of the yields
    /// may run).
    fn begin_blocking(
        &mut self,
        cpu: impl FnOnce() -> Option<u32>,
        now: impl FnOnce() -> Instant,
    ) -> Begin {
        let budget = match self.history.level {
            0 => Duration::ZERO,
            l => self.history.budget_at(l),
        };
        let wake = self.take_wake(cpu);
        if self.shared || wake == Some(Wake::PartnerHere) {
            // The partner waits for this CPU: any spin only delays its answer.
            if let Some(until) = self.yield_off_until {
                if now() < until {
                    // A busy thread shares the CPU too (`Yielded::Sliced`): park, so that the
                    // partner's wake-up, not a time slice, decides when this thread runs.
                    return Begin::Spin {
                        budget: Duration::ZERO,
                        woke: false,
                    };
                }
                self.yield_off_until = None;
            }
            return Begin::Yield;
        }
        match wake {
            Some(Wake::Window(window)) => Begin::Spin {
                budget: budget.max(window),
                woke: true,
            },
            _ => Begin::Spin {
                budget,
                woke: false,
            },
        }
    }

    /// Records how a wait begun with [`Begin::Yield`] ended its yields.
    fn end_yielding(&mut self, yielded: Yielded) {
        match yielded {
            Yielded::Answered { handed: true } => self.quick_answers = 0,
            Yielded::Answered { handed: false } => {
                // The answer came while no other thread ran here: the partner may run on
                // another CPU. Two in a row (one could be a switch faster than `HANDED`):
                // spin again.
                self.quick_answers += 1;
                if self.quick_answers >= 2 {
                    self.quick_answers = 0;
                    self.shared = false;
                    self.history.level = MAX_LEVEL;
                }
            }
            Yielded::Sliced { at, took, .. } => {
                // A yield gave a busy thread its time slice: the waits park at once for
                // `YIELD_PAUSE` times that slice, so that the probes for the busy thread's
                // leaving cost a small part of the time.
                self.yield_off_until = Some(at + took.min(YIELD_PROBE_MAX) * YIELD_PAUSE);
            }
            Yielded::Unanswered => {}
        }
    }

    /// Records how a blocking wait begun with [`begin_blocking`](Self::begin_blocking)
    /// ended: whether its spin saw the condition, whether it parked and was woken from this
    /// thread's own CPU (`shared`), and how long it took in all.
    fn end_blocking(&mut self, woke: bool, spun: bool, shared: bool, elapsed: Duration) {
        self.shared = shared;
        if shared {
            // The partner runs on this CPU: it answered once this thread parked, and any
            // spin before the park only delayed it. The next wait yields; two such parks in a
            // row also leave the history at level 0, should the yields stop.
            self.history.level = self.history.level.saturating_sub(MAX_LEVEL / 2);
            return;
        }
        self.history.level = if spun {
            MAX_LEVEL
        } else if elapsed <= 2 * SPIN_BUDGET {
            // A parked wait that ended this soon would probably have been caught by a longer
            // spin.
            (self.history.level + 1).min(MAX_LEVEL)
        } else {
            self.history.level.saturating_sub(1)
        };
        if woke {
            self.learn_wake(elapsed, spun);
        }
    }

    /// Learns from a wait that followed a wake-up: `answer` is how long after the wake-up the
    /// partner's answer was seen, `spun` whether the spin saw it (or the wait parked).
    fn learn_wake(&mut self, answer: Duration, spun: bool) {
        self.wake_window = if spun {
            // Cover the answer with a margin at once; shrink by an eighth a wait.
            (answer * 3 / 2)
                .max(self.wake_window - self.wake_window / 8)
                .min(WAKE_WINDOW_MAX)
        } else {
            // The partner did not answer within the window. Growing it from how long the
            // answer took would be wrong when the partner waited for this thread's own CPU
            // (it answers right after the spin ends, however long that was), so the window
            // halves, as the spin history does after a miss, but not below the longest
            // history spin: from the state where both sides park, the waker's spin must
            // last through a wake-up for the hand-off to return to spinning.
            (self.wake_window / 2).max(WAKE_WINDOW_MIN)
        };
    }
}

/// How a blocking wait begins ([`ThreadWaits::begin_blocking`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Begin {
    /// Spin for `budget` (none if zero), then park; `woke`: the wait follows a wake-up and
    /// learns the wake window from it.
    Spin { budget: Duration, woke: bool },
    /// The partner shares this CPU: yield ([`yield_until`]), then park.
    Yield,
}

/// What a wait owes to a wake-up made by its thread ([`ThreadWaits::take_wake`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// Spin at least this long (the wake window).
    Window(Duration),
    /// The woken partner waits for this CPU: yield.
    PartnerHere,
}

thread_local! {
    /// The waits of this thread: the history of its blocking waits, and the wake window that
    /// its blocking waits and async first polls share.
    static THREAD_WAITS: Cell<ThreadWaits> = const { Cell::new(ThreadWaits::NEW) };
}

/// Records that the calling thread is about to park on `word` (its CPU, and whether its last
/// park was shared), for the activator that wakes it.
///
/// Out of line, as is [`note_wake_parked`]: both go with a syscall, and the callers (a
/// backend's `activate` above all) stay small enough to inline.
#[cold]
#[inline(never)]
pub(crate) fn note_park(word: *const ()) {
    if cfg!(stream_loom) {
        return;
    }
    let shared = THREAD_WAITS
        .try_with(|cell| cell.get().shared)
        .unwrap_or(false);
    record_park(word, shared);
}

/// Records that this thread just woke waiters of `word` (a backend's `activate` that made a
/// wake-up of parked threads or registered wakers): the next wait of this thread spins through
/// the wake window, or yields at once if the woken partner waits for this CPU (its park or
/// registration recorded it, `placement`).
///
/// Reads no clock: the wait that follows times the window from its own start, which is where
/// a thread that wakes its partner usually is next (the partner's answer is what it waits for).
#[cold]
#[inline(never)]
pub(crate) fn note_wake_parked(word: *const ()) {
    // Under loom `note_wake_of` reads no CPU (a hint slot only) and `note_wake_on` returns.
    note_wake_on(note_wake_of(word));
}

/// A wake-up of a partner whose CPU is not known (tests).
#[cfg(all(test, not(stream_loom)))]
fn note_wake() {
    note_wake_on(None);
}

fn note_wake_on(cpu: Option<u32>) {
    if cfg!(stream_loom) {
        return;
    }
    let _ = THREAD_WAITS.try_with(|cell| {
        let mut waits = cell.get();
        waits.woke = true;
        if cpu.is_some() {
            waits.woke_cpu = cpu;
        }
        waits.wakes = waits.wakes.wrapping_add(1);
        cell.set(waits);
    });
}

/// The blocking wait of the parking backends: checks `cond`, spins for as long as the calling
/// thread's [`SpinHistory`] says (and, right after this thread woke a partner, through the
/// wake window), then calls `park(cond, deadline)` (which must return as
/// [`Backend::wait`](crate::Backend::wait) does), and records how the wait ended.
#[inline]
pub(crate) fn spin_adaptive_then<C: FnMut() -> bool>(
    word: *const (),
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
    spin_then_park_slow(word, cond, deadline, park)
}

#[cold]
fn spin_then_park_slow<C: FnMut() -> bool>(
    word: *const (),
    mut cond: C,
    deadline: Option<Instant>,
    park: impl FnOnce(C, Option<Instant>) -> bool,
) -> bool {
    // A thread being torn down has no history left: it waits as a fresh one does.
    let mut waits = THREAD_WAITS.try_with(Cell::get).unwrap_or(ThreadWaits::NEW);
    let start = Instant::now();
    let (budget, woke) = match waits.begin_blocking(current_cpu, Instant::now) {
        Begin::Spin { budget, woke } => (budget, woke),
        Begin::Yield => {
            #[cfg(all(test, not(stream_loom)))]
            tests::count_yielding_wait();
            let yielded = yield_until(&mut cond, start, deadline);
            waits.end_yielding(yielded);
            if let Yielded::Answered { .. } | Yielded::Sliced { answered: true, .. } = yielded {
                let _ = THREAD_WAITS.try_with(|cell| cell.set(waits));
                return true;
            }
            (Duration::ZERO, false)
        }
    };
    let spun = !budget.is_zero() && spin_slow(&mut cond, budget, start, deadline);
    let done = spun || park(cond, deadline);
    // A parked wait woken from this CPU: the partner shares it (`placement`).
    let shared = !spun && woken_from_here(word);
    waits.end_blocking(woke, spun, shared, start.elapsed());
    let _ = THREAD_WAITS.try_with(|cell| cell.set(waits));
    done
}

/// A gap between two clock reads of a spin that means the spinning thread was descheduled.
const DESCHEDULED: Duration = Duration::from_micros(30);

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
    // between checks grows to 8 `spin_loop` hints (about 0.2 µs) and stays there; the clock is
    // read every 16 checks (a few µs apart).
    let mut step = 0u32;
    let mut last = start;
    loop {
        for _ in 0..1u32 << step.min(3) {
            core::hint::spin_loop();
        }
        if cond() {
            return true;
        }
        step += 1;
        if step % 16 == 0 {
            let now = Instant::now();
            // A gap far longer than 16 checks take: this thread lost its CPU in the spin. The
            // machine has more runnable threads than CPUs, and the partner may be one that
            // waits for this CPU: stop spinning.
            if now >= end || now - last > DESCHEDULED {
                return false;
            }
            last = now;
        }
    }
}

/// Pins the calling thread to `cpu` (tests of threads that share a CPU).
#[cfg(all(test, target_os = "linux", not(miri), not(stream_loom)))]
pub(crate) fn pin_to(cpu: usize) {
    // SAFETY: a zeroed `cpu_set_t` is an empty set; `CPU_SET` writes the bit of `cpu` within
    // it (it panics, never writes out of bounds, for a number beyond the set);
    // `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes of it.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    assert!(ok, "sched_setaffinity to CPU {cpu}");
}

/// Runs `side(0)` and `side(1)` on two threads of their own, and returns what they return
/// (tests of two threads handing off).
#[cfg(all(test, target_os = "linux", not(miri), not(stream_loom)))]
pub(crate) fn on_two_threads<R: Send + 'static>(
    side: impl Fn(u64) -> R + Send + Sync + 'static,
) -> (R, R) {
    let side = std::sync::Arc::new(side);
    let other = {
        let side = side.clone();
        std::thread::spawn(move || side(1))
    };
    let here = std::thread::spawn(move || side(0)).join().unwrap();
    (here, other.join().unwrap())
}

/// The CPU the calling thread runs on (tests).
#[cfg(all(test, target_os = "linux", not(miri), not(stream_loom)))]
pub(crate) fn cpu_now() -> Option<u32> {
    current_cpu()
}

#[cfg(all(test, not(stream_loom)))]
mod tests;
