//! One test suite, instantiated for every backend.
#![cfg(not(stream_loom))]

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use stream_events::{Backend, Event};

/// Generous bound on how late a timed wait may return on a loaded, shared machine. It checks
/// that the wait ends, not how fast.
const LATE: Duration = Duration::from_secs(2);

fn iterations() -> u64 {
    if cfg!(miri) {
        50
    } else {
        20_000
    }
}

/// Changes `turn` to `value` and activates `ev`: with a Release store and `activate`, or
/// with a `SeqCst` store and `activate_after_seqcst` (whose futex fast path only reads the
/// word when nobody is parked).
fn publish<B: Backend>(turn: &AtomicU64, value: u64, ev: &Event<B>, seqcst: bool) {
    if seqcst {
        turn.store(value, Ordering::SeqCst);
        ev.activate_after_seqcst();
    } else {
        turn.store(value, Ordering::Release);
        ev.activate();
    }
}

/// Two threads hand a token back and forth through one counter and two events; every step
/// waits for the other thread's activation. A lost wake-up hangs the test.
fn ping_pong<B: Backend>() {
    ping_pong_with::<B>(false);
}

/// [`ping_pong`] with `SeqCst` changes and `activate_after_seqcst`.
fn ping_pong_seqcst<B: Backend>() {
    ping_pong_with::<B>(true);
}

fn ping_pong_with<B: Backend>(seqcst: bool) {
    ping_pong_pinned::<B>(seqcst, None);
}

/// [`ping_pong`] with both threads on one CPU, where the waits yield to a partner queued
/// behind them (a park woken from its own CPU makes the next wait yield): every hand-off
/// still arrives, none twice.
#[cfg(all(target_os = "linux", not(miri)))]
fn ping_pong_on_one_cpu<B: Backend>() {
    // SAFETY: `sched_getcpu` takes no arguments.
    let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
    ping_pong_pinned::<B>(false, Some(cpu));
}

/// Pins the calling thread to `cpu`.
#[cfg(all(target_os = "linux", not(miri)))]
fn pin_to(cpu: usize) {
    // SAFETY: a zeroed `cpu_set_t` is an empty set; `CPU_SET` writes the bit of `cpu` within
    // it (it panics, never writes out of bounds, for a number beyond the set);
    // `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes of it.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    assert!(ok, "sched_setaffinity to CPU {cpu}");
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn pin_to(_cpu: usize) {}

/// The CPU the caller runs on and another one its affinity allows (Linux): where to put a
/// partner that must not share the caller's CPU. `None` with a single CPU.
#[cfg(all(target_os = "linux", not(miri)))]
fn cpus_apart() -> Option<(usize, usize)> {
    // SAFETY: `sched_getcpu` takes no arguments.
    let here = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
    // SAFETY: a zeroed `cpu_set_t` is an empty set, which `sched_getaffinity` fills (it
    // writes at most `size_of::<cpu_set_t>()` bytes); `CPU_ISSET` reads a bit within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| cpu != here && libc::CPU_ISSET(cpu, &set))
            .map(|there| (here, there))
    }
}

fn ping_pong_pinned<B: Backend>(seqcst: bool, cpu: Option<usize>) {
    let n = iterations();
    let ping = Arc::new(Event::<B>::new());
    let pong = Arc::new(Event::<B>::new());
    let turn = Arc::new(AtomicU64::new(0));
    let t = {
        let (ping, pong, turn) = (ping.clone(), pong.clone(), turn.clone());
        thread::spawn(move || {
            if let Some(cpu) = cpu {
                pin_to(cpu);
            }
            for i in 0..n {
                ping.wait_until(|| turn.load(Ordering::Acquire) == 2 * i + 1);
                publish(&turn, 2 * i + 2, &pong, seqcst);
            }
        })
    };
    if let Some(cpu) = cpu {
        pin_to(cpu);
    }
    for i in 0..n {
        publish(&turn, 2 * i + 1, &ping, seqcst);
        pong.wait_until(|| turn.load(Ordering::Acquire) == 2 * i + 2);
    }
    t.join().unwrap();
    assert_eq!(turn.load(Ordering::Relaxed), 2 * n);
}

/// The activating side sleeps now and then, so the waiter gets past its spin phase and parks:
/// this exercises the park path and its race with `activate`.
fn parked_waiter_is_woken<B: Backend>() {
    parked_waiter_is_woken_with::<B>(false);
}

/// [`parked_waiter_is_woken`] with `SeqCst` changes and `activate_after_seqcst`: the race of
/// its read-only fast path with a waiter that is parking.
fn parked_waiter_is_woken_seqcst<B: Backend>() {
    parked_waiter_is_woken_with::<B>(true);
}

fn parked_waiter_is_woken_with<B: Backend>(seqcst: bool) {
    let rounds = if cfg!(miri) { 5 } else { 200 };
    let ev = Arc::new(Event::<B>::new());
    let count = Arc::new(AtomicU64::new(0));
    let t = {
        let (ev, count) = (ev.clone(), count.clone());
        thread::spawn(move || {
            for i in 0..rounds {
                if i % 3 == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
                if seqcst {
                    count.fetch_add(1, Ordering::SeqCst);
                    ev.activate_after_seqcst();
                } else {
                    count.fetch_add(1, Ordering::Release);
                    ev.activate();
                }
            }
        })
    };
    for i in 1..=rounds {
        ev.wait_until(|| count.load(Ordering::Acquire) >= i);
    }
    t.join().unwrap();
}

/// Activations that do not change the condition wake the waiter (perhaps), which must check
/// again and keep waiting.
fn spurious_activations_are_tolerated<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let done = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (ev, done, checks) = (ev.clone(), done.clone(), checks.clone());
        thread::spawn(move || {
            ev.wait_until(|| {
                checks.fetch_add(1, Ordering::Relaxed);
                done.load(Ordering::Acquire)
            });
            assert!(done.load(Ordering::Relaxed));
        })
    };
    // The waiter has checked (and found its condition false) before the activations.
    while checks.load(Ordering::Relaxed) == 0 {
        thread::yield_now();
    }
    for _ in 0..if cfg!(miri) { 5 } else { 100 } {
        ev.activate();
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
    assert!(
        !waiter.is_finished(),
        "waiter returned without its condition"
    );
    done.store(true, Ordering::Release);
    ev.activate();
    waiter.join().unwrap();
    assert!(checks.load(Ordering::Relaxed) >= 2);
}

fn timeout_returns_false_after_deadline<B: Backend>() {
    let ev = Event::<B>::new();
    for ms in [0u64, 1, 30] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        assert!(!ev.wait_until_timeout(|| false, timeout));
        let took = start.elapsed();
        assert!(took >= timeout, "returned early: {took:?} < {timeout:?}");
        assert!(took < timeout + LATE, "returned late: {took:?}");
    }
    let deadline = Instant::now() + Duration::from_millis(10);
    assert!(!ev.wait_until_deadline(|| false, deadline));
    assert!(Instant::now() >= deadline);
    // A deadline in the past is a single check.
    assert!(ev.wait_until_deadline(|| true, Instant::now() - Duration::from_millis(1)));
    assert!(!ev.wait_until_deadline(|| false, Instant::now() - Duration::from_millis(1)));
}

fn timed_wait_is_woken_before_deadline<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicBool::new(false));
    let t = {
        let (ev, flag) = (ev.clone(), flag.clone());
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            flag.store(true, Ordering::Release);
            ev.activate();
        })
    };
    let start = Instant::now();
    assert!(ev.wait_until_timeout(|| flag.load(Ordering::Acquire), Duration::from_secs(30)));
    assert!(start.elapsed() < Duration::from_secs(30));
    t.join().unwrap();
}

/// Several waiters on one event (several clones of one stream end): one activation wakes all.
fn activate_wakes_every_waiter<B: Backend>() {
    let ev = Arc::new(Event::<B>::new());
    let flag = Arc::new(AtomicBool::new(false));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (ev, flag) = (ev.clone(), flag.clone());
            thread::spawn(move || ev.wait_until(|| flag.load(Ordering::Acquire)))
        })
        .collect();
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
    flag.store(true, Ordering::Release);
    ev.activate();
    for w in waiters {
        w.join().unwrap();
    }
}

/// An async wait whose condition the caller found true without polling again (as a stream's
/// reader does when it looks before it waits) leaves its registration behind; the next wait's
/// first poll still spins before it registers. It used to skip the spin whenever an entry was
/// left, so that on a machine with slow wake-ups every async hand-off of a bulk transfer
/// registered and parked (docs/performance.md, 2026-12-06 night).
///
/// With `end`, the caller ends the first wait with [`Event::end_wait`] as it sees the answer
/// (what the streams do); without, the next poll finds the entry left behind.
#[cfg(any(feature = "futex", feature = "listener"))]
fn a_wait_after_an_answer_seen_outside_spins_first<B: stream_events::AsyncBackend>(end: bool) {
    // On a thread of its own, which it pins (the test harness may run tests on one thread).
    thread::spawn(move || a_wait_after_an_answer_seen_outside_spins_first_here::<B>(end))
        .join()
        .unwrap();
}

#[cfg(any(feature = "futex", feature = "listener"))]
fn a_wait_after_an_answer_seen_outside_spins_first_here<B: stream_events::AsyncBackend>(end: bool) {
    use std::task::Context;

    let ev = Event::<B>::new();
    let flag = AtomicBool::new(false);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut reg = B::Registration::default();
    // A wait that registers, and its answer.
    assert!(ev
        .poll_until(&mut reg, || flag.load(Ordering::Acquire), &mut cx)
        .is_pending());
    // The partner, on another thread and CPU (an answer from this thread or CPU would say
    // the partner runs here, where spinning cannot help). Elsewhere than Linux the waits
    // read no CPU, and any thread will do.
    #[cfg(all(target_os = "linux", not(miri)))]
    let apart = cpus_apart();
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let apart = Some((0, 0));
    // With one CPU the partner shares it, and a wait it answered after `end_wait` rightly
    // does not spin; without `end_wait` the answer teaches nothing, as on any machine.
    if apart.is_none() && end {
        eprintln!("one CPU: no partner on another CPU; the `end_wait` case skipped");
        return;
    }
    if let Some((here, _)) = apart {
        pin_to(here);
    }
    thread::scope(|s| {
        s.spawn(|| {
            if let Some((_, there)) = apart {
                pin_to(there);
            }
            flag.store(true, Ordering::Release);
            ev.activate();
        });
    });
    // The caller sees the answer by itself, and the next wait begins.
    assert!(flag.swap(false, Ordering::AcqRel));
    if end {
        ev.end_wait(&mut reg);
    }
    let mut checks = 0;
    let polled = ev.poll_until(
        &mut reg,
        || {
            checks += 1;
            checks == 5
        },
        &mut cx,
    );
    assert!(polled.is_ready(), "registered after {checks} checks");
}

#[cfg(feature = "futex")]
#[test]
fn futex_wait_after_an_answer_seen_outside_spins_first() {
    a_wait_after_an_answer_seen_outside_spins_first::<stream_events::Futex>(false);
    a_wait_after_an_answer_seen_outside_spins_first::<stream_events::Futex>(true);
}

#[cfg(feature = "listener")]
#[test]
fn listener_wait_after_an_answer_seen_outside_spins_first() {
    a_wait_after_an_answer_seen_outside_spins_first::<stream_events::Listener>(false);
    a_wait_after_an_answer_seen_outside_spins_first::<stream_events::Listener>(true);
}

macro_rules! suite {
    ($name:ident, $backend:ty) => {
        mod $name {
            #[test]
            fn ping_pong() {
                super::ping_pong::<$backend>();
            }
            #[cfg(all(target_os = "linux", not(miri)))]
            #[test]
            fn ping_pong_on_one_cpu() {
                super::ping_pong_on_one_cpu::<$backend>();
            }
            #[test]
            fn ping_pong_seqcst() {
                super::ping_pong_seqcst::<$backend>();
            }
            #[test]
            fn parked_waiter_is_woken() {
                super::parked_waiter_is_woken::<$backend>();
            }
            #[test]
            fn parked_waiter_is_woken_seqcst() {
                super::parked_waiter_is_woken_seqcst::<$backend>();
            }
            #[test]
            fn spurious_activations_are_tolerated() {
                super::spurious_activations_are_tolerated::<$backend>();
            }
            #[test]
            fn timeout_returns_false_after_deadline() {
                super::timeout_returns_false_after_deadline::<$backend>();
            }
            #[test]
            fn timed_wait_is_woken_before_deadline() {
                super::timed_wait_is_woken_before_deadline::<$backend>();
            }
            #[test]
            fn activate_wakes_every_waiter() {
                super::activate_wakes_every_waiter::<$backend>();
            }
        }
    };
}

#[cfg(feature = "spin")]
suite!(spin, stream_events::Spin);
#[cfg(feature = "futex")]
suite!(futex, stream_events::Futex);
#[cfg(feature = "listener")]
suite!(listener, stream_events::Listener);

#[cfg(feature = "listener")]
mod listener_async {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use stream_events::{Event, Listener, ListenerRegistration};

    struct CountWake(std::sync::atomic::AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn poll_until_registers_and_is_woken_by_activate() {
        let ev = Event::<Listener>::new();
        let flag = AtomicBool::new(false);
        let wake = Arc::new(CountWake(Default::default()));
        let waker = Waker::from(wake.clone());
        let mut cx = Context::from_waker(&waker);
        let mut reg = ListenerRegistration::default();
        assert!(ev
            .poll_until(&mut reg, || flag.load(Ordering::Acquire), &mut cx)
            .is_pending());
        assert!(reg.is_registered());
        assert_eq!(wake.0.load(Ordering::SeqCst), 0);
        flag.store(true, Ordering::Release);
        ev.activate();
        assert_eq!(wake.0.load(Ordering::SeqCst), 1);
        assert!(ev
            .poll_until(&mut reg, || flag.load(Ordering::Acquire), &mut cx)
            .is_ready());
        assert!(!reg.is_registered());
    }

    /// A future over `poll_until`, driven by a real blocking executor across threads.
    struct WaitFlag<'a> {
        ev: &'a Event<Listener>,
        flag: &'a AtomicBool,
        reg: ListenerRegistration,
    }
    impl Future for WaitFlag<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let this = &mut *self;
            this.ev
                .poll_until(&mut this.reg, || this.flag.load(Ordering::Acquire), cx)
        }
    }

    #[test]
    fn async_wait_across_threads() {
        for _ in 0..if cfg!(miri) { 3 } else { 200 } {
            let ev = Event::<Listener>::new();
            let flag = AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    flag.store(true, Ordering::Release);
                    ev.activate();
                });
                block_on(WaitFlag {
                    ev: &ev,
                    flag: &flag,
                    reg: ListenerRegistration::default(),
                });
            });
        }
    }

    fn block_on<F: Future>(fut: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }
}

/// A waker that does nothing (`Waker::noop` is newer than the crate's MSRV).
#[cfg(any(feature = "futex", feature = "listener"))]
fn noop_waker() -> std::task::Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    std::task::Waker::from(std::sync::Arc::new(Noop))
}
