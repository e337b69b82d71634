//! One rule per situation in the C interface (the crate docs' "Status codes"), checked through
//! the exported functions of the rlib, the code the `cdylib` exports: the timeout rule of
//! every waiting export, null pointers against zero sizes, calls acting for a released end,
//! out-of-range counts.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stream_abi::{StreamHeader, BLOCKED};
use stream_ffi::*;

const MS: i64 = 1_000_000;

fn stream() -> *mut StreamHeader {
    let s = native_stream_create();
    assert!(!s.is_null());
    s
}

/// Releases both handles of a stream (the last one frees it).
///
/// # Safety
///
/// `s` is a live stream whose two handles are still counted.
unsafe fn release_stream(s: *mut StreamHeader) {
    // SAFETY: by the caller.
    unsafe {
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
    }
}

/// A condition for `native_stream_event_wait` that never holds and counts its calls.
unsafe extern "C" fn never(ctx: *mut c_void) -> i32 {
    // SAFETY: `ctx` is the `AtomicUsize` the test passes.
    unsafe { &*ctx.cast::<AtomicUsize>() }.fetch_add(1, Ordering::Relaxed);
    0
}

/// Timeout 0 checks once and answers `WOULD_BLOCK`; a positive timeout waits and answers
/// `TIMEOUT`; in both cases the read stays pending and then completes normally.
#[test]
fn wait_read_timeout_rule() {
    let s = stream();
    let mut buf = [0u32; 2];
    // SAFETY: `s` is live (we hold both handles); `buf` outlives the read, which ends below.
    unsafe {
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), 2),
            NATIVE_STREAM_OK
        );
        let mut amount = 5;
        assert_eq!(
            native_stream_wait_read(s, 0, &mut amount),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(amount, BLOCKED);
        let t = Instant::now();
        amount = 5;
        assert_eq!(
            native_stream_wait_read(s, 2 * MS, &mut amount),
            NATIVE_STREAM_ERR_TIMEOUT
        );
        assert!(t.elapsed() >= Duration::from_millis(2));
        assert_eq!(amount, BLOCKED);
        // Still pending: a write completes it, and a zero timeout then finds it done.
        let mut addr = ptr::null_mut();
        let mut cap = 0;
        assert_eq!(
            native_stream_start_writing(s, &mut addr, &mut cap),
            NATIVE_STREAM_OK
        );
        addr.cast::<u32>().write(77);
        assert_eq!(native_stream_finish_writing(s, 1), NATIVE_STREAM_OK);
        assert_eq!(native_stream_wait_read(s, 0, &mut amount), NATIVE_STREAM_OK);
        assert_eq!((amount, buf[0]), (1, 77));
        release_stream(s);
    }
}

#[test]
fn wait_writable_timeout_rule() {
    let s = stream();
    let mut buf = [0u8; 1];
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            native_stream_wait_writable(s, 0),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(
            native_stream_wait_writable(s, MS),
            NATIVE_STREAM_ERR_TIMEOUT
        );
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), 1),
            NATIVE_STREAM_OK
        );
        assert_eq!(native_stream_wait_writable(s, 0), NATIVE_STREAM_OK);
        assert_eq!(native_stream_close_read(s), NATIVE_STREAM_OK);
        assert_eq!(native_stream_wait_writable(s, 0), NATIVE_STREAM_ERR_CLOSED);
        let mut amount = 0;
        assert_eq!(native_stream_read_amount(s, &mut amount), NATIVE_STREAM_OK);
        assert_eq!(amount, stream_abi::CLOSED);
        release_stream(s);
    }
}

#[test]
fn event_wait_timeout_rule() {
    let s = stream();
    let calls = AtomicUsize::new(0);
    let ctx = ptr::from_ref(&calls).cast_mut().cast::<c_void>();
    // SAFETY: as above; `never` may be called with `ctx` on this thread.
    unsafe {
        let e = native_stream_read_ready_event(s);
        assert!(!e.is_null());
        assert_eq!(
            native_stream_event_wait(e, Some(never), ctx, 0),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(calls.load(Ordering::Relaxed), 1, "timeout 0 checks once");
        assert_eq!(
            native_stream_event_wait(e, Some(never), ctx, MS),
            NATIVE_STREAM_ERR_TIMEOUT
        );
        assert!(calls.load(Ordering::Relaxed) >= 2);
        release_stream(s);
    }
}

#[test]
fn future_read_timeout_rule() {
    let f = native_future_create(4, 4);
    assert!(!f.is_null());
    let mut out = 0u32;
    let out_ptr = ptr::from_mut(&mut out).cast::<c_void>();
    // SAFETY: `f` is live (we hold both handles); `out` is writable for 4 bytes.
    unsafe {
        assert_eq!(
            native_future_read(f, out_ptr, 4, 0),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(
            native_future_read(f, out_ptr, 4, MS),
            NATIVE_STREAM_ERR_TIMEOUT
        );
        assert_eq!(out, 0, "out-parameters are written only on OK");
        let v = 9u32;
        assert_eq!(
            native_future_write(f, ptr::from_ref(&v).cast(), 4),
            NATIVE_STREAM_OK
        );
        assert_eq!(native_future_read(f, out_ptr, 4, 0), NATIVE_STREAM_OK);
        assert_eq!(out, 9);
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
    }
}

/// A future of zero-size elements is written and read with null pointers; a null pointer is
/// refused only with a non-zero size.
#[test]
fn zero_size_future_needs_no_pointer() {
    let f = native_future_create(0, 1);
    assert!(!f.is_null());
    // SAFETY: `f` is live (we hold both handles); no pointer is dereferenced for 0 bytes.
    unsafe {
        assert_eq!(
            native_future_read(f, ptr::null_mut(), 0, 0),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(native_future_is_ready(f), 0);
        assert_eq!(native_future_write(f, ptr::null(), 0), NATIVE_STREAM_OK);
        assert_eq!(native_future_is_ready(f), 1);
        assert_eq!(
            native_future_write(f, ptr::null(), 0),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(
            native_future_read(f, ptr::null_mut(), 0, -1),
            NATIVE_STREAM_OK
        );
        assert_eq!(
            native_future_read(f, ptr::null_mut(), 0, -1),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
    }

    let f = native_future_create(8, 8);
    assert!(!f.is_null());
    // SAFETY: as above; the null pointers come with a non-zero size and must be refused.
    unsafe {
        assert_eq!(
            native_future_write(f, ptr::null(), 8),
            NATIVE_STREAM_ERR_NULL
        );
        assert_eq!(
            native_future_read(f, ptr::null_mut(), 8, 0),
            NATIVE_STREAM_ERR_NULL
        );
        // The wrong size is the first fault of a null pointer with size 0.
        assert_eq!(
            native_future_write(f, ptr::null(), 0),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
    }
}

/// Every call acting for the reader end answers `RELEASED` once its handles are released,
/// while the writer handle keeps the stream alive; and the reverse.
#[test]
fn calls_for_a_released_end_answer_released() {
    let mut buf = [0u64; 2];
    let mut amount = 0;
    let mut delivered = 0;
    let mut addr = ptr::null_mut();
    let mut cap = 0;

    let s = stream();
    // SAFETY: `s` stays alive through its writer handle until the last release below.
    unsafe {
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
        for (name, rc) in [
            (
                "start_reading",
                native_stream_start_reading(s, buf.as_mut_ptr().cast(), 2),
            ),
            ("read_amount", native_stream_read_amount(s, &mut amount)),
            ("wait_read", native_stream_wait_read(s, 0, &mut amount)),
            ("cancel_read", native_stream_cancel_read(s, &mut delivered)),
            ("clone_reader", native_stream_clone_reader(s)),
            ("release_reader", native_stream_release_reader(s)),
        ] {
            assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED, "{name}");
        }
        // Not acting for the released end: the end is seen as closed.
        assert_eq!(native_stream_is_read_closed(s), 1);
        assert_eq!(native_stream_close_read(s), NATIVE_STREAM_ERR_CLOSED);
        assert_eq!(native_stream_wait_writable(s, 0), NATIVE_STREAM_ERR_CLOSED);
        assert_eq!(
            native_stream_start_writing(s, &mut addr, &mut cap),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
    }

    let s = stream();
    // SAFETY: `s` stays alive through its reader handle until the last release below.
    unsafe {
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
        for (name, rc) in [
            (
                "start_writing",
                native_stream_start_writing(s, &mut addr, &mut cap),
            ),
            ("finish_writing", native_stream_finish_writing(s, 1)),
            ("clone_writer", native_stream_clone_writer(s)),
            ("release_writer", native_stream_release_writer(s)),
        ] {
            assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED, "{name}");
        }
        assert_eq!(native_stream_close_write(s), NATIVE_STREAM_ERR_CLOSED);
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), 2),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
    }

    let f = native_future_create(8, 8);
    assert!(!f.is_null());
    // SAFETY: `f` stays alive through the handle of the other end until its release.
    unsafe {
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
        assert_eq!(
            native_future_write(f, buf.as_ptr().cast(), 8),
            NATIVE_STREAM_ERR_RELEASED
        );
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_ERR_RELEASED);
        assert_eq!(
            native_future_read(f, buf.as_mut_ptr().cast(), 8, 0),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
    }
    let f = native_future_create(8, 8);
    assert!(!f.is_null());
    // SAFETY: as above.
    unsafe {
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
        assert_eq!(
            native_future_read(f, buf.as_mut_ptr().cast(), 8, 0),
            NATIVE_STREAM_ERR_RELEASED
        );
        assert_eq!(
            native_future_write(f, buf.as_ptr().cast(), 8),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
    }
}

/// A count that a committed `ptrdiff_t` count could not reach is refused before anything is
/// lent; a zero-count probe still needs an address.
#[test]
fn start_reading_counts_and_addresses() {
    let s = stream();
    let mut buf = [0u8; 1];
    // SAFETY: `s` is live; nothing is lent by the refused calls, and the probe's read ends
    // below, before `buf` goes away.
    unsafe {
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), isize::MAX as usize + 1),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(native_stream_is_read_pending(s), 0);
        assert_eq!(
            native_stream_start_reading(s, ptr::null_mut(), 0),
            NATIVE_STREAM_ERR_NULL
        );
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), 0),
            NATIVE_STREAM_OK
        );
        let mut delivered = 9;
        assert_eq!(
            native_stream_cancel_read(s, &mut delivered),
            NATIVE_STREAM_OK
        );
        assert_eq!(delivered, 0);
        release_stream(s);
    }
}
