//! The future exports: a stream with a one-element byte slot lent at creation.

use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr::NonNull;
use std::alloc::{alloc, dealloc};

use stream_abi::{EventWord, StreamHeader, BLOCKED};
use stream_core::{Shared, StartWriteError};
use stream_events::Futex;

use crate::status::{
    guard, guard_ptr, stream, wait_on, yes, Raw, NATIVE_STREAM_ERR_BUSY, NATIVE_STREAM_ERR_CLOSED,
    NATIVE_STREAM_ERR_INVALID, NATIVE_STREAM_ERR_NULL, NATIVE_STREAM_OK,
};
use crate::stream::{acting_for, clone_end, End};

/// The slot of a C future: `layout.size()` bytes on the heap, owned by the allocation.
#[derive(Debug)]
pub(crate) struct ByteSlot {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the slot is plain bytes; who may touch them when is decided by the stream's phase
// (the writer before its delivery, the reader after taking the count), as for any lent buffer.
unsafe impl Send for ByteSlot {}
// SAFETY: as for `Send`: `&ByteSlot` gives only the address, accesses follow the phase.
unsafe impl Sync for ByteSlot {}

impl ByteSlot {
    /// The slot, or `None` when the allocator has no memory for it (a C caller asking for an
    /// absurd size gets null back, not an aborted process).
    fn new(layout: Layout) -> Option<Self> {
        let ptr = if layout.size() == 0 {
            // A dangling, aligned address: never read or written (no copy touches it).
            // (`wrapping_add` from null: an address without provenance, no integer cast.)
            // SAFETY: `align` is a non-zero power of two, so the address is non-null.
            unsafe {
                NonNull::new_unchecked(core::ptr::null_mut::<u8>().wrapping_add(layout.align()))
            }
        } else {
            // SAFETY: the size is non-zero.
            NonNull::new(unsafe { alloc(layout) })?
        };
        Some(Self { ptr, layout })
    }

    /// Copies the slot's `layout.size()` bytes from `src` into the slot. A zero-size slot
    /// copies nothing, so `src` may then be null (`copy_nonoverlapping` wants non-null
    /// pointers even for 0 bytes).
    ///
    /// # Safety
    ///
    /// Unless the size is 0: `src` is readable for the size, and the caller owns the slot's
    /// bytes (it holds the slot as its taken buffer).
    unsafe fn fill_from(&self, src: *const u8) {
        if self.layout.size() != 0 {
            // SAFETY: by the caller; the slot is the library's own allocation, distinct
            // from `src`.
            unsafe { core::ptr::copy_nonoverlapping(src, self.ptr.as_ptr(), self.layout.size()) };
        }
    }

    /// Copies the slot's `layout.size()` bytes into `dst`; a zero-size slot copies nothing,
    /// so `dst` may then be null.
    ///
    /// # Safety
    ///
    /// Unless the size is 0: `dst` is writable for the size, and the caller owns the slot's
    /// bytes (it took the delivered count).
    unsafe fn copy_to(&self, dst: *mut u8) {
        if self.layout.size() != 0 {
            // SAFETY: by the caller; the slot is the library's own allocation, distinct
            // from `dst`.
            unsafe { core::ptr::copy_nonoverlapping(self.ptr.as_ptr(), dst, self.layout.size()) };
        }
    }
}

impl Drop for ByteSlot {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `new` with this layout, freed once.
            unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
        }
    }
}

type FutureShared = Shared<Futex, ByteSlot>;

/// The future behind a handle: header and slot.
///
/// # Safety
///
/// `f` is null or a live future handle created by [`native_future_create`].
unsafe fn future<'a>(f: *mut StreamHeader) -> Result<&'a FutureShared, i32> {
    match NonNull::new(f) {
        // SAFETY: by the caller, a live `Shared<Futex, ByteSlot>`, whose header is first.
        Some(p) => Ok(unsafe { p.cast::<FutureShared>().as_ref() }),
        None => Err(NATIVE_STREAM_ERR_NULL),
    }
}

/// Creates a future of one element of `size` bytes aligned to `align`, with one reader
/// handle and one writer handle. The slot lives with the header and is lent at creation, so
/// the write never blocks. A `size` of 0 makes a future that carries no bytes, only the fact
/// that it was written.
///
/// Returns null when `align` is not a power of two, the size overflows or cannot be
/// allocated, or on a panic.
#[no_mangle]
pub extern "C" fn native_future_create(size: usize, align: usize) -> *mut StreamHeader {
    guard_ptr(|| {
        let layout = Layout::from_size_align(size, align).ok()?;
        let shared = FutureShared::create(ByteSlot::new(layout)?);
        // SAFETY: just created; nothing else refers to it yet.
        let s = unsafe { shared.as_ref() };
        // SAFETY: the slot lives as long as the allocation, which outlives the read; the
        // handles are not shared yet.
        unsafe {
            s.header()
                .lend_unshared(s.extra().ptr.as_ptr().cast::<c_void>(), 1)
        };
        Some(shared.cast::<StreamHeader>().as_ptr())
    })
}

/// Writes the value (`size` bytes at `value`, the future's element size) and closes the
/// writer *end*: the reader sees the value, then the end. Never blocks.
///
/// The writer *handle* stays counted: release it with `native_future_release_writer` as
/// after any other call (the future is freed only when both handles are released).
///
/// # Errors
///
/// `NULL` (`f`, or `value` with a non-zero `size`: a zero-size future is written with a null
/// `value`); `INVALID` when `size` is not the element size, or when the future's slot is no
/// longer its pending read (its read was ended, and another buffer lent, through the stream
/// functions: nothing is written into that buffer, its read ends with 0 elements and the
/// writer end is closed); `RELEASED` when every writer handle was released; `CLOSED` when the
/// reader end is closed (the value was not delivered), the writer end was closed, or a value
/// was already delivered (also through `native_stream_start_writing`/`finish_writing`);
/// `BUSY` when another writer holds the slot (between its `native_stream_start_writing` and
/// `finish_writing`). On `NULL`, `RELEASED`, `CLOSED` and `BUSY` the slot and the future are
/// left as they were: the value is copied only after this call has taken the slot.
///
/// # Safety
///
/// `f` is null or a live writer handle of a future from [`native_future_create`]; `value` is
/// null or readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn native_future_write(
    f: *mut StreamHeader,
    value: *const c_void,
    size: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let shared = unsafe { future(f) }?;
        let slot = shared.extra();
        if size != slot.layout.size() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        if value.is_null() && size != 0 {
            return Err(NATIVE_STREAM_ERR_NULL);
        }
        let header = shared.header();
        acting_for(header, End::Writer)?;
        // Claim the slot, then copy into it, then deliver and close: if the value was
        // delivered already, an end is closed or another writer holds the slot, nothing is
        // written and nothing changes. A taken buffer that is not the slot (lent by a stream
        // reader on this header) is answered with 0 elements, untouched.
        let fill = |addr: *mut c_void, capacity: usize| {
            if addr != slot.ptr.as_ptr().cast::<c_void>() || capacity != 1 {
                return 0;
            }
            // SAFETY: `value` is readable for `size` bytes, the slot's size, or that size is
            // 0; the slot is the buffer `write_and_close` took, so its bytes are ours.
            unsafe { slot.fill_from(value.cast::<u8>()) };
            1
        };
        // SAFETY: the caller acts for a writer handle it holds (counted above); `fill` writes
        // only into the slot and only once it is the taken buffer (checked by its address and
        // capacity), counts what it wrote (1 element or none), and does not unwind.
        let written = unsafe { header.write_and_close(fill) };
        match written {
            Ok(1) => Ok(NATIVE_STREAM_OK),
            Ok(_) => Err(NATIVE_STREAM_ERR_INVALID),
            Err(StartWriteError::Busy) => Err(NATIVE_STREAM_ERR_BUSY),
            Err(_) => Err(NATIVE_STREAM_ERR_CLOSED),
        }
    })
}

/// Waits at most `timeout_ns` nanoseconds (negative: forever; 0: check once, do not wait) for
/// the value and copies it (`size` bytes) to `out`.
///
/// # Errors
///
/// `NULL` (`f`, or `out` with a non-zero `size`: a zero-size future is read with a null
/// `out`); `INVALID` when `size` is not the element size; `RELEASED` when every reader handle
/// was released; `CLOSED` when the writer closed without a value or the value was already
/// read; `WOULD_BLOCK` (timeout 0) or `TIMEOUT` (a positive timeout) when not written yet
/// (the future stays readable).
///
/// # Safety
///
/// `f` is null or a live reader handle of a future from [`native_future_create`]; no other
/// reader handle reads concurrently; `out` is null or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn native_future_read(
    f: *mut StreamHeader,
    out: *mut c_void,
    size: usize,
    timeout_ns: i64,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let shared = unsafe { future(f) }?;
        let slot = shared.extra();
        if size != slot.layout.size() {
            return Err(NATIVE_STREAM_ERR_INVALID);
        }
        if out.is_null() && size != 0 {
            return Err(NATIVE_STREAM_ERR_NULL);
        }
        let header = shared.header();
        acting_for(header, End::Reader)?;
        if !header.is_read_pending() {
            return Err(NATIVE_STREAM_ERR_CLOSED);
        }
        let mut amount = BLOCKED;
        wait_on(header.read_ready_event(), timeout_ns, || {
            // SAFETY: the slot lent at creation is the pending read, owned by the reader end,
            // and the caller is its only reader; once it ended the wait stops calling us.
            amount = unsafe { header.read_amount() };
            amount != BLOCKED
        })?;
        match amount {
            1 => {
                // SAFETY: `read_amount` took the count (DONE -> IDLE): the writer's copy
                // happened before its Release delivery, which we acquired; `out` is writable
                // for `size` bytes (or `size` is 0).
                unsafe { slot.copy_to(out.cast::<u8>()) };
                Ok(NATIVE_STREAM_OK)
            }
            // The read ended without the value: closed before a write (CLOSED), or answered
            // with 0 elements (a write that found another buffer lent in the slot's place);
            // or it was not the slot's read at all (another count: a buffer lent in its
            // place and written through the stream functions).
            _ => Err(NATIVE_STREAM_ERR_CLOSED),
        }
    })
}

/// Whether a read would not block: the value is there, or the future is closed. Returns 1
/// or 0.
///
/// # Errors
///
/// `NULL`.
///
/// # Safety
///
/// `f` is null or a live handle of a future from [`native_future_create`].
#[no_mangle]
pub unsafe extern "C" fn native_future_is_ready(f: *mut StreamHeader) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let header = unsafe { future(f) }?.header();
        Ok(yes(!header.is_read_pending() || header.is_write_closed()))
    })
}

/// The *read ready* event of the future, activated when the value is written or an end
/// closes; wait on it with `native_stream_event_wait` and a condition that calls
/// `native_future_is_ready`. Valid while the future is alive; null if `f` is null.
///
/// # Safety
///
/// `f` is null or a live handle of a future from [`native_future_create`].
#[no_mangle]
pub unsafe extern "C" fn native_future_read_ready_event(f: *mut StreamHeader) -> *mut EventWord {
    guard_ptr(|| {
        // SAFETY: forwarded from the caller.
        let header: &Raw = unsafe { future(f) }.ok()?.header();
        Some(
            core::ptr::from_ref(header.read_ready_event())
                .cast_mut()
                .cast(),
        )
    })
}

/// Counts one more reader handle of the future.
///
/// # Errors
///
/// `NULL`, `RELEASED`, `TOO_MANY_HANDLES`.
///
/// # Safety
///
/// `f` is null or a future handle that is still counted.
#[no_mangle]
pub unsafe extern "C" fn native_future_clone_reader(f: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller; the header is first in the future's allocation.
    unsafe { clone_end(f, End::Reader) }
}

/// Counts one more writer handle of the future.
///
/// # Errors
///
/// `NULL`, `RELEASED`, `TOO_MANY_HANDLES`.
///
/// # Safety
///
/// As for [`native_future_clone_reader`].
#[no_mangle]
pub unsafe extern "C" fn native_future_clone_writer(f: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller; the header is first in the future's allocation.
    unsafe { clone_end(f, End::Writer) }
}

/// Releases one reader handle of the future. The last one closes the reader end (a value
/// written and not read is discarded); the last handle of all frees the future.
///
/// # Errors
///
/// `NULL`; `RELEASED` when no reader handle is counted.
///
/// # Safety
///
/// `f` is null or a future from [`native_future_create`] that is still alive; the caller gives
/// up a reader handle and does not use it afterwards.
#[no_mangle]
pub unsafe extern "C" fn native_future_release_reader(f: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { release(f, End::Reader) }
}

/// Releases one writer handle of the future. The last one closes the writer end if
/// `native_future_write` has not (without a write, the reader sees the future closed). Needed
/// after a write too: writing closes the end, not the handle.
///
/// # Errors
///
/// `NULL`; `RELEASED` when no writer handle is counted.
///
/// # Safety
///
/// As for [`native_future_release_reader`], for a writer handle.
#[no_mangle]
pub unsafe extern "C" fn native_future_release_writer(f: *mut StreamHeader) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { release(f, End::Writer) }
}

/// Releases one handle of `end`.
///
/// # Safety
///
/// As for [`native_future_release_reader`].
unsafe fn release(f: *mut StreamHeader, end: End) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { stream(f) }?;
        acting_for(raw, end)?;
        // The caller's pointer, not one derived from `raw`: the release may free the
        // allocation, which a pointer derived from a shared reference may not do.
        let p = NonNull::new(f)
            .ok_or(NATIVE_STREAM_ERR_NULL)?
            .cast::<FutureShared>();
        // SAFETY: a handle of `end` is counted and the caller gives it up; the allocation is
        // a `Shared<Futex, ByteSlot>` from `native_future_create`. The last reader handle owns
        // the pending read of the slot (the future's only read), which the release ends.
        unsafe {
            match end {
                End::Reader => FutureShared::release_reader(p),
                End::Writer => FutureShared::release_writer(p),
            }
        };
        Ok(NATIVE_STREAM_OK)
    })
}
