//! A C future (`native_future_create`) driven from Rust through the exported functions of the
//! rlib, the code the `cdylib` exports: `native_future_write` against values delivered, and
//! slots held, through the stream functions on the same header, as C code may do by hand.
//! `tests/c/ffi_test.c` runs the same sequences from C.

use std::ffi::c_void;
use std::ptr;

use stream_abi::StreamHeader;
use stream_ffi::*;

const FIRST: u64 = 0x1111_2222_3333_4444;
const SECOND: u64 = 0x5555_6666_7777_8888;

fn future_u64() -> *mut StreamHeader {
    let f = native_future_create(8, 8);
    assert!(!f.is_null());
    f
}

/// Takes the slot with `native_stream_start_writing` and writes `value` into it.
///
/// # Safety
///
/// `f` is a live future of 8-byte elements; the caller finishes the write.
unsafe fn take_slot_and_fill(f: *mut StreamHeader, value: u64) {
    let mut addr = ptr::null_mut::<c_void>();
    let mut cap = 0;
    // SAFETY: by the caller; the out-parameters are valid.
    let rc = unsafe { native_stream_start_writing(f, &mut addr, &mut cap) };
    assert_eq!(rc, NATIVE_STREAM_OK);
    assert_eq!(cap, 1);
    // SAFETY: the taken slot holds one 8-byte element (the future's size and alignment).
    unsafe { addr.cast::<u64>().write(value) };
}

/// Reads the future without waiting.
///
/// # Safety
///
/// `f` is a live future of 8-byte elements with a reader handle.
unsafe fn read_now(f: *mut StreamHeader) -> (i32, u64) {
    let mut out = 0u64;
    // SAFETY: by the caller; `out` is writable for 8 bytes.
    let rc = unsafe { native_future_read(f, ptr::from_mut(&mut out).cast(), 8, 0) };
    (rc, out)
}

/// Releases both handles (the last one frees the future).
///
/// # Safety
///
/// `f` is a live future whose two handles are still counted.
unsafe fn release_both(f: *mut StreamHeader) {
    // SAFETY: by the caller.
    unsafe {
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
    }
}

#[test]
fn future_write_after_a_delivery_and_close_by_the_stream_functions_is_closed() {
    let f = future_u64();
    // SAFETY: `f` is live (we hold both handles) and holds 8-byte elements.
    unsafe {
        take_slot_and_fill(f, FIRST);
        assert_eq!(native_stream_finish_writing(f, 1), NATIVE_STREAM_OK);
        assert_eq!(native_stream_close_write(f), NATIVE_STREAM_OK);
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(read_now(f), (NATIVE_STREAM_OK, FIRST));
        release_both(f);
    }
}

/// The soundness bug fixed by claiming the slot first: the old `native_future_write` copied
/// its value into the slot before it looked at the phase, so a value delivered (and not yet
/// read) through the stream functions was overwritten, and the reader got the second value
/// although the write reported `CLOSED`.
#[test]
fn future_write_after_a_delivery_by_the_stream_functions_keeps_the_first_value() {
    let f = future_u64();
    // SAFETY: as above.
    unsafe {
        take_slot_and_fill(f, FIRST);
        assert_eq!(native_stream_finish_writing(f, 1), NATIVE_STREAM_OK);
        // The writer end is still open: only the phase (DONE) says the slot is the reader's.
        assert_eq!(native_stream_is_write_closed(f), 0);
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_ERR_CLOSED
        );
        assert_eq!(read_now(f), (NATIVE_STREAM_OK, FIRST));
        release_both(f);
    }
}

/// The same bug with the slot taken: the old write copied into a slot that another writer
/// held (a data race) and then failed.
#[test]
fn future_write_while_another_writer_holds_the_slot_is_busy() {
    let f = future_u64();
    // SAFETY: as above.
    unsafe {
        take_slot_and_fill(f, FIRST);
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_ERR_BUSY
        );
        // Nothing changed: the held write still finishes and is read.
        assert_eq!(native_stream_is_write_closed(f), 0);
        assert_eq!(read_now(f), (NATIVE_STREAM_ERR_WOULD_BLOCK, 0));
        assert_eq!(native_stream_finish_writing(f, 1), NATIVE_STREAM_OK);
        assert_eq!(native_stream_close_write(f), NATIVE_STREAM_OK);
        assert_eq!(read_now(f), (NATIVE_STREAM_OK, FIRST));
        assert_eq!(read_now(f), (NATIVE_STREAM_ERR_CLOSED, 0));
        release_both(f);
    }
}

#[test]
fn future_write_while_the_slot_is_held_then_returned_writes() {
    let f = future_u64();
    // SAFETY: as above.
    unsafe {
        take_slot_and_fill(f, FIRST);
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_ERR_BUSY
        );
        // The holder gives the slot back unwritten: now the future's own write succeeds.
        assert_eq!(native_stream_finish_writing(f, 0), NATIVE_STREAM_OK);
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_OK
        );
        assert_eq!(native_stream_is_write_closed(f), 1);
        assert_eq!(read_now(f), (NATIVE_STREAM_OK, SECOND));
        release_both(f);
    }
}

/// The slot's read ended through the stream functions and another buffer lent in its place:
/// the write must not copy an element of the future's size into a buffer lent for none.
#[test]
fn future_write_never_writes_into_a_buffer_lent_in_the_slots_place() {
    let f = future_u64();
    let mut foreign = [u64::MAX; 2];
    // SAFETY: as above; `foreign` outlives the read, which ends below.
    unsafe {
        let mut delivered = usize::MAX;
        assert_eq!(
            native_stream_cancel_read(f, &mut delivered),
            NATIVE_STREAM_OK
        );
        assert_eq!(delivered, 0);
        assert_eq!(
            native_stream_start_reading(f, foreign.as_mut_ptr().cast(), 0),
            NATIVE_STREAM_OK
        );
        assert_eq!(
            native_future_write(f, ptr::from_ref(&SECOND).cast(), 8),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(
            foreign,
            [u64::MAX; 2],
            "the write touched the foreign buffer"
        );
        // Its read ended with no element, and the writer end is closed.
        let mut amount = -7;
        assert_eq!(native_stream_read_amount(f, &mut amount), NATIVE_STREAM_OK);
        assert_eq!(amount, 0);
        assert_eq!(native_stream_is_write_closed(f), 1);
        assert_eq!(read_now(f), (NATIVE_STREAM_ERR_CLOSED, 0));
        release_both(f);
    }
}

#[test]
fn future_create_that_cannot_allocate_returns_null() {
    // A valid layout that no allocator can serve: null, not an aborted process.
    let huge = isize::MAX as usize - 63;
    assert!(native_future_create(huge, 64).is_null());
    assert!(
        native_future_create(8, 3).is_null(),
        "alignment not a power of two"
    );
    assert!(
        native_future_create(usize::MAX, 1).is_null(),
        "size overflows"
    );
}
