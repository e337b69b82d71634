//! The one place that names atomics and `UnsafeCell`, so that loom builds (cfg `stream_loom`)
//! swap them for loom's model-checked versions.

#[cfg(not(stream_loom))]
pub(crate) use core::sync::atomic::AtomicUsize;
#[cfg(stream_loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;

pub(crate) use core::sync::atomic::Ordering;

/// `UnsafeCell` with loom's closure-based access API, so that loom checks every access of a
/// protocol-owned field for races.
#[cfg(not(stream_loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(stream_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Reads through a raw pointer; the caller's `unsafe` upholds the ownership rules.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Writes through a raw pointer; the caller's `unsafe` upholds the ownership rules.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(stream_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `order`, or `Relaxed` in a mutant build (`--cfg stream_mutants`) whose environment
/// variable `STREAM_MUTANT` names `id`: the mutants weaken one ordering at a time so that the
/// loom and Miri suites can show they would catch it (`cargo xtask mutants`).
#[inline(always)]
pub(crate) fn ord(id: &'static str, order: Ordering) -> Ordering {
    #[cfg(stream_mutants)]
    if std::env::var("STREAM_MUTANT").is_ok_and(|m| m == id) {
        return Ordering::Relaxed;
    }
    let _ = id;
    order
}
