//! `futex(2)` on Linux.

use core::sync::atomic::AtomicU32;
use std::time::Duration;

/// The futex backend's event word: the 32-bit futex in the low-addressed half, padding after.
#[repr(C)]
#[cfg_attr(target_pointer_width = "64", repr(align(8)))]
#[derive(Debug)]
pub struct FutexWord {
    pub(super) futex: AtomicU32,
    #[cfg(target_pointer_width = "64")]
    _pad: u32,
}

impl FutexWord {
    pub(super) const fn new() -> Self {
        Self {
            futex: AtomicU32::new(0),
            #[cfg(target_pointer_width = "64")]
            _pad: 0,
        }
    }
}

static_assertions::assert_eq_size!(FutexWord, stream_abi::EventWord);
static_assertions::assert_eq_align!(FutexWord, stream_abi::EventWord);

/// Sleeps while the futex holds `expected`, for at most `timeout`.
pub(super) fn wait(word: &FutexWord, expected: u32, timeout: Option<Duration>) {
    let ts;
    let ts_ptr = match timeout {
        None => core::ptr::null(),
        Some(t) => {
            ts = libc::timespec {
                tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: t.subsec_nanos() as libc::c_long,
            };
            &ts as *const libc::timespec
        }
    };
    // SAFETY: the futex address is a live, aligned `AtomicU32` for the whole call (borrowed
    // from `word`); the timespec pointer is null or points to `ts`, alive until the call
    // returns. FUTEX_WAIT only reads the word. Errors (EAGAIN: the value changed, EINTR,
    // ETIMEDOUT) all mean "return and re-check", which the caller does.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.futex.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            ts_ptr,
        );
    }
}

/// Wakes every thread asleep on the futex.
pub(super) fn wake_all(word: &FutexWord) {
    // SAFETY: the futex address is a live, aligned `AtomicU32` (borrowed from `word`).
    // FUTEX_WAKE does not touch memory; its result (the number woken) is not needed.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.futex.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}
