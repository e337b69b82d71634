//! The open lend through C: a reader lends a ring once and consumes what the writer publishes
//! into it (`docs/design.md`, "The open lend"). Writers need nothing new: their
//! `native_stream_start_writing` is handed the ring's free part as a buffer.

use stream_abi::{open_capacity_ok, OpenLend, StreamHeader};

use crate::status::{
    check_out, guard, stream, wait_on, Raw, NATIVE_STREAM_ERR_CLOSED, NATIVE_STREAM_ERR_INVALID,
    NATIVE_STREAM_ERR_NOT_PENDING, NATIVE_STREAM_ERR_NULL, NATIVE_STREAM_OK,
};
use crate::stream::{acting_for, read_error, End};

/// Checks that the caller acts for the reader end and that its pending read is an open lend.
fn open_lend_pending(raw: &Raw) -> Result<(), i32> {
    acting_for(raw, End::Reader)?;
    if raw.is_open_lend() {
        Ok(())
    } else {
        Err(NATIVE_STREAM_ERR_NOT_PENDING)
    }
}

/// Lends the ring that `lend` describes, open (positions 0 and 0), and activates *write
/// ready*. The writer then writes into the ring's free part, commit after commit, without
/// the reader lending again; the reader sees what was published with
/// `native_stream_open_readable`/`native_stream_wait_open`, frees slots with
/// `native_stream_open_consume` and ends the lend with `native_stream_end_open`, before it
/// frees or reuses the ring or the descriptor. While the lend is open, `read_amount`,
/// `wait_read` and `cancel_read` answer `INVALID`.
///
/// # Errors
///
/// `NULL` (`s`, `lend`, or the ring's `buffer`); `INVALID` when `capacity` is not a power of
/// two or above `PTRDIFF_MAX`; `RELEASED`, `CLOSED` and `BUSY` as for
/// `native_stream_start_reading`.
///
/// # Safety
///
/// `s` is null or a live handle of the reader end; `lend` is null or points to a descriptor
/// whose `buffer` is valid for reads and writes of `capacity * element_size` bytes; the
/// descriptor and the ring stay valid and unchanged until the lend ends.
#[no_mangle]
pub unsafe extern "C" fn native_stream_start_reading_open(
    s: *mut StreamHeader,
    lend: *const OpenLend,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        if lend.is_null() {
            return Err(NATIVE_STREAM_ERR_NULL);
        }
        // SAFETY: non-null; readable by the caller's contract.
        let (buffer, capacity) = unsafe { ((*lend).buffer, (*lend).capacity) };
        if buffer.is_null() {
            return Err(NATIVE_STREAM_ERR_NULL);
        }
        if !open_capacity_ok(capacity) || isize::try_from(capacity).is_err() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        acting_for(raw, End::Reader)?;
        // SAFETY: a valid descriptor of a power-of-two ring (checked), valid until the lend
        // ends (the caller's contract); an empty ring needs no initialised slot.
        unsafe { raw.start_reading_open(lend, 0, 0) }.map_err(read_error)?;
        Ok(NATIVE_STREAM_OK)
    })
}

/// Writes the reader's position (elements consumed since the lend opened, wrapping) to
/// `*position` and how many elements were published after it to `*available`: they are at
/// positions `position .. position + available` of the ring (slot `i % capacity`).
///
/// # Errors
///
/// `NULL`; `RELEASED`; `NOT_PENDING` when the pending read is not an open lend (or none is);
/// `CLOSED` when nothing is available and an end closed: end of stream (end the lend).
///
/// # Safety
///
/// `s` is null or a live handle of the reader end whose owner opened the pending lend;
/// `position` and `available` are null or writable.
#[no_mangle]
pub unsafe extern "C" fn native_stream_open_readable(
    s: *mut StreamHeader,
    position: *mut usize,
    available: *mut usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { readable(s, position, available, None) })
}

/// The body of `native_stream_open_readable`, and of `native_stream_wait_open` with
/// `Some(timeout_ns)`: waits under the library's timeout rule first.
///
/// # Safety
///
/// As for `native_stream_open_readable`.
unsafe fn readable(
    s: *mut StreamHeader,
    position: *mut usize,
    available: *mut usize,
    timeout_ns: Option<i64>,
) -> Result<i32, i32> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { stream(s) }?;
    // SAFETY: forwarded from the caller.
    unsafe { check_out(position) }?;
    // SAFETY: forwarded from the caller.
    unsafe { check_out(available) }?;
    open_lend_pending(raw)?;
    let waited = match timeout_ns {
        // SAFETY: the caller owns the pending open lend (checked that one is pending).
        Some(t) => wait_on(raw.read_ready_event(), t, || unsafe {
            raw.is_open_readable()
        }),
        None => Ok(()),
    };
    // SAFETY: as above.
    let (read, n) = unsafe { raw.open_readable() };
    let n = if waited.is_ok() { n } else { 0 };
    // SAFETY: checked non-null; writable by the caller.
    unsafe {
        position.write(read);
        available.write(n);
    }
    waited?;
    if n == 0 && (raw.is_write_closed() || raw.is_read_closed()) {
        return Err(NATIVE_STREAM_ERR_CLOSED);
    }
    Ok(NATIVE_STREAM_OK)
}

/// Marks `count` published elements consumed (the caller copied or dropped them): their
/// slots go back to the writer, and a writer waiting for room wakes.
///
/// # Errors
///
/// `NULL`; `RELEASED`; `NOT_PENDING` as for `native_stream_open_readable`; `INVALID` when
/// `count` is above what `native_stream_open_readable` reports available (nothing changes).
///
/// # Safety
///
/// As for `native_stream_open_readable`.
#[no_mangle]
pub unsafe extern "C" fn native_stream_open_consume(s: *mut StreamHeader, count: usize) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        open_lend_pending(raw)?;
        // SAFETY: the caller owns the pending open lend.
        let (_, available) = unsafe { raw.open_readable() };
        if count > available {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        // SAFETY: as above; `count` elements were published after the position (checked).
        unsafe { raw.open_consume(count) };
        Ok(NATIVE_STREAM_OK)
    })
}

/// Waits until elements are published after the reader's position or an end closes, under
/// the library's timeout rule, then reports as `native_stream_open_readable`.
///
/// # Errors
///
/// As `native_stream_open_readable`; `WOULD_BLOCK` for a zero timeout and `TIMEOUT` for a
/// positive one that passed first (`*available` is then 0).
///
/// # Safety
///
/// As for `native_stream_open_readable`.
#[no_mangle]
pub unsafe extern "C" fn native_stream_wait_open(
    s: *mut StreamHeader,
    timeout_ns: i64,
    position: *mut usize,
    available: *mut usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { readable(s, position, available, Some(timeout_ns)) })
}

/// Ends the open lend: after it the writer no longer touches the ring, and ring and
/// descriptor are the caller's again. `*position` and `*written` receive the final
/// positions: the elements at `position .. written` (slot `i % capacity`) were published and
/// not consumed, and are now the caller's. If the writer holds the ring at that moment (it
/// never waits while it does), waits for its commit under the library's timeout rule.
///
/// # Errors
///
/// `NULL`; `RELEASED`; `NOT_PENDING` as for `native_stream_open_readable`; `WOULD_BLOCK` /
/// `TIMEOUT` when the writer still held the ring (the lend stays open: call again).
///
/// # Safety
///
/// As for `native_stream_open_readable`.
#[no_mangle]
pub unsafe extern "C" fn native_stream_end_open(
    s: *mut StreamHeader,
    timeout_ns: i64,
    position: *mut usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(position) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(written) }?;
        open_lend_pending(raw)?;
        let mut ended = None;
        wait_on(raw.read_ready_event(), timeout_ns, || {
            // SAFETY: the caller owns the pending open lend; once it ended (`ended` is set)
            // the wait stops calling us.
            ended = unsafe { raw.try_end_open() };
            ended.is_some()
        })?;
        let (read, end) = ended.ok_or(NATIVE_STREAM_ERR_NOT_PENDING)?;
        // SAFETY: checked non-null; writable by the caller.
        unsafe {
            position.write(read);
            written.write(end);
        }
        Ok(NATIVE_STREAM_OK)
    })
}
