//! The one place that names the atomics, so that loom builds (cfg `stream_loom`) swap them for
//! loom's model-checked versions.

#[cfg(not(stream_loom))]
pub(crate) use core::sync::atomic::AtomicU32;
#[cfg(not(stream_loom))]
pub(crate) use std::thread::yield_now;

#[cfg(stream_loom)]
pub(crate) use loom::sync::atomic::AtomicU32;
#[cfg(stream_loom)]
pub(crate) use loom::thread::yield_now;

pub(crate) use core::sync::atomic::Ordering;
