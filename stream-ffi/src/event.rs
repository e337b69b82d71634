//! The event exports: activate, and wait for a caller's condition.

use core::ffi::c_void;
use core::ptr::NonNull;

use stream_abi::EventWord;
use stream_events::{Event, Futex};

use crate::status::{guard, wait_on, NATIVE_STREAM_ERR_NULL, NATIVE_STREAM_OK};

/// A condition for [`native_stream_event_wait`]: returns non-zero once it holds. Called any
/// number of times, on the waiting thread only; it must not unwind (throw) into the library.
pub type NativeStreamCondition = Option<unsafe extern "C" fn(ctx: *mut c_void) -> i32>;

/// The event behind an event pointer.
///
/// # Safety
///
/// `e` is null or an event of a live stream (from `native_stream_read_ready_event` and
/// friends).
unsafe fn event<'a>(e: *mut EventWord) -> Result<&'a Event<Futex>, i32> {
    match NonNull::new(e) {
        // SAFETY: an event word of a header interpreted with the `Futex` backend;
        // `Event<Futex>` is `repr(transparent)` over the backend word, which has the event
        // word's size and alignment (asserted in stream-events).
        Some(p) => Ok(unsafe { p.cast::<Event<Futex>>().as_ref() }),
        None => Err(NATIVE_STREAM_ERR_NULL),
    }
}

/// Wakes every waiter of the event so that it re-checks its condition. Call it after the
/// change the waiters wait for. Makes no syscall when nobody is asleep.
///
/// # Errors
///
/// `NULL`.
///
/// # Safety
///
/// `e` is null or an event of a live stream or future.
#[no_mangle]
pub unsafe extern "C" fn native_stream_event_activate(e: *mut EventWord) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe { event(e) }?.activate();
        Ok(NATIVE_STREAM_OK)
    })
}

/// Blocks until `cond(ctx)` returns non-zero (`OK`) or `timeout_ns` nanoseconds have passed
/// (`TIMEOUT`); a negative timeout waits forever, 0 checks once and does not wait
/// (`WOULD_BLOCK` when the condition does not hold). The condition is re-checked after every
/// wake-up, spurious or not; no activation that follows a change making it true is lost.
///
/// On a stream's own events, the library activates after changing the stream's state word,
/// in a way that only guarantees the wake-up to a condition that reads that word: ask through
/// this library's functions (`native_stream_read_amount`, `native_stream_is_ready_to_write`
/// and the like), not by reading other header fields alone.
///
/// # Errors
///
/// `NULL` (`e` or `cond`); `WOULD_BLOCK` (timeout 0) or `TIMEOUT` (a positive timeout) when
/// the condition did not hold.
///
/// # Safety
///
/// `e` is null or an event of a live stream or future; `cond` is safe to call with `ctx`
/// from this thread and does not unwind.
#[no_mangle]
pub unsafe extern "C" fn native_stream_event_wait(
    e: *mut EventWord,
    cond: NativeStreamCondition,
    ctx: *mut c_void,
    timeout_ns: i64,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let ev = unsafe { event(e) }?;
        let cond = cond.ok_or(NATIVE_STREAM_ERR_NULL)?;
        // SAFETY: callable with `ctx` on this thread, by the caller.
        let check = || unsafe { cond(ctx) } != 0;
        wait_on(ev, timeout_ns, check)?;
        Ok(NATIVE_STREAM_OK)
    })
}
