//! The stream exports: the design's functions on a `native_stream_header *`.

use core::ffi::c_void;
use core::ptr::NonNull;

use stream_abi::{EventWord, StreamHeader, ACTIVE_READER_MASK, ACTIVE_WRITER_ONE, BLOCKED, CLOSED};
use stream_core::{StartReadError, StartWriteError};

use crate::status::{
    check_out, guard, guard_ptr, stream, wait_on, yes, Raw, NATIVE_STREAM_ERR_BUSY,
    NATIVE_STREAM_ERR_CLOSED, NATIVE_STREAM_ERR_INVALID, NATIVE_STREAM_ERR_NOT_PENDING,
    NATIVE_STREAM_ERR_NULL, NATIVE_STREAM_ERR_RELEASED, NATIVE_STREAM_ERR_TOO_MANY_HANDLES,
    NATIVE_STREAM_ERR_WOULD_BLOCK, NATIVE_STREAM_OK,
};

/// Which end a handle belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Reader,
    Writer,
}

/// How many handles of `end` are counted in `active_instances`.
pub(crate) fn handles(raw: &Raw, end: End) -> usize {
    let word = raw.active_instances();
    match end {
        End::Reader => word & ACTIVE_READER_MASK,
        End::Writer => (word / ACTIVE_WRITER_ONE) & ACTIVE_READER_MASK,
    }
}

/// [`NATIVE_STREAM_ERR_RELEASED`] when every handle of `end` was released: a call that acts
/// for that end has no handle to act for.
pub(crate) fn acting_for(raw: &Raw, end: End) -> Result<(), i32> {
    if handles(raw, end) == 0 {
        Err(NATIVE_STREAM_ERR_RELEASED)
    } else {
        Ok(())
    }
}

/// Counts one more handle of `end`.
///
/// # Safety
///
/// `s` is null or a live handle (see [`stream`]).
pub(crate) unsafe fn clone_end(s: *mut StreamHeader, end: End) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        acting_for(raw, end)?;
        let p = NonNull::from(raw);
        // SAFETY: the end has a handle (checked above; the caller acts for it), so the header
        // is alive.
        let counted = unsafe {
            match end {
                End::Reader => Raw::retain_reader(p),
                End::Writer => Raw::retain_writer(p),
            }
        };
        counted
            .map(|()| NATIVE_STREAM_OK)
            .map_err(|_| NATIVE_STREAM_ERR_TOO_MANY_HANDLES)
    })
}

/// Creates a stream with one reader handle and one writer handle.
///
/// Returns null only if the library panicked (allocation failure aborts the process, as in
/// Rust). Release both handles (`native_stream_release_reader`,
/// `native_stream_release_writer`) to free it.
#[no_mangle]
pub extern "C" fn native_stream_create() -> *mut StreamHeader {
    guard_ptr(|| Some(Raw::create_stream().cast::<StreamHeader>().as_ptr()))
}

/// Counts one more reader handle (the design's `active_instances`).
///
/// # Errors
///
/// `NULL`, `RELEASED` (no reader handle is left), `TOO_MANY_HANDLES`.
///
/// # Safety
///
/// `s` is null or a stream handle that is still counted (not after its last release).
#[no_mangle]
pub unsafe extern "C" fn native_stream_clone_reader(s: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { clone_end(s, End::Reader) }
}

/// Counts one more writer handle.
///
/// # Errors
///
/// `NULL`, `RELEASED` (no writer handle is left), `TOO_MANY_HANDLES`.
///
/// # Safety
///
/// As for [`native_stream_clone_reader`].
#[no_mangle]
pub unsafe extern "C" fn native_stream_clone_writer(s: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { clone_end(s, End::Writer) }
}

/// Releases one reader handle. The last reader handle closes the reader end (and ends a read
/// it left pending); the last handle of all frees the stream.
///
/// # Errors
///
/// `NULL`; `RELEASED` when no reader handle is counted (the writer end still holds the
/// stream, so the mistake is visible and nothing changes).
///
/// # Safety
///
/// `s` is null or a stream whose header is still alive; the caller gives up a reader handle
/// and does not use it afterwards.
#[no_mangle]
pub unsafe extern "C" fn native_stream_release_reader(s: *mut StreamHeader) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        acting_for(raw, End::Reader)?;
        // The caller's pointer, not one derived from `raw`: the release may free the
        // allocation, which a pointer derived from a shared reference may not do.
        let p = NonNull::new(s).ok_or(NATIVE_STREAM_ERR_NULL)?.cast::<Raw>();
        // SAFETY: a reader handle is counted and the caller gives it up; if it is the last,
        // the caller owns the pending read, if any.
        unsafe { Raw::release_reader(p) };
        Ok(NATIVE_STREAM_OK)
    })
}

/// Releases one writer handle. The last writer handle closes the writer end (and returns a
/// buffer it left taken); the last handle of all frees the stream.
///
/// # Errors
///
/// `NULL`; `RELEASED` when no writer handle is counted.
///
/// # Safety
///
/// As for [`native_stream_release_reader`], for a writer handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_release_writer(s: *mut StreamHeader) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        acting_for(raw, End::Writer)?;
        // The caller's pointer, not one derived from `raw`: the release may free the
        // allocation, which a pointer derived from a shared reference may not do.
        let p = NonNull::new(s).ok_or(NATIVE_STREAM_ERR_NULL)?.cast::<Raw>();
        // SAFETY: a writer handle is counted and the caller gives it up.
        unsafe { Raw::release_writer(p) };
        Ok(NATIVE_STREAM_OK)
    })
}

pub(crate) fn read_error(e: StartReadError) -> i32 {
    match e {
        StartReadError::Closed => NATIVE_STREAM_ERR_CLOSED,
        StartReadError::Busy => NATIVE_STREAM_ERR_BUSY,
        StartReadError::Empty => NATIVE_STREAM_ERR_WOULD_BLOCK,
    }
}

/// Lends `count` elements at `addr` to the writer and activates *write ready*.
///
/// The element size is agreed between reader and writer; the library never looks into the
/// buffer. End the read with `native_stream_read_amount`/`native_stream_wait_read` returning
/// a count or `NATIVE_STREAM_CLOSED`, or with `native_stream_cancel_read`, before reusing or
/// freeing the buffer. A `count` of 0 is a readiness probe; its `addr` is still handed to the
/// writer, so it must be a non-null address aligned for the element type.
///
/// # Errors
///
/// `NULL` (`s` or `addr`, whatever `count`); `INVALID` for a `count` above `PTRDIFF_MAX` (a
/// committed count must fit `ptrdiff_t`); `RELEASED` when every reader handle was released;
/// `CLOSED` at end of stream or on a closed reader end; `BUSY` when a read is already
/// pending.
///
/// # Safety
///
/// `s` is null or a live handle of the reader end; `addr` is valid for writes of `count`
/// elements until the read ends.
#[no_mangle]
pub unsafe extern "C" fn native_stream_start_reading(
    s: *mut StreamHeader,
    addr: *mut c_void,
    count: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        if addr.is_null() {
            return Err(NATIVE_STREAM_ERR_NULL);
        }
        if isize::try_from(count).is_err() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        acting_for(raw, End::Reader)?;
        // SAFETY: the buffer is valid until the read ends, by the caller.
        unsafe { raw.start_reading(addr, count) }.map_err(read_error)?;
        Ok(NATIVE_STREAM_OK)
    })
}

/// Polls the pending read without blocking. On `OK`, `*amount` is the committed count (the
/// read has ended and the first `*amount` elements of the buffer are valid),
/// `NATIVE_STREAM_CLOSED` (an end closed before the writer took the buffer; the read has
/// ended with nothing), or `NATIVE_STREAM_BLOCKED` (still pending).
///
/// # Errors
///
/// `NULL` (`s` or `amount`); `RELEASED` when every reader handle was released;
/// `NOT_PENDING` when no read is pending.
///
/// # Safety
///
/// `s` is null or a live handle of the reader end whose holder started the pending read;
/// `amount` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn native_stream_read_amount(
    s: *mut StreamHeader,
    amount: *mut isize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(amount) }?;
        acting_for(raw, End::Reader)?;
        if !raw.is_read_pending() {
            return Err(NATIVE_STREAM_ERR_NOT_PENDING);
        }
        if raw.is_open_lend() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        // SAFETY: a read is pending and the caller started it.
        let n = unsafe { raw.read_amount() };
        // SAFETY: checked non-null; writable by the caller.
        unsafe { amount.write(n) };
        Ok(NATIVE_STREAM_OK)
    })
}

/// Waits at most `timeout_ns` nanoseconds (negative: forever; 0: check once, do not wait) for
/// the pending read to end, then reports as `native_stream_read_amount` (`*amount` is a count
/// or `NATIVE_STREAM_CLOSED`).
///
/// # Errors
///
/// `NULL`, `RELEASED`, `NOT_PENDING` as `native_stream_read_amount`; `WOULD_BLOCK` (timeout
/// 0) or `TIMEOUT` (a positive timeout) when the read is still pending (`*amount` is then
/// `NATIVE_STREAM_BLOCKED`; wait again or cancel).
///
/// # Safety
///
/// As for [`native_stream_read_amount`].
#[no_mangle]
pub unsafe extern "C" fn native_stream_wait_read(
    s: *mut StreamHeader,
    timeout_ns: i64,
    amount: *mut isize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(amount) }?;
        acting_for(raw, End::Reader)?;
        if !raw.is_read_pending() {
            return Err(NATIVE_STREAM_ERR_NOT_PENDING);
        }
        if raw.is_open_lend() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        let mut n = BLOCKED;
        let waited = wait_on(raw.read_ready_event(), timeout_ns, || {
            // SAFETY: a read is pending and the caller started it; once it has ended (`n` is
            // not BLOCKED) the wait stops calling us.
            n = unsafe { raw.read_amount() };
            n != BLOCKED
        });
        // SAFETY: checked non-null; writable by the caller.
        unsafe { amount.write(n) };
        waited.map(|()| NATIVE_STREAM_OK)
    })
}

/// Cancels the pending read. If the writer had not taken the buffer, the read ends with 0
/// elements; if it holds it, waits for its commit (a writer never blocks while holding a
/// buffer). `*delivered` (if not null) gets the number of valid elements. Afterwards nothing
/// refers to the buffer.
///
/// # Errors
///
/// `NULL` (`s`); `RELEASED` when every reader handle was released; `NOT_PENDING` when no read
/// is pending.
///
/// # Safety
///
/// `s` is null or a live handle of the reader end whose holder started the pending read;
/// `delivered` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn native_stream_cancel_read(
    s: *mut StreamHeader,
    delivered: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        acting_for(raw, End::Reader)?;
        if !raw.is_read_pending() {
            return Err(NATIVE_STREAM_ERR_NOT_PENDING);
        }
        if raw.is_open_lend() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        // SAFETY: a read is pending and the caller started it.
        let n = unsafe { raw.cancel_read() };
        if !delivered.is_null() {
            // SAFETY: non-null, writable by the caller.
            unsafe { delivered.write(n) };
        }
        Ok(NATIVE_STREAM_OK)
    })
}

/// Takes the lent buffer without blocking: `*addr` and `*capacity` (in elements) describe it,
/// and the caller owns it until `native_stream_finish_writing`. A capacity of 0 is a reader's
/// readiness probe: answer it with `native_stream_finish_writing(s, 0)`.
///
/// # Errors
///
/// `NULL` (`s`, `addr` or `capacity`); `RELEASED` when every writer handle was released;
/// `CLOSED` when either end is closed; `BUSY` when another write is in progress;
/// `WOULD_BLOCK` when no buffer is lent (wait with `native_stream_wait_writable`).
///
/// # Safety
///
/// `s` is null or a live handle of the writer end; the caller finishes the write before it
/// releases that handle; `addr` and `capacity` are null or writable.
#[no_mangle]
pub unsafe extern "C" fn native_stream_start_writing(
    s: *mut StreamHeader,
    addr: *mut *mut c_void,
    capacity: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(addr) }?;
        // SAFETY: forwarded from the caller.
        unsafe { check_out(capacity) }?;
        acting_for(raw, End::Writer)?;
        // SAFETY: the caller acts for a writer handle and finishes the write.
        let (a, n) = unsafe { raw.start_writing() }.map_err(|e| match e {
            StartWriteError::Closed => NATIVE_STREAM_ERR_CLOSED,
            StartWriteError::Busy => NATIVE_STREAM_ERR_BUSY,
            StartWriteError::Blocked => NATIVE_STREAM_ERR_WOULD_BLOCK,
        })?;
        // SAFETY: checked non-null; writable by the caller.
        unsafe {
            addr.write(a);
            capacity.write(n);
        }
        Ok(NATIVE_STREAM_OK)
    })
}

/// Waits at most `timeout_ns` nanoseconds (negative: forever; 0: check once, do not wait)
/// until a buffer is lent (`OK`: `native_stream_start_writing` will find it, unless another
/// writer handle takes it first) or an end is closed.
///
/// # Errors
///
/// `NULL`; `CLOSED` when either end is closed; `WOULD_BLOCK` (timeout 0) or `TIMEOUT` (a
/// positive timeout) when no buffer is lent.
///
/// # Safety
///
/// `s` is null or a live stream handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_wait_writable(s: *mut StreamHeader, timeout_ns: i64) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        let closed = || raw.is_read_closed() || raw.is_write_closed();
        let waited = wait_on(raw.write_ready_event(), timeout_ns, || {
            raw.is_ready_to_write() || closed()
        });
        if closed() {
            Err(NATIVE_STREAM_ERR_CLOSED)
        } else {
            waited.map(|()| NATIVE_STREAM_OK)
        }
    })
}

/// Ends a write: commits `count` elements of the taken buffer (the reader wakes), or with 0
/// returns the buffer (the reader's read stays pending; on a zero-capacity probe, answers
/// it); or, with `NATIVE_STREAM_CLOSED`, closes the writer end as `native_stream_close_write`.
///
/// # Errors
///
/// `NULL`; `RELEASED` when every writer handle was released; `INVALID` for a count above the
/// capacity or negative (the buffer stays taken: finish again with a valid count). On an
/// open lend the capacity is the free region after the writer's position as it is at this
/// call: at least what `native_stream_start_writing` handed out, more if the reader freed
/// slots up to the ring's end meanwhile (the header keeps no copy of the handed length, so a
/// count between the two is not refused; staying within what was handed is the caller's
/// part, as is having written every element it commits);
/// `NOT_PENDING` when no buffer is taken, as far as the state shows (see the crate docs for
/// the cases it cannot see); for `NATIVE_STREAM_CLOSED`, the codes of
/// `native_stream_close_write`.
///
/// # Safety
///
/// `s` is null or a live handle of the writer end; unless `count` is
/// `NATIVE_STREAM_CLOSED`, the caller took the buffer with `native_stream_start_writing` and
/// wrote its first `count` elements.
#[no_mangle]
pub unsafe extern "C" fn native_stream_finish_writing(s: *mut StreamHeader, count: isize) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        if count == CLOSED {
            return close_write(raw);
        }
        acting_for(raw, End::Writer)?;
        if count < 0 {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        // No buffer is taken unless the phase is WRITING (whose it is, with several writer
        // handles, the state cannot tell: see the crate docs).
        if !raw.is_writing() {
            return Err(NATIVE_STREAM_ERR_NOT_PENDING);
        }
        // SAFETY: the caller holds the buffer and wrote `count` elements (a count above the
        // capacity is refused by `finish_writing`, which then changes nothing).
        if unsafe { raw.finish_writing(count) } {
            Ok(NATIVE_STREAM_OK)
        } else {
            Err(NATIVE_STREAM_ERR_INVALID)
        }
    })
}

fn close_write(raw: &Raw) -> Result<i32, i32> {
    // One atomic step decides which of two racing closes was first.
    if raw.close_write() {
        Ok(NATIVE_STREAM_OK)
    } else {
        Err(NATIVE_STREAM_ERR_CLOSED)
    }
}

/// Closes the reader end: writes fail from now on and a waiting writer wakes. A pending read
/// is woken and still has to be ended (`read_amount`, `wait_read` or `cancel_read`).
///
/// # Errors
///
/// `NULL`; `CLOSED` when the reader end was already closed (nothing changes).
///
/// # Safety
///
/// `s` is null or a live stream handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_close_read(s: *mut StreamHeader) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        // One atomic step decides which of two racing closes was first.
        if raw.close_read() {
            Ok(NATIVE_STREAM_OK)
        } else {
            Err(NATIVE_STREAM_ERR_CLOSED)
        }
    })
}

/// Closes the writer end: end of stream after the elements already committed.
///
/// # Errors
///
/// `NULL`; `CLOSED` when the writer end was already closed (nothing changes).
///
/// # Safety
///
/// `s` is null or a live stream handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_close_write(s: *mut StreamHeader) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }?;
        close_write(raw)
    })
}

macro_rules! predicate {
    ($(#[$doc:meta])* $name:ident => $method:ident) => {
        $(#[$doc])*
        ///
        /// Returns 1 (yes) or 0 (no).
        ///
        /// # Errors
        ///
        /// `NULL`.
        ///
        /// # Safety
        ///
        /// `s` is null or a live stream handle.
        #[no_mangle]
        pub unsafe extern "C" fn $name(s: *mut StreamHeader) -> i32 {
            guard(|| {
                // SAFETY: forwarded from the caller.
                let raw = unsafe { stream(s) }?;
                Ok(yes(raw.$method()))
            })
        }
    };
}

predicate! {
    /// Whether a buffer is lent and not yet taken (`native_stream_start_writing` would not
    /// report `WOULD_BLOCK`).
    native_stream_is_ready_to_write => is_ready_to_write
}
predicate! {
    /// Whether the writer end is closed.
    native_stream_is_write_closed => is_write_closed
}
predicate! {
    /// Whether the reader end is closed.
    native_stream_is_read_closed => is_read_closed
}
predicate! {
    /// Whether a read is pending on the reader end.
    native_stream_is_read_pending => is_read_pending
}

/// The *read ready* event of the stream (activated when a count is committed, a taken
/// buffer is returned, or an end closes). Valid while the stream is alive; null if `s` is
/// null.
///
/// # Safety
///
/// `s` is null or a live stream handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_read_ready_event(s: *mut StreamHeader) -> *mut EventWord {
    guard_ptr(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }.ok()?;
        Some(
            core::ptr::from_ref(raw.read_ready_event())
                .cast_mut()
                .cast(),
        )
    })
}

/// The *write ready* event of the stream (activated when a buffer is lent or an end closes).
/// Valid while the stream is alive; null if `s` is null.
///
/// # Safety
///
/// `s` is null or a live stream handle.
#[no_mangle]
pub unsafe extern "C" fn native_stream_write_ready_event(s: *mut StreamHeader) -> *mut EventWord {
    guard_ptr(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(s) }.ok()?;
        Some(
            core::ptr::from_ref(raw.write_ready_event())
                .cast_mut()
                .cast(),
        )
    })
}
