//! The one place that names the atomics, so that loom builds (cfg `stream_loom`) swap them for
//! loom's model-checked versions.

#[cfg(not(stream_loom))]
pub(crate) use core::sync::atomic::AtomicU32;
#[cfg(not(stream_loom))]
#[cfg_attr(not(feature = "spin"), allow(unused_imports))]
pub(crate) use std::thread::yield_now;

#[cfg(stream_loom)]
pub(crate) use loom::sync::atomic::AtomicU32;

#[cfg(not(stream_loom))]
pub(crate) use core::sync::atomic::fence;
#[cfg(stream_loom)]
pub(crate) use loom::sync::atomic::fence;
#[cfg(stream_loom)]
#[cfg_attr(not(feature = "spin"), allow(unused_imports))]
pub(crate) use loom::thread::yield_now;

pub(crate) use core::sync::atomic::Ordering;

/// Whether this is a mutant build (`--cfg stream_mutants`) whose environment variable
/// `STREAM_MUTANT` names `id` (`cargo xtask mutants`).
#[inline(always)]
pub(crate) fn mutant(id: &'static str) -> bool {
    #[cfg(stream_mutants)]
    if std::env::var("STREAM_MUTANT").is_ok_and(|m| m == id) {
        return true;
    }
    let _ = id;
    false
}

/// `order`, or `Relaxed` when the mutant `id` is active (see [`mutant`]).
#[inline(always)]
pub(crate) fn ord(id: &'static str, order: Ordering) -> Ordering {
    if mutant(id) {
        Ordering::Relaxed
    } else {
        order
    }
}
