//! Tests of the spin history, the wake window and the async spin.

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
    let level = || THREAD_WAITS.with(Cell::get).history.level;
    for expected in (0..MAX_LEVEL).rev() {
        let slow_park = |_, _| {
            std::thread::sleep(3 * SPIN_BUDGET);
            true
        };
        assert!(spin_adaptive_then(
            core::ptr::null(),
            || false,
            None,
            slow_park
        ));
        assert_eq!(level(), expected);
    }
    // Level 0: no spin (the condition is checked once before parking).
    let mut checks = 0;
    let mut cond = || {
        checks += 1;
        false
    };
    assert!(spin_adaptive_then(
        core::ptr::null(),
        &mut cond,
        None,
        |_, _| true
    ));
    assert_eq!(checks, 1);
    // That park ended at once: a spin of the shortest budget next.
    assert_eq!(level(), 1);
    // A spin that sees its condition come true: the longest budget.
    let mut checks = 0;
    let cond = || {
        checks += 1;
        checks == 3
    };
    assert!(spin_adaptive_then(
        core::ptr::null(),
        cond,
        None,
        |_, _| unreachable!("parked")
    ));
    assert_eq!(level(), MAX_LEVEL);
    std::thread::spawn(move || {
        assert_eq!(THREAD_WAITS.with(Cell::get).history, SpinHistory::default());
    })
    .join()
    .unwrap();
}

/// A fresh thread's waits, with the spin history at level 0 (no spin of its own).
fn waits_at_level_zero() {
    THREAD_WAITS.with(|cell| {
        let mut waits = ThreadWaits::NEW;
        waits.history.level = 0;
        cell.set(waits);
    });
}

/// A condition that holds from its `n`th check on.
fn holds_from(n: u32) -> impl FnMut() -> bool {
    let mut checks = 0;
    move || {
        checks += 1;
        checks >= n
    }
}

/// A wait at level 0 parks at once; right after a wake-up it spins through the window
/// and catches an answer that comes during it. Each case runs on a fresh thread; the
/// spin case may lose its CPU (which ends a spin), so it counts if one of three tries
/// shows it.
#[test]
fn a_wake_up_makes_the_next_wait_spin() {
    std::thread::spawn(|| {
        waits_at_level_zero();
        let mut parked = false;
        assert!(spin_adaptive_then(
            core::ptr::null(),
            holds_from(50),
            None,
            |_, _| {
                parked = true;
                true
            }
        ));
        assert!(parked, "level 0 without a wake-up: no spin");
    })
    .join()
    .unwrap();
    let spun = (0..3).any(|_| {
        std::thread::spawn(|| {
            waits_at_level_zero();
            note_wake();
            let mut parked = false;
            assert!(spin_adaptive_then(
                core::ptr::null(),
                holds_from(50),
                None,
                |_, _| {
                    parked = true;
                    true
                }
            ));
            // The wake-up is used once.
            assert!(!THREAD_WAITS.with(Cell::get).woke);
            !parked
        })
        .join()
        .unwrap()
    });
    assert!(spun, "a wait right after a wake-up spun through the window");
}

/// The window covers the answers seen in it with a margin and shrinks slowly toward
/// them; a spin that missed halves it; it stays within `SPIN_BUDGET..=WAKE_WINDOW_MAX`.
#[test]
fn the_wake_window_learns_from_answers() {
    let mut waits = ThreadWaits::NEW;
    assert_eq!(waits.wake_window, WAKE_WINDOW_START);
    let us = Duration::from_micros;
    // An answer after 40 µs: the window grows at once to 60 µs.
    waits.learn_wake(us(40), true);
    assert_eq!(waits.wake_window, us(60));
    // Answers after 12 µs: it shrinks by an eighth a wait, down to 18 µs.
    waits.learn_wake(us(12), true);
    assert_eq!(waits.wake_window, us(60) - us(60) / 8);
    for _ in 0..100 {
        waits.learn_wake(us(12), true);
    }
    assert_eq!(waits.wake_window, us(18));
    // A miss halves it, down to the longest history spin.
    waits.learn_wake(us(200), true);
    assert_eq!(waits.wake_window, WAKE_WINDOW_MAX);
    waits.learn_wake(us(200), false);
    assert_eq!(waits.wake_window, WAKE_WINDOW_MAX / 2);
    for _ in 0..10 {
        waits.learn_wake(us(200), false);
    }
    assert_eq!(waits.wake_window, SPIN_BUDGET);
    // A long answer seen in a spin is capped.
    waits.learn_wake(us(500), true);
    assert_eq!(waits.wake_window, WAKE_WINDOW_MAX);
    // A wait owes the window once per wake-up.
    assert_eq!(waits.take_wake(|| None), None);
    waits.woke = true;
    assert_eq!(
        waits.take_wake(|| None),
        Some(Wake::Window(WAKE_WINDOW_MAX))
    );
    assert_eq!(waits.take_wake(|| None), None);
}

/// Shorthand for a spinning start.
fn spin(budget: Duration, woke: bool) -> Begin {
    Begin::Spin { budget, woke }
}

/// A wait after a wake-up of a partner that parked on this thread's CPU (after a shared park
/// of its own: `note_wake_of` reports only those) does not spin, not even through the
/// history's budget: the partner runs only once this thread stops, so the wait yields. A
/// partner on another CPU, or on an unknown one, gets the window as before; the hint is used
/// once.
#[test]
fn a_partner_on_this_cpu_is_not_waited_for_by_spinning() {
    let on = |cpu: u32| move || Some(cpu);
    let mut waits = ThreadWaits::NEW;
    assert_eq!(
        waits.begin_blocking(on(1), Instant::now),
        spin(SPIN_BUDGET, false)
    );
    waits.woke = true;
    waits.woke_cpu = Some(1);
    assert_eq!(waits.begin_blocking(on(1), Instant::now), Begin::Yield);
    // Used once: the next wait spins as its history says.
    assert_eq!(
        waits.begin_blocking(on(1), Instant::now),
        spin(SPIN_BUDGET, false)
    );
    waits.woke = true;
    waits.woke_cpu = Some(0);
    assert_eq!(
        waits.begin_blocking(on(1), Instant::now),
        spin(WAKE_WINDOW_START, true)
    );
    assert_eq!(waits.woke_cpu, None);
    waits.woke = true;
    assert_eq!(
        waits.begin_blocking(on(1), Instant::now),
        spin(WAKE_WINDOW_START, true)
    );
    // Where this thread runs is not known: the window.
    waits.woke = true;
    waits.woke_cpu = Some(1);
    assert_eq!(
        waits.begin_blocking(|| None, Instant::now),
        spin(WAKE_WINDOW_START, true)
    );
    // The CPU is asked only after a wake-up.
    assert_eq!(
        waits.begin_blocking(|| unreachable!("asked without a wake-up"), Instant::now),
        spin(SPIN_BUDGET, false)
    );
}

/// A park woken from this thread's own CPU makes the waits yield until answers come twice in
/// a row while the yields ran no other thread (the partner runs elsewhere: spins again, at the
/// full budget) or a park is woken from another CPU; each shared park lowers the history by
/// three levels, so that spins stay short should the yields stop.
#[test]
fn a_shared_park_makes_the_waits_yield_until_the_partner_runs_elsewhere() {
    let us = Duration::from_micros;
    let quick = Yielded::Answered { handed: false };
    let handed = Yielded::Answered { handed: true };
    let mut waits = ThreadWaits::NEW;
    waits.end_blocking(false, false, true, us(5));
    assert!(waits.shared);
    assert_eq!(waits.history.level, MAX_LEVEL - 3);
    assert_eq!(waits.begin_blocking(|| None, Instant::now), Begin::Yield);
    // Answered during yields that ran the partner: still shared.
    waits.end_yielding(handed);
    assert_eq!(waits.begin_blocking(|| None, Instant::now), Begin::Yield);
    // A second shared park: level 0, and still yielding.
    waits.end_blocking(false, false, true, us(5));
    assert_eq!(waits.history.level, 0);
    assert_eq!(waits.begin_blocking(|| None, Instant::now), Begin::Yield);
    // One answer while the yields ran nobody is not enough (a fast switch looks the same)...
    waits.end_yielding(quick);
    assert!(waits.shared);
    // ... and one that ran the partner starts the count again.
    waits.end_yielding(handed);
    waits.end_yielding(quick);
    assert!(waits.shared);
    // Two in a row: the partner runs on another CPU.
    waits.end_yielding(quick);
    assert!(!waits.shared);
    assert_eq!(
        waits.begin_blocking(|| None, Instant::now),
        spin(SPIN_BUDGET, false)
    );
    // A park woken from another CPU ends the yields too.
    waits.end_blocking(false, false, true, us(5));
    waits.end_blocking(false, false, false, us(5));
    assert!(!waits.shared);
    assert!(matches!(
        waits.begin_blocking(|| None, Instant::now),
        Begin::Spin { .. }
    ));
}

/// A yield that gave a busy thread its time slice: the next waits of the shared thread (and
/// those after waking a partner parked on its CPU) park at once for [`YIELD_PAUSE`] times that
/// slice, then yield again. The history is left as it was.
#[test]
fn yields_pause_after_a_busy_thread_took_the_cpu() {
    let us = Duration::from_micros;
    let park_at_once = spin(Duration::ZERO, false);
    let t0 = Instant::now();
    let at = |t: Duration| move || t0 + t;
    // The pause after a slice of 1 000 µs.
    let pause = 1_000 * u64::from(YIELD_PAUSE);
    let mut waits = ThreadWaits::NEW;
    waits.end_blocking(false, false, true, us(5));
    let level = waits.history.level;
    assert_eq!(waits.begin_blocking(|| None, at(us(0))), Begin::Yield);
    waits.end_yielding(Yielded::Sliced {
        answered: true,
        at: t0,
        took: us(1000),
    });
    assert_eq!(waits.history.level, level);
    assert_eq!(waits.begin_blocking(|| None, at(us(10))), park_at_once);
    assert_eq!(
        waits.begin_blocking(|| None, at(us(pause - 1))),
        park_at_once
    );
    // The activator's rule pauses too.
    waits.shared = false;
    waits.woke = true;
    waits.woke_cpu = Some(1);
    assert_eq!(
        waits.begin_blocking(|| Some(1), at(us(pause - 1))),
        park_at_once
    );
    waits.shared = true;
    assert_eq!(waits.begin_blocking(|| None, at(us(pause))), Begin::Yield);
    assert_eq!(waits.yield_off_until, None);
    // A thread stopped for seconds sizes no pause by it.
    waits.end_yielding(Yielded::Sliced {
        answered: false,
        at: t0,
        took: Duration::from_secs(5),
    });
    assert_eq!(
        waits.begin_blocking(|| None, at(us(1_000_000))),
        Begin::Yield
    );
}

/// The yields end when the condition holds, and without it after about the spin budget.
#[test]
fn yields_end_with_the_answer_or_the_budget() {
    // (Each case holds however the yields are scheduled: a yield that ran another thread for
    // a slice ends the yields with one more check.)
    let start = Instant::now();
    let mut checks = 0;
    let yielded = yield_until(
        &mut || {
            checks += 1;
            true
        },
        start,
        None,
    );
    assert!(matches!(
        yielded,
        Yielded::Answered { .. } | Yielded::Sliced { answered: true, .. }
    ));
    assert_eq!(checks, 1);
    let start = Instant::now();
    assert!(matches!(
        yield_until(&mut || false, start, None),
        Yielded::Unanswered
            | Yielded::Sliced {
                answered: false,
                ..
            }
    ));
    assert!(start.elapsed() >= SPIN_BUDGET);
    // A deadline that has passed: one yield, one check.
    let mut checks = 0;
    let start = Instant::now();
    assert!(matches!(
        yield_until(
            &mut || {
                checks += 1;
                false
            },
            start,
            Some(start)
        ),
        Yielded::Unanswered
            | Yielded::Sliced {
                answered: false,
                ..
            }
    ));
    assert_eq!(checks, 1);
}

/// A round trip between two threads with the blocking policy, in virtual time: each side
/// takes `work` to answer a message; a message to a side whose spin has ended costs a
/// wake-up (the sender notes it) and reaches it `latency` later. Starts from the state
/// where both sides park (history level 0, the shortest window) and returns the time of
/// each round trip.
fn simulate(latency: Duration, work: Duration, trips: usize, window: bool) -> Vec<Duration> {
    let parked = || {
        let mut waits = ThreadWaits::NEW;
        waits.history.level = 0;
        waits.wake_window = WAKE_WINDOW_MIN;
        waits
    };
    let mut sides = [parked(), parked()];
    // When each side's current wait started and how long it spins.
    let mut waiting: [(Duration, Duration, bool); 2] = [(Duration::ZERO, Duration::ZERO, false); 2];
    let mut now = Duration::ZERO;
    // Side 1 starts waiting for the first message.
    waiting[1] = {
        let Begin::Spin { budget, woke } = sides[1].begin_blocking(|| None, Instant::now) else {
            unreachable!("no shared parks here")
        };
        (now, budget, woke)
    };
    let mut trips_taken = Vec::new();
    let mut trip_start = now;
    let mut from = 0;
    for _ in 0..trips * 2 {
        let to = 1 - from;
        // `from` sends now; `to` sees it now if it still spins, else it is woken.
        let (started, budget, woke) = waiting[to];
        let spun = !budget.is_zero() && now <= started + budget;
        let seen = if spun {
            now
        } else {
            if window {
                sides[from].woke = true;
            }
            now + latency
        };
        sides[to].end_blocking(woke, spun, false, seen - started);
        // `from` waits for the answer.
        waiting[from] = {
            let Begin::Spin { budget, woke } = sides[from].begin_blocking(|| None, Instant::now)
            else {
                unreachable!("no shared parks here")
            };
            (now, budget, woke)
        };
        now = seen + work;
        if to == 0 {
            trips_taken.push(seen - trip_start);
            trip_start = seen;
        }
        from = to;
    }
    trips_taken
}

/// From the state where both sides park, a hand-off returns to spinning after one round
/// trip when wake-ups take 5-15 µs (a guest whose idle CPUs halt at once): the side that
/// wakes its partner spins through the wake-up. With the spin history alone it takes five
/// or six round trips of two wake-ups each, and none once two wake-ups take longer than
/// twice the longest spin (a window no longer than the longest spin does not cover
/// those either: wake-ups over 16 µs are left to the spin history).
#[test]
fn both_parked_returns_to_spinning() {
    let us = Duration::from_micros;
    let work = Duration::from_nanos(200);
    let spinning = |trips: &[Duration]| trips.iter().all(|&t| t <= 2 * work);
    for l in 5..=15 {
        let with_window = simulate(us(l), work, 40, true);
        assert!(spinning(&with_window[1..]), "L={l} µs: {with_window:?}");
        let history_alone = simulate(us(l), work, 40, false);
        assert!(
            !spinning(&history_alone[1..5]),
            "L={l} µs: {history_alone:?}"
        );
        assert!(spinning(&history_alone[7..]), "L={l} µs: {history_alone:?}");
    }
    let history_alone = simulate(us(17), work, 40, false);
    assert!(
        history_alone.iter().all(|&t| t >= 2 * us(17)),
        "{history_alone:?}"
    );
}

/// An async wait learns where its partner runs: a wake-up made by its own thread between
/// its registration and its answer means the partner runs on this thread, and the next
/// first poll does not spin after a wake-up; an answer with no such wake-up lets it spin.
#[test]
fn async_waits_learn_where_the_partner_runs() {
    std::thread::spawn(|| {
        let mut spin = AsyncSpin::default();
        spin.history.level = 0;
        spin.registered(core::ptr::null());
        note_wake(); // the partner task, on this thread, answered
        spin.answered(core::ptr::null(), true);
        assert!(spin.partner_here);
        // A wake-up now (this task woke the partner): no post-wake spin, and level 0
        // does not spin between probes.
        note_wake();
        let mut checks = 0;
        assert!(!spin.spin(&mut || {
            checks += 1;
            false
        }));
        assert_eq!(checks, 1);
        // The partner moved to another thread: the answer came with no wake-up here.
        spin.registered(core::ptr::null());
        spin.answered(core::ptr::null(), true);
        assert!(!spin.partner_here);
        // (A spin that loses its CPU ends at once: one of three tries must catch it, as in
        // `a_wake_up_makes_the_next_wait_spin`.)
        let spun = (0..3).any(|_| {
            note_wake();
            let mut checks = 0;
            spin.spin(&mut || {
                checks += 1;
                checks == 20
            })
        });
        assert!(spun, "a wait after a wake-up spun through the window");
    })
    .join()
    .unwrap();
}

thread_local! {
    /// Waits of this thread that began with [`Begin::Yield`].
    static YIELDING_WAITS: Cell<u32> = const { Cell::new(0) };
}

/// Counts a wait that began with [`Begin::Yield`] (called by `spin_then_park_slow`).
pub(super) fn count_yielding_wait() {
    YIELDING_WAITS.with(|c| c.set(c.get() + 1));
}

/// Two threads on one CPU (Linux): their parks are woken from their own CPU, so the detection
/// sees it and waits yield. The whole chain (the activator's record of its CPU, the parked
/// waiter's reading of it, `end_blocking`, `begin_blocking`) must work for a wait to yield.
#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn threads_on_one_cpu_find_out_and_yield() {
    use crate::{Backend, Futex};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let cpu = placement::current_cpu().expect("sched_getcpu answers on Linux") as usize;
    let words = Arc::new([Futex::new_word(), Futex::new_word()]);
    let turn = Arc::new(AtomicU64::new(0));
    const TRIPS: u64 = 2_000;
    let (here, there) = super::on_two_threads(move |me: u64| {
        super::pin_to(cpu);
        for i in 0..TRIPS {
            let mine = 2 * i + me;
            Futex::wait(
                &words[me as usize],
                // ORDERING: Acquire, pairs with the partner's Release store below.
                || turn.load(Ordering::Acquire) == mine,
                None,
            );
            // ORDERING: Release: the turn is handed over (nothing else to publish).
            turn.store(mine + 1, Ordering::Release);
            Futex::activate(&words[1 - me as usize]);
        }
        YIELDING_WAITS.with(Cell::get)
    });
    assert!(here + there > 0, "no wait yielded on one CPU");
}
