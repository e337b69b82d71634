//! Shared test helpers: a drop-counting element type.
#![allow(dead_code, unreachable_pub)]

pub mod matrix;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts, per id, how many times an element was dropped.
#[derive(Debug, Clone)]
pub struct Drops(Arc<Vec<AtomicUsize>>);

impl Drops {
    pub fn new(n: usize) -> Self {
        Drops(Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }

    /// Elements `range` of this counter.
    pub fn make(&self, range: std::ops::Range<usize>) -> Vec<Tracked> {
        range
            .map(|id| Tracked {
                id,
                drops: self.clone(),
            })
            .collect()
    }

    pub fn count(&self, id: usize) -> usize {
        self.0[id].load(Ordering::SeqCst)
    }

    /// Asserts that every element was dropped exactly once.
    pub fn assert_each_dropped_once(&self) {
        for (id, c) in self.0.iter().enumerate() {
            assert_eq!(
                c.load(Ordering::SeqCst),
                1,
                "element {id} dropped {c:?} times"
            );
        }
    }
}

/// A non-`Copy` element that records its drop.
#[derive(Debug)]
pub struct Tracked {
    pub id: usize,
    drops: Drops,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.0[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Scales a loop count down under Miri.
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        (n / 200).max(2)
    } else {
        n
    }
}

/// A scheduling point between two steps of a matrix action.
pub fn matrix_pause() {
    #[cfg(stream_loom)]
    loom::thread::yield_now();
    #[cfg(not(stream_loom))]
    std::thread::yield_now();
}
