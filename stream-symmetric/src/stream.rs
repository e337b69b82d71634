//! `symmetric:runtime/symmetric-stream@0.3.0`: `stream-obj` on [`RawStream`], and the
//! `buffer` and `address` resources.
//!
//! A `buffer` is a heap object holding an address, a capacity and a size (in elements: the
//! runtime never learns the element size, as the engine never does). It moves between the
//! two ends: `start-reading` lends its memory to the engine ([`RawStream::start_reading`])
//! and parks the object in the stream; the writer's `start-writing` takes the lent memory
//! ([`RawStream::start_writing`]) and gets that same object back; `finish-writing` commits
//! its size ([`RawStream::finish_writing`]); the reader's `read-result` takes the count
//! ([`RawStream::read_amount`]) and gets the object back with its size set. A buffer lent by
//! a Rust [`Reader`](stream_core::Reader) on the same stream has no object: the writer gets a
//! fresh one, freed by `finish-writing`.

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

use stream_core::{RawStream, StartReadError, StartWriteError};
use stream_events::Futex;

use crate::executor::Subscription;
use crate::{guard, write_ret};

/// `read_amount`'s "still pending" and "closed before the writer took the buffer".
const BLOCKED: isize = -1;
const CLOSED: isize = isize::MIN;

/// A `buffer`: caller-provided memory of `capacity` elements, `size` of them valid.
#[derive(Debug)]
pub(crate) struct BufferObj {
    addr: *mut u8,
    capacity: u64,
    size: AtomicU64,
    /// Made by `start-writing` for a buffer that a Rust reader lent; `finish-writing`
    /// frees it.
    foreign: bool,
}

impl BufferObj {
    fn into_handle(self) -> *mut BufferObj {
        Box::into_raw(Box::new(self))
    }

    fn size(&self) -> u64 {
        // ORDERING: Relaxed: the object is handed between threads by the stream's
        // Release/Acquire transitions.
        self.size.load(Ordering::Relaxed)
    }

    fn set_size(&self, n: u64) {
        // ORDERING: Relaxed, as `size`.
        self.size.store(n, Ordering::Relaxed);
    }
}

/// Which ends of a [`RawStream`] a stream object holds a counted handle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// A reader handle only: the object reads (a Rust `Writer` writes).
    Reader,
    /// A writer handle only: the object writes (a Rust `Reader` reads).
    Writer,
    /// Both (what the constructor makes).
    Both,
}

/// A `stream-obj`: one stream, shared by every handle (`clone` adds a handle). Handles are
/// `Arc<StreamObj>` pointers.
#[derive(Debug)]
pub(crate) struct StreamObj {
    raw: NonNull<RawStream<Futex>>,
    ends: Ends,
    /// The reader's pending buffer object, from `start-reading` until the read ends.
    pending: AtomicPtr<BufferObj>,
    /// The buffer object the writer holds, from `start-writing` to `finish-writing`.
    taken: AtomicPtr<BufferObj>,
}

// SAFETY: the header is `Send + Sync`; the buffer objects are handed between threads under
// the stream's phases (the reader's `pending` before the lend, the writer's `taken` while it
// owns phase WRITING), through atomics.
unsafe impl Send for StreamObj {}
// SAFETY: as for `Send`.
unsafe impl Sync for StreamObj {}

impl StreamObj {
    fn new() -> Self {
        Self {
            raw: RawStream::<Futex>::create_stream(),
            ends: Ends::Both,
            pending: AtomicPtr::new(ptr::null_mut()),
            taken: AtomicPtr::new(ptr::null_mut()),
        }
    }

    pub(crate) fn raw(&self) -> &RawStream<Futex> {
        // SAFETY: the object holds a counted handle until it is dropped.
        unsafe { self.raw.as_ref() }
    }

    /// The read-ready condition: a count is waiting, or an end is closed (then a read
    /// result, or its absence, is final).
    pub(crate) fn read_ready(&self) -> bool {
        let raw = self.raw();
        raw.is_read_complete() || raw.is_write_closed() || raw.is_read_closed()
    }

    /// The write-ready condition: a buffer is lent and not taken, or an end is closed.
    pub(crate) fn write_ready(&self) -> bool {
        let raw = self.raw();
        raw.is_ready_to_write() || raw.is_write_closed() || raw.is_read_closed()
    }

    /// `start-reading`: `Err(buffer)` when a read is pending (of this object or of a Rust
    /// reader on the stream), at end of stream, or on a closed reader end.
    fn start_reading(&self, buffer: *mut BufferObj) -> Result<(), *mut BufferObj> {
        // ORDERING: Relaxed CAS claims the slot (the reader end's); the lend below publishes
        // it to the writer with Release.
        if self
            .pending
            .compare_exchange(
                ptr::null_mut(),
                buffer,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(buffer);
        }
        // SAFETY: a live buffer object of the caller's, now the stream's.
        let b = unsafe { &*buffer };
        let capacity = usize::try_from(b.capacity)
            .unwrap_or(usize::MAX)
            .min(isize::MAX as usize);
        let addr = if b.addr.is_null() && capacity == 0 {
            NonNull::<u64>::dangling().as_ptr().cast()
        } else {
            b.addr.cast::<c_void>()
        };
        if b.addr.is_null() && capacity > 0 {
            self.pending.store(ptr::null_mut(), Ordering::Relaxed);
            return Err(buffer);
        }
        // SAFETY: the buffer's owner promised `capacity` elements at `addr` until the read
        // ends (the generated code keeps its memory alive until `read-result` or `close-read`
        // gives the buffer back).
        match unsafe { self.raw().start_reading(addr, capacity) } {
            Ok(()) => Ok(()),
            Err(StartReadError::Busy | StartReadError::Closed | StartReadError::Empty) => {
                // ORDERING: Relaxed: nothing was lent, the slot is still the reader end's.
                self.pending.store(ptr::null_mut(), Ordering::Relaxed);
                Err(buffer)
            }
        }
    }

    /// `read-result`: the buffer with its count, or `None` (no result yet, or end of stream).
    fn read_result(&self) -> Option<*mut BufferObj> {
        // ORDERING: Relaxed: the slot is the reader end's.
        let b = self.pending.load(Ordering::Relaxed);
        if b.is_null() {
            return None;
        }
        // SAFETY: `pending` is set only while this object's read is pending.
        let n = unsafe { self.raw().read_amount() };
        if n == BLOCKED {
            return None;
        }
        self.pending.store(ptr::null_mut(), Ordering::Relaxed);
        if n == CLOSED {
            // The read ended without data (the writer closed, or the reader end was closed,
            // before the buffer was taken): end of stream. The object is ours: free it (its
            // memory is the caller's).
            // SAFETY: the read ended; nothing refers to the object any more.
            drop(unsafe { Box::from_raw(b) });
            return None;
        }
        // SAFETY: the read ended with `n` elements; the object is the caller's again.
        unsafe { &*b }.set_size(n as u64);
        Some(b)
    }

    /// `close-read`: closes the reader end and gives the pending buffer (if any) back, with
    /// the count delivered into it.
    fn close_read(&self) -> Option<*mut BufferObj> {
        self.raw().close_read();
        // ORDERING: Relaxed: the slot is the reader end's.
        let b = self.pending.swap(ptr::null_mut(), Ordering::Relaxed);
        if b.is_null() {
            return None;
        }
        // SAFETY: our read is pending; the cancel waits for a writer that holds the buffer.
        let n = unsafe { self.raw().cancel_read() };
        // SAFETY: the read ended; the object is the caller's again.
        unsafe { &*b }.set_size(n as u64);
        Some(b)
    }

    /// `start-writing`.
    fn start_writing(&self) -> Result<*mut BufferObj, u8> {
        // SAFETY: the object holds a writer handle (or the stream is the caller's to write);
        // the write is ended by `finish-writing` or by the object's drop.
        match unsafe { self.raw().start_writing() } {
            Ok((addr, cap)) => {
                // ORDERING: Relaxed: the lend (Release) that we acquired ordered the
                // reader's store of the slot before it.
                let mine = self.pending.load(Ordering::Relaxed);
                let b = if !mine.is_null()
                    // SAFETY: the slot's object lives while the read is pending.
                    && unsafe { (*mine).addr.cast::<c_void>() == addr && (*mine).capacity as usize >= cap }
                {
                    mine
                } else {
                    BufferObj {
                        addr: addr.cast(),
                        capacity: cap as u64,
                        size: AtomicU64::new(0),
                        foreign: true,
                    }
                    .into_handle()
                };
                // SAFETY: the object is ours while we hold phase WRITING.
                unsafe { &*b }.set_size(0);
                // ORDERING: Relaxed: the slot is the writer's while it writes.
                self.taken.store(b, Ordering::Relaxed);
                Ok(b)
            }
            Err(StartWriteError::Closed) => Err(STATE_EOF),
            Err(StartWriteError::Blocked | StartWriteError::Busy) => Err(STATE_PENDING),
        }
    }

    /// `finish-writing(some(buffer))`: commits the buffer's size. A buffer that is not the
    /// one `start-writing` handed out is ignored (it is not ours to free).
    fn finish_writing(&self, buffer: *mut BufferObj) {
        // ORDERING: Relaxed: the slot is the writer's while it writes.
        if buffer.is_null()
            || self
                .taken
                .compare_exchange(
                    buffer,
                    ptr::null_mut(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        // SAFETY: the object we handed out, ours again.
        let b = unsafe { &*buffer };
        let count = b.size().min(b.capacity).min(isize::MAX as u64) as isize;
        let foreign = b.foreign;
        if foreign {
            // SAFETY: made by `start_writing` for this write only.
            drop(unsafe { Box::from_raw(buffer) });
        }
        // SAFETY: we own phase WRITING; the caller wrote `count` elements (clamped to the
        // capacity) into the buffer.
        let ok = unsafe { self.raw().finish_writing(count) };
        debug_assert!(ok);
    }

    /// `finish-writing(none)`: end of stream. A buffer still held is returned first (its
    /// read stays pending and then ends with end of stream).
    fn close_write(&self) {
        self.return_taken();
        self.raw().close_write();
    }

    fn return_taken(&self) {
        // ORDERING: Relaxed: the slot is the writer's.
        let b = self.taken.swap(ptr::null_mut(), Ordering::Relaxed);
        if b.is_null() {
            return;
        }
        // SAFETY: the object we handed out.
        if unsafe { &*b }.foreign {
            // SAFETY: made by `start_writing` for this write only.
            drop(unsafe { Box::from_raw(b) });
        }
        // SAFETY: we own phase WRITING; 0 returns a buffer with room (and answers a
        // zero-capacity probe).
        unsafe { self.raw().finish_writing(0) };
    }
}

impl Drop for StreamObj {
    fn drop(&mut self) {
        // The last handle: end what the handles left in progress, then give up the ends.
        self.return_taken();
        let b = self.pending.swap(ptr::null_mut(), Ordering::Relaxed);
        if !b.is_null() {
            // SAFETY: our read is pending.
            unsafe { self.raw().cancel_read() };
            // SAFETY: the read ended; nobody else has the object.
            drop(unsafe { Box::from_raw(b) });
        }
        // SAFETY: the handles this object holds, given up once.
        unsafe {
            if matches!(self.ends, Ends::Reader | Ends::Both) {
                RawStream::release_reader(self.raw);
            }
            if matches!(self.ends, Ends::Writer | Ends::Both) {
                RawStream::release_writer(self.raw);
            }
        }
    }
}

/// `stream-state.eof` and `.pending`.
const STATE_EOF: u8 = 0;
const STATE_PENDING: u8 = 1;

/// Makes a `stream-obj` handle on a stream of the engine, for mixing the symmetric
/// interface with Rust [`Reader`](stream_core::Reader)s and [`Writer`](stream_core::Writer)s
/// (made with `stream_core::stream()`, whose backend is [`Futex`]): the handle counts one
/// handle of the chosen `ends` (with `Ends::Writer`, the stream object writes and a Rust
/// reader reads). Release it with `[resource-drop]stream-obj`.
///
/// # Safety
///
/// `raw` is alive (the caller holds a handle of it) and was created with the [`Futex`]
/// backend. The caller keeps to the roles: the object acts only for the ends it holds.
///
/// # Errors
///
/// `None` when an end's handle count is full.
pub unsafe fn adopt_raw_stream(raw: NonNull<RawStream<Futex>>, ends: Ends) -> Option<*mut u8> {
    // SAFETY: alive, by the caller's handle.
    unsafe {
        if matches!(ends, Ends::Reader | Ends::Both) {
            RawStream::retain_reader(raw).ok()?;
        }
        if matches!(ends, Ends::Writer | Ends::Both) && RawStream::retain_writer(raw).is_err() {
            if ends == Ends::Both {
                RawStream::release_reader(raw);
            }
            return None;
        }
    }
    let obj = StreamObj {
        raw,
        ends,
        pending: AtomicPtr::new(ptr::null_mut()),
        taken: AtomicPtr::new(ptr::null_mut()),
    };
    Some(Arc::into_raw(Arc::new(obj)).cast_mut().cast())
}

/// The object behind a live `stream-obj` handle.
///
/// # Safety
///
/// `handle` is a live handle of this library.
unsafe fn obj<'a>(handle: *mut u8) -> &'a StreamObj {
    // SAFETY: the caller's live handle holds a count of the `Arc`.
    unsafe { &*handle.cast::<StreamObj>() }
}

/// A new handle to the object behind `handle`, as an `Arc`.
///
/// # Safety
///
/// As for [`obj`].
unsafe fn obj_arc(handle: *mut u8) -> Arc<StreamObj> {
    let p = handle.cast::<StreamObj>().cast_const();
    // SAFETY: the caller's live handle holds a count.
    unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    }
}

mod exports;
pub use exports::*;
