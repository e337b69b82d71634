//! Async waits on a futex word: the [`Waker`]s of registered polls, kept outside the word.
//!
//! The event word has no room for a list of wakers, so, as parking_lot keeps its parked
//! threads, registered wakers live in a process-wide table of buckets keyed by the word's
//! address (in loom models one bucket, made anew for each execution).
//! A bucket is a mutex-protected list of `(address, id, waker)` entries. The protocol with the
//! word's `WAKERS` flag is in the parent module's docs.
//!
//! May touch: the buckets, under their lock; the entries it adds or removes.

use core::task::Waker;

use super::FutexWord;

#[cfg(stream_loom)]
use loom::sync::Mutex;
#[cfg(not(stream_loom))]
use std::sync::Mutex;

/// One registered poll: the word it waits on, its registration's id and its waker.
#[derive(Debug)]
struct Entry {
    addr: usize,
    id: u64,
    waker: Waker,
}

/// The wakers registered on the futex words whose address falls in this bucket.
#[derive(Debug)]
pub(super) struct Wakers {
    entries: Mutex<Entries>,
}

#[derive(Debug)]
struct Entries {
    list: Vec<Entry>,
    /// The id of the next registration of this bucket.
    next_id: u64,
}

impl Wakers {
    #[cfg(not(stream_loom))]
    const fn new() -> Self {
        Self {
            entries: Mutex::new(Entries {
                list: Vec::new(),
                next_id: 0,
            }),
        }
    }

    #[cfg(stream_loom)]
    fn new() -> Self {
        Self {
            entries: Mutex::new(Entries {
                list: Vec::new(),
                next_id: 0,
            }),
        }
    }
}

/// Buckets of the process-wide table.
#[cfg(not(stream_loom))]
const BUCKETS: usize = 64;

#[cfg(not(stream_loom))]
static TABLE: [Wakers; BUCKETS] = [const { Wakers::new() }; BUCKETS];

#[cfg(stream_loom)]
loom::lazy_static! {
    static ref TABLE: Wakers = Wakers::new();
}

/// The address that keys `word`'s entries.
pub(super) fn addr(word: &FutexWord) -> usize {
    core::ptr::from_ref(&word.futex) as usize
}

#[cfg(not(stream_loom))]
fn bucket(addr: usize) -> &'static Wakers {
    // Stream headers are 64-byte aligned: spread by the cache line.
    &TABLE[(addr >> 6) % BUCKETS]
}

#[cfg(stream_loom)]
fn bucket(_addr: usize) -> &'static Wakers {
    &TABLE
}

/// Registers `waker` for the word at `addr` as registration `id` (a new id when `None` or when that entry
/// was woken and removed meanwhile); returns the id.
pub(super) fn register(addr: usize, id: Option<u64>, waker: &Waker) -> u64 {
    let mut entries = bucket(addr)
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(id) = id {
        if let Some(entry) = entries
            .list
            .iter_mut()
            .find(|e| e.id == id && e.addr == addr)
        {
            if !entry.waker.will_wake(waker) {
                entry.waker.clone_from(waker);
            }
            return id;
        }
    }
    let id = entries.next_id;
    entries.next_id += 1;
    entries.list.push(Entry {
        addr,
        id,
        waker: waker.clone(),
    });
    id
}

/// Removes registration `id` of the word at `addr`, if it is still registered.
pub(super) fn unregister(addr: usize, id: u64) {
    let mut entries = bucket(addr)
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(i) = entries
        .list
        .iter()
        .position(|e| e.id == id && e.addr == addr)
    {
        entries.list.swap_remove(i);
    }
}

/// Removes every registration of `word` and wakes its waker (outside the lock); returns
/// whether there was one.
pub(super) fn wake_all(word: &FutexWord) -> bool {
    let addr = addr(word);
    // Usually one waker: no allocation for it.
    let mut first = None;
    let mut more = Vec::new();
    {
        let mut entries = bucket(addr)
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut i = 0;
        while i < entries.list.len() {
            if entries.list[i].addr == addr {
                let waker = entries.list.swap_remove(i).waker;
                if first.is_none() {
                    first = Some(waker);
                } else {
                    more.push(waker);
                }
            } else {
                i += 1;
            }
        }
    }
    let Some(first) = first else {
        return false;
    };
    first.wake();
    for waker in more {
        waker.wake();
    }
    true
}
