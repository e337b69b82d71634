//! Loom models of `activate` racing `wait_until`, for the backends loom can see.
//!
//! Run with `RUSTFLAGS="--cfg stream_loom" cargo test -p stream-events --test loom --release`.
#![cfg(stream_loom)]

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use stream_events::{Backend, Event};

/// Runs `f` under loom and returns how many interleavings it explored.
///
/// The preemption bound is `LOOM_MAX_PREEMPTIONS` when set, else `default_bound`. Spin loops
/// branch at every `yield_now`, hence the raised branch limit.
fn model(name: &str, default_bound: usize, f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_bound);
    }
    builder.max_branches = builder.max_branches.max(100_000);
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    let n = runs.load(Relaxed);
    println!("loom model {name}: {n} interleavings");
    n
}

/// One flag, one activation, one waiter.
fn activate_races_wait<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let t = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || {
            // ORDERING: Release pairs with the waiter's Acquire load in its condition.
            flag.store(1, Ordering::Release);
            ev.activate();
        })
    };
    // ORDERING: Acquire pairs with the Release store above.
    ev.wait_until(|| flag.load(Ordering::Acquire) == 1);
    t.join().unwrap();
}

/// A counter raised twice with `SeqCst`, each time followed by `activate_after_seqcst` (the
/// futex fast path that only reads the word when nobody is parked); one waiter waits for each
/// value in turn, so it may park before either change or between them.
fn activate_after_seqcst_races_wait<B: Backend>() {
    let (ev, count, t) = two_changes::<B>();
    for i in 1..=2 {
        // ORDERING: Acquire pairs with the changes above.
        ev.wait_until(|| count.load(Ordering::Acquire) >= i);
    }
    t.join().unwrap();
}

/// Two rounds of a ping-pong through two events: each side waits for the other's change.
fn ping_pong<B: Backend>() {
    let ping = Arc::new(Event::<B>::new());
    let pong = Arc::new(Event::<B>::new());
    let turn = Arc::new(AtomicUsize::new(0));
    let t = {
        let (ping, pong, turn) = (ping.clone(), pong.clone(), turn.clone());
        thread::spawn(move || {
            for i in 0..2 {
                ping.wait_until(|| turn.load(Ordering::Acquire) == 2 * i + 1);
                turn.store(2 * i + 2, Ordering::Release);
                pong.activate();
            }
        })
    };
    for i in 0..2 {
        turn.store(2 * i + 1, Ordering::Release);
        ping.activate();
        pong.wait_until(|| turn.load(Ordering::Acquire) == 2 * i + 2);
    }
    t.join().unwrap();
}

/// Two waiters on one event, one activation: both must return.
fn two_waiters<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let w = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || ev.wait_until(|| flag.load(Ordering::Acquire) == 1))
    };
    let a = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || {
            flag.store(1, Ordering::Release);
            ev.activate();
        })
    };
    ev.wait_until(|| flag.load(Ordering::Acquire) == 1);
    w.join().unwrap();
    a.join().unwrap();
}

/// Two waiters and two `SeqCst` changes, each followed by `activate_after_seqcst`: one waiter
/// waits for the first change, the other for the second. A parking waiter's announcement
/// can meet the first activation's wake-up of the other; the second activation, which only
/// reads the word, must still see that announcement or its waiter must see the change.
fn two_waiters_after_seqcst<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let count = Arc::new(AtomicUsize::new(0));
    let first = {
        let (ev, count) = (ev.clone(), count.clone());
        thread::spawn(move || ev.wait_until(|| count.load(Ordering::Acquire) >= 1))
    };
    let activator = {
        let (ev, count) = (ev.clone(), count.clone());
        thread::spawn(move || {
            for _ in 0..2 {
                // ORDERING: SeqCst, as `activate_after_seqcst` requires of the change.
                count.fetch_add(1, Ordering::SeqCst);
                ev.activate_after_seqcst();
            }
        })
    };
    ev.wait_until(|| count.load(Ordering::Acquire) >= 2);
    first.join().unwrap();
    activator.join().unwrap();
}

macro_rules! models {
    ($name:ident, $backend:ty, $bound:expr, [$($model:ident),*]) => {
        mod $name {
            $(
                #[test]
                fn $model() {
                    let n = super::model(
                        concat!(stringify!($name), "::", stringify!($model)),
                        $bound,
                        super::$model::<$backend>,
                    );
                    assert!(n >= 100, "too weak: {n} interleavings");
                }
            )*
        }
    };
}

#[cfg(feature = "futex")]
models!(
    futex,
    stream_events::Futex,
    3,
    [
        activate_races_wait,
        activate_after_seqcst_races_wait,
        ping_pong,
        two_waiters
    ]
);
// The spin backend keeps no wake-up state (activate is a no-op), so the one-shot and
// two-waiter models explore only the flag's own interleavings (12 for one waiter) and two
// spinning waiters make loom branch at every yield without finishing in useful time; the
// ping-pong covers its waiting loop.
#[cfg(feature = "spin")]
models!(spin, stream_events::Spin, 4, [ping_pong]);

/// [`two_waiters_after_seqcst`] needs 4 preemptions to reach the lost announcement that an
/// `activate` clearing `WAITERS` in a second RMW allowed (it deadlocked at 4, about 10 s);
/// the fixed backend passes at 4 (about 400,000 interleavings, 40 s) and at 5 (3.2 million,
/// 5 minutes).
#[cfg(feature = "futex")]
#[test]
fn futex_two_waiters_after_seqcst() {
    let n = model(
        "futex::two_waiters_after_seqcst",
        4,
        two_waiters_after_seqcst::<stream_events::Futex>,
    );
    assert!(n >= 100, "too weak: {n} interleavings");
}

/// Polls `ev` until `cond` holds on loom's `block_on`, which parks the loom thread while the
/// poll is pending (so a lost wake-up is a deadlock loom reports) and takes a wake-up that
/// comes after the end (an activation may take a registration's entry late) in its stride.
fn poll_until<B: stream_events::AsyncBackend>(ev: &Event<B>, mut cond: impl FnMut() -> bool) {
    let mut registration = B::Registration::default();
    loom::future::block_on(core::future::poll_fn(|cx| {
        ev.poll_until(&mut registration, &mut cond, cx)
    }));
}

/// One flag, one activation, one async waiter.
fn activate_races_poll<B: stream_events::AsyncBackend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let t = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || {
            // ORDERING: Release pairs with the waiter's Acquire load in its condition.
            flag.store(1, Ordering::Release);
            ev.activate();
        })
    };
    // ORDERING: Acquire pairs with the Release store above.
    poll_until(&ev, || flag.load(Ordering::Acquire) == 1);
    t.join().unwrap();
}

/// An event, a count and a thread that makes two `SeqCst` changes of the count, each followed
/// by `activate_after_seqcst`.
fn two_changes<B: Backend>() -> (Arc<Event<B>>, Arc<AtomicUsize>, thread::JoinHandle<()>) {
    let ev = Arc::new(Event::<B>::new());
    let count = Arc::new(AtomicUsize::new(0));
    let t = {
        let (ev, count) = (ev.clone(), count.clone());
        thread::spawn(move || {
            for _ in 0..2 {
                // ORDERING: SeqCst, as `activate_after_seqcst` requires of the change.
                count.fetch_add(1, Ordering::SeqCst);
                ev.activate_after_seqcst();
            }
        })
    };
    (ev, count, t)
}

/// Two `SeqCst` changes, each followed by `activate_after_seqcst`, and one async waiter
/// waiting for each in turn, then a blocking waiter on the same word: the registered waker
/// and a parked thread share the fast path's check.
fn activate_after_seqcst_races_poll<B: stream_events::AsyncBackend>() {
    let (ev, count, t) = two_changes::<B>();
    // ORDERING: Acquire pairs with the changes above.
    poll_until(&ev, || count.load(Ordering::Acquire) >= 1);
    ev.wait_until(|| count.load(Ordering::Acquire) >= 2);
    t.join().unwrap();
}

/// An async waiter and a blocking waiter on one event, one activation: both return.
fn poll_and_wait<B: stream_events::AsyncBackend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let w = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || ev.wait_until(|| flag.load(Ordering::Acquire) == 1))
    };
    let a = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || {
            flag.store(1, Ordering::Release);
            ev.activate();
        })
    };
    poll_until(&ev, || flag.load(Ordering::Acquire) == 1);
    w.join().unwrap();
    a.join().unwrap();
}

/// One registration kept across two async waits, as a stream's reader keeps its own: the
/// first registers and its answer is then seen elsewhere (here, by a blocking wait on the
/// same event), which leaves its entry behind, taken by an activation or not; the second
/// polls with that registration until the second change. The first poll of the second wait
/// drops an entry an activation took (`Futex::poll_wait`) and registers anew.
fn a_registration_serves_the_next_wait<B: stream_events::AsyncBackend>() {
    let (ev, count, t) = two_changes::<B>();
    let mut registration = B::Registration::default();
    let noop = &noop_waker();
    // ORDERING: Acquire pairs with the changes above (in all three conditions).
    let first = ev.poll_until(
        &mut registration,
        || count.load(Ordering::Acquire) >= 1,
        &mut core::task::Context::from_waker(noop),
    );
    if first.is_pending() {
        ev.wait_until(|| count.load(Ordering::Acquire) >= 1);
    }
    loom::future::block_on(core::future::poll_fn(|cx| {
        ev.poll_until(&mut registration, || count.load(Ordering::Acquire) >= 2, cx)
    }));
    t.join().unwrap();
}

#[cfg(feature = "futex")]
models!(
    futex_async,
    stream_events::Futex,
    3,
    [
        activate_races_poll,
        activate_after_seqcst_races_poll,
        poll_and_wait,
        a_registration_serves_the_next_wait
    ]
);

/// A waker that does nothing (`Waker::noop` is newer than the crate's MSRV).
fn noop_waker() -> std::task::Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    std::task::Waker::from(std::sync::Arc::new(Noop))
}
