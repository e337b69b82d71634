//! A futex emulation for platforms without `futex(2)` and for loom models.
//!
//! The contract is the kernel's: `wait` sleeps only if the word still holds the expected value
//! when it is compared under the bucket lock, and `wake_all` takes the same lock before it
//! notifies, so a waker that changed the word before calling `wake_all` cannot slip between a
//! waiter's comparison and its sleep.

use std::time::Duration;

use crate::sync::{mutant, AtomicU32, Ordering};

#[cfg(stream_loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(stream_loom))]
use std::sync::{Condvar, Mutex};

/// A lock and a condition variable that sleepers on some futex words share.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    lock: Mutex<()>,
    cond: Condvar,
}

/// The futex backend's event word (emulated): the 32-bit word in the low-addressed half.
#[cfg(not(stream_loom))]
#[repr(C)]
#[cfg_attr(target_pointer_width = "64", repr(align(8)))]
#[derive(Debug)]
pub struct FutexWord {
    pub(super) futex: AtomicU32,
    #[cfg(target_pointer_width = "64")]
    _pad: u32,
}

#[cfg(not(stream_loom))]
impl FutexWord {
    pub(super) const fn new() -> Self {
        Self {
            futex: AtomicU32::new(0),
            #[cfg(target_pointer_width = "64")]
            _pad: 0,
        }
    }

    fn bucket(&self) -> &'static Bucket {
        use std::sync::OnceLock;
        const BUCKETS: usize = 64;
        static TABLE: OnceLock<Vec<Bucket>> = OnceLock::new();
        let table = TABLE.get_or_init(|| (0..BUCKETS).map(|_| Bucket::default()).collect());
        let addr = self.futex.as_ptr() as usize;
        &table[(addr >> 3) % BUCKETS]
    }
}

#[cfg(not(stream_loom))]
static_assertions::assert_eq_size!(FutexWord, stream_abi::EventWord);
#[cfg(not(stream_loom))]
static_assertions::assert_eq_align!(FutexWord, stream_abi::EventWord);

/// The futex backend's event word in loom models: the layout does not matter there, so the
/// word carries its own bucket.
#[cfg(stream_loom)]
#[derive(Debug)]
pub struct FutexWord {
    pub(super) futex: AtomicU32,
    bucket: Bucket,
}

#[cfg(stream_loom)]
impl FutexWord {
    pub(super) fn new() -> Self {
        Self {
            futex: AtomicU32::new(0),
            bucket: Bucket::default(),
        }
    }

    fn bucket(&self) -> &Bucket {
        &self.bucket
    }
}

/// Sleeps while the word holds `expected`, for at most `timeout` (in loom models a timed sleep
/// returns at once, which the futex contract allows: a spurious wake-up).
pub(super) fn wait(word: &FutexWord, expected: u32, timeout: Option<Duration>) {
    let bucket = word.bucket();
    let guard = bucket.lock.lock().unwrap();
    // ORDERING: Relaxed under the bucket lock: a waker changes the word before taking the
    // lock, so if the change is not seen here the waker's notify comes after this sleep.
    if !mutant("futex-compare") && word.futex.load(Ordering::Relaxed) != expected {
        return;
    }
    match timeout {
        None => drop(bucket.cond.wait(guard).unwrap()),
        #[cfg(not(stream_loom))]
        Some(t) => drop(bucket.cond.wait_timeout(guard, t).unwrap()),
        #[cfg(stream_loom)]
        Some(_) => drop(guard),
    }
}

/// Wakes every thread asleep on the word (and, in the shared table, its bucket neighbours,
/// which re-check their condition and sleep again).
pub(super) fn wake_all(word: &FutexWord) {
    let bucket = word.bucket();
    drop(bucket.lock.lock().unwrap());
    bucket.cond.notify_all();
}
