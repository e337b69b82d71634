//! Who frees a future, and when: every order of write, read and drop, checked with a
//! drop-counting value and a global allocator that counts the futures' live allocations.
//!
//! A write that finds no reader waiting releases the writer handle in the same step, and the
//! reader frees the allocation alone; a write to a reader that announced a wait activates it
//! and both handles release their counts. Each scenario below ends with no future allocation
//! left and the value dropped exactly once. One `#[test]` runs them all in turn, so that the
//! count of live allocations is not disturbed by other tests.
#![cfg(not(stream_loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use stream_events::Backend;
use stream_future::{future_with, ReadError, ReadTimeoutError, TryReadError};

/// Counts the live blocks of at least [`BIG`] bytes: only futures of [`Value`] are that big
/// in this test.
struct Counting;

/// Size of the blocks counted.
const BIG: usize = 1024;

static LIVE_BIG: AtomicUsize = AtomicUsize::new(0);

/// `LIVE_BIG` when the current scenario started (the test harness keeps a few big blocks of
/// its own).
static BASELINE: AtomicUsize = AtomicUsize::new(0);

/// Futures of [`Value`] allocated now.
fn live() -> usize {
    LIVE_BIG.load(Ordering::SeqCst) - BASELINE.load(Ordering::SeqCst)
}

// SAFETY: forwards to `System`, counting on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG {
            LIVE_BIG.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= BIG {
            LIVE_BIG.fetch_sub(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A value big enough that its future's allocation is counted, which counts its drops.
struct Value {
    id: u64,
    _ballast: [u64; 128],
    drops: Arc<AtomicUsize>,
}

impl Value {
    fn new(id: u64, drops: &Arc<AtomicUsize>) -> Self {
        Value {
            id,
            _ballast: [id; 128],
            drops: drops.clone(),
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `scenario` with a fresh drop counter; afterwards no future is allocated and the value
/// was dropped once.
fn check(name: &str, scenario: impl FnOnce(&Arc<AtomicUsize>)) {
    BASELINE.store(LIVE_BIG.load(Ordering::SeqCst), Ordering::SeqCst);
    let drops = Arc::new(AtomicUsize::new(0));
    scenario(&drops);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}: drops");
    assert_eq!(live(), 0, "{name}: future not freed");
}

fn pause() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
}

fn scenarios<B: Backend>() {
    check("write, read", |d| {
        let (w, r) = future_with::<Value, B>();
        assert_eq!(live(), 1);
        w.write(Value::new(1, d)).ok().unwrap();
        // The writer is gone, the allocation is still there for the reader.
        assert_eq!(live(), 1);
        assert!(r.is_ready());
        let v = r.read().ok().unwrap();
        assert_eq!(live(), 0);
        assert_eq!((v.id, d.load(Ordering::SeqCst)), (1, 0));
    });
    check("write, drop reader unread", |d| {
        let (w, r) = future_with::<Value, B>();
        w.write(Value::new(2, d)).ok().unwrap();
        assert_eq!(d.load(Ordering::SeqCst), 0);
        drop(r);
    });
    check("write, try_read, try_read again, drop reader", |d| {
        let (w, mut r) = future_with::<Value, B>();
        w.write(Value::new(3, d)).ok().unwrap();
        let v = r.try_read().ok().unwrap();
        assert!(matches!(r.try_read(), Err(TryReadError::Closed)));
        assert!(r.read_timeout(Duration::ZERO).is_err());
        drop(r);
        assert_eq!((v.id, d.load(Ordering::SeqCst)), (3, 0));
    });
    check("write, read_timeout, drop reader", |d| {
        let (w, mut r) = future_with::<Value, B>();
        w.write(Value::new(4, d)).ok().unwrap();
        let v = r.read_timeout(Duration::from_secs(60)).ok().unwrap();
        drop(r);
        assert_eq!(v.id, 4);
    });
    check("reader waiting in read, then write", |d| {
        let (w, r) = future_with::<Value, B>();
        let t = thread::spawn(move || r.read().ok().unwrap().id);
        pause();
        w.write(Value::new(5, d)).ok().unwrap();
        assert_eq!(t.join().unwrap(), 5);
    });
    check("read_timeout times out (announced), write, read", |d| {
        let (w, mut r) = future_with::<Value, B>();
        assert!(matches!(
            r.read_timeout(Duration::from_millis(1)),
            Err(ReadTimeoutError::Timeout)
        ));
        w.write(Value::new(6, d)).ok().unwrap();
        assert_eq!(r.read().ok().unwrap().id, 6);
    });
    check(
        "read_timeout times out (announced), write, drop reader unread",
        |d| {
            let (w, mut r) = future_with::<Value, B>();
            assert!(r.read_timeout(Duration::from_millis(1)).is_err());
            w.write(Value::new(7, d)).ok().unwrap();
            drop(r);
        },
    );
    check(
        "read_timeout times out (announced), drop reader, write fails",
        |d| {
            let (w, mut r) = future_with::<Value, B>();
            assert!(r.read_timeout(Duration::from_millis(1)).is_err());
            drop(r);
            let back = w.write(Value::new(8, d)).err().unwrap().into_inner();
            assert_eq!(back.id, 8);
        },
    );
    check("drop reader, write fails", |d| {
        let (w, r) = future_with::<Value, B>();
        drop(r);
        assert!(w.is_closed());
        let back = w.write(Value::new(9, d)).err().unwrap().into_inner();
        assert_eq!((back.id, d.load(Ordering::SeqCst)), (9, 0));
    });
    check("drop writer, read closed, drop reader", |d| {
        let (w, mut r) = future_with::<Value, B>();
        drop(w);
        assert!(matches!(r.try_read(), Err(TryReadError::Closed)));
        drop(r);
        drop(Value::new(10, d));
    });
    check("drop reader, drop writer", |d| {
        let (w, r) = future_with::<Value, B>();
        drop(r);
        drop(w);
        drop(Value::new(11, d));
    });
    check("reader waiting in read, drop writer", |d| {
        let (w, r) = future_with::<Value, B>();
        let t = thread::spawn(move || r.read().err());
        pause();
        drop(w);
        assert_eq!(t.join().unwrap(), Some(ReadError));
        drop(Value::new(12, d));
    });
    check("write and drop reader racing", |d| {
        for round in 0..if cfg!(miri) { 4 } else { 200 } {
            let (w, r) = future_with::<Value, B>();
            let d2 = d.clone();
            let t = thread::spawn(move || w.write(Value::new(round, &d2)).err());
            if round % 2 == 0 {
                thread::yield_now();
            }
            drop(r);
            // Given back (dropped here) or delivered (dropped by the reader's drop).
            drop(t.join().unwrap());
            assert_eq!(d.load(Ordering::SeqCst), round as usize + 1);
            assert_eq!(live(), 0, "round {round}");
        }
        // `check` expects one drop in all: count the rounds' drops as one.
        d.store(1, Ordering::SeqCst);
    });
    check("write and read racing", |d| {
        for round in 0..if cfg!(miri) { 4 } else { 200 } {
            let (w, r) = future_with::<Value, B>();
            let d2 = d.clone();
            let t = thread::spawn(move || w.write(Value::new(round, &d2)).is_ok());
            if round % 2 == 0 {
                thread::yield_now();
            }
            assert_eq!(r.read().ok().unwrap().id, round);
            assert!(t.join().unwrap());
            assert_eq!(live(), 0, "round {round}");
        }
        d.store(1, Ordering::SeqCst);
    });
}

#[test]
fn every_order_frees_once() {
    scenarios::<stream_events::Spin>();
    scenarios::<stream_events::Futex>();
    scenarios::<stream_events::Listener>();
}
