//! Status codes, the guard that keeps panics from crossing the boundary, and the one timeout
//! rule of every waiting export.

use core::panic::AssertUnwindSafe;
use core::ptr::NonNull;
use core::time::Duration;
use std::panic::catch_unwind;

use stream_abi::StreamHeader;
use stream_core::RawStream;
use stream_events::{Event, Futex};

/// The stream type behind every handle of this library.
pub(crate) type Raw = RawStream<Futex>;

/// Success (for predicates: `0` is "no", `1` is "yes").
pub const NATIVE_STREAM_OK: i32 = 0;
/// A required pointer argument (handle, buffer or out-parameter) was null.
pub const NATIVE_STREAM_ERR_NULL: i32 = -1;
/// The end is closed or the stream ended: nothing was done. Also returned by a second close.
pub const NATIVE_STREAM_ERR_CLOSED: i32 = -2;
/// Another operation is in progress on the same end (a second `start_reading`, a second
/// `start_writing`).
pub const NATIVE_STREAM_ERR_BUSY: i32 = -3;
/// A non-blocking call found nothing to do yet (no buffer lent, no value written); also a
/// wait with a timeout of 0, which checks once and does not wait.
pub const NATIVE_STREAM_ERR_WOULD_BLOCK: i32 = -4;
/// A wait with a positive timeout ended before its condition held.
pub const NATIVE_STREAM_ERR_TIMEOUT: i32 = -5;
/// An argument is out of range: a count above the lent capacity, a negative count, a size
/// that is not the future's element size, an invalid alignment.
pub const NATIVE_STREAM_ERR_INVALID: i32 = -6;
/// The call needs an operation in progress that is not: `read_amount`/`cancel_read`/
/// `wait_read` without a pending read, `finish_writing` without a taken buffer.
pub const NATIVE_STREAM_ERR_NOT_PENDING: i32 = -7;
/// Every handle of the end the call acts for was already released (the other end keeps the
/// header alive).
pub const NATIVE_STREAM_ERR_RELEASED: i32 = -8;
/// The end already has the largest number of handles `active_instances` can count.
pub const NATIVE_STREAM_ERR_TOO_MANY_HANDLES: i32 = -9;
/// A panic inside the library was caught; the stream is as the panicking step left it.
pub const NATIVE_STREAM_ERR_PANIC: i32 = -10;

/// Every status code with its C name, for the header test.
pub const STATUS_CODES: [(&str, i32); 11] = [
    ("NATIVE_STREAM_OK", NATIVE_STREAM_OK),
    ("NATIVE_STREAM_ERR_NULL", NATIVE_STREAM_ERR_NULL),
    ("NATIVE_STREAM_ERR_CLOSED", NATIVE_STREAM_ERR_CLOSED),
    ("NATIVE_STREAM_ERR_BUSY", NATIVE_STREAM_ERR_BUSY),
    (
        "NATIVE_STREAM_ERR_WOULD_BLOCK",
        NATIVE_STREAM_ERR_WOULD_BLOCK,
    ),
    ("NATIVE_STREAM_ERR_TIMEOUT", NATIVE_STREAM_ERR_TIMEOUT),
    ("NATIVE_STREAM_ERR_INVALID", NATIVE_STREAM_ERR_INVALID),
    (
        "NATIVE_STREAM_ERR_NOT_PENDING",
        NATIVE_STREAM_ERR_NOT_PENDING,
    ),
    ("NATIVE_STREAM_ERR_RELEASED", NATIVE_STREAM_ERR_RELEASED),
    (
        "NATIVE_STREAM_ERR_TOO_MANY_HANDLES",
        NATIVE_STREAM_ERR_TOO_MANY_HANDLES,
    ),
    ("NATIVE_STREAM_ERR_PANIC", NATIVE_STREAM_ERR_PANIC),
];

/// Runs an export's body, turning a panic into [`NATIVE_STREAM_ERR_PANIC`] and an early
/// `Err(code)` into `code`.
#[inline]
pub(crate) fn guard(body: impl FnOnce() -> Result<i32, i32>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code) | Err(code)) => code,
        Err(_) => NATIVE_STREAM_ERR_PANIC,
    }
}

/// Like [`guard`] for exports returning a pointer: null on a panic or an error.
#[inline]
pub(crate) fn guard_ptr<T>(body: impl FnOnce() -> Option<*mut T>) -> *mut T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => core::ptr::null_mut(),
    }
}

/// The stream behind a handle, or [`NATIVE_STREAM_ERR_NULL`].
///
/// # Safety
///
/// `s` is null or a live stream handle (a header created by this library or by
/// `stream_core` with the `Futex` backend, kept alive by a handle the caller holds).
#[inline]
pub(crate) unsafe fn stream<'a>(s: *mut StreamHeader) -> Result<&'a Raw, i32> {
    match NonNull::new(s) {
        // SAFETY: by the caller, a live header; `RawStream<Futex>` has the layout of
        // `StreamHeader` (asserted in stream-core), so the cast reinterprets nothing.
        Some(p) => Ok(unsafe { p.cast::<Raw>().as_ref() }),
        None => Err(NATIVE_STREAM_ERR_NULL),
    }
}

/// Writes through an out-parameter, or fails with [`NATIVE_STREAM_ERR_NULL`].
///
/// # Safety
///
/// `out` is null or valid for a write of `T`.
#[inline]
pub(crate) unsafe fn check_out<T>(out: *mut T) -> Result<(), i32> {
    if out.is_null() {
        Err(NATIVE_STREAM_ERR_NULL)
    } else {
        Ok(())
    }
}

/// A C timeout in nanoseconds: negative waits forever (`None`).
#[inline]
pub(crate) fn timeout(ns: i64) -> Option<Duration> {
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

/// The timeout rule of every waiting export: checks `ready` once and, if it does not hold,
/// waits on `event` for it: forever for a negative `timeout_ns`, not at all for 0
/// ([`NATIVE_STREAM_ERR_WOULD_BLOCK`]), at most `timeout_ns` nanoseconds otherwise
/// ([`NATIVE_STREAM_ERR_TIMEOUT`] when they pass first). `ready` is re-checked after every
/// wake-up.
pub(crate) fn wait_on(
    event: &Event<Futex>,
    timeout_ns: i64,
    mut ready: impl FnMut() -> bool,
) -> Result<(), i32> {
    if ready() {
        return Ok(());
    }
    match timeout(timeout_ns) {
        None => {
            event.wait_until(ready);
            Ok(())
        }
        Some(t) if t.is_zero() => Err(NATIVE_STREAM_ERR_WOULD_BLOCK),
        Some(t) if event.wait_until_timeout(ready, t) => Ok(()),
        Some(_) => Err(NATIVE_STREAM_ERR_TIMEOUT),
    }
}

/// A C boolean answer.
#[inline]
pub(crate) fn yes(b: bool) -> i32 {
    i32::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_a_code() {
        assert_eq!(guard(|| panic!("boom")), NATIVE_STREAM_ERR_PANIC);
        assert_eq!(
            guard(|| Err(NATIVE_STREAM_ERR_BUSY)),
            NATIVE_STREAM_ERR_BUSY
        );
        assert!(guard_ptr::<u8>(|| panic!("boom")).is_null());
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout(-1), None);
        assert_eq!(timeout(0), Some(Duration::ZERO));
        assert_eq!(timeout(1_500), Some(Duration::from_nanos(1_500)));
    }

    #[test]
    fn one_timeout_rule() {
        let event = Event::<Futex>::new();
        let checks = core::cell::Cell::new(0);
        let never = || {
            checks.set(checks.get() + 1);
            false
        };
        assert_eq!(
            wait_on(&event, 0, never),
            Err(NATIVE_STREAM_ERR_WOULD_BLOCK)
        );
        assert_eq!(checks.get(), 1, "a zero timeout checks exactly once");
        assert_eq!(
            wait_on(&event, 1_000_000, never),
            Err(NATIVE_STREAM_ERR_TIMEOUT)
        );
        assert!(checks.get() >= 2, "a positive timeout checks again");
        for ns in [-1, 0, 1_000_000] {
            assert_eq!(wait_on(&event, ns, || true), Ok(()));
        }
    }
}
