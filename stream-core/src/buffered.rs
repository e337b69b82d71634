//! A reader that owns the buffer it lends, so that a read can stay pending across calls.

use core::ffi::c_void;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use stream_abi::{BLOCKED, CLOSED};
use stream_events::{AsyncBackend, Backend, DefaultBackend};

use crate::error::{ReadError, TryReadError};
use crate::raw::{RawStream, StartReadError};
use crate::reader::Reader;

/// A page: buffers of at least this many bytes are page-aligned.
const PAGE: usize = 4096;

/// A [`Reader`] with a buffer of its own: it lends that buffer, and a read may stay pending
/// between calls, as async code and event loops need.
///
/// A [`Reader::read_uninit`] lends the caller's buffer and must end the read before it returns,
/// because the borrow of that buffer ends then. A `BufferedReader` lends its own heap buffer,
/// which lives as long as the reader does, so [`poll_fill`](Self::poll_fill) can return
/// `Pending` with the buffer still lent: whatever happens to the caller (a dropped or even
/// leaked future), the writer never writes into memory that was given back or freed. The
/// reader's `Drop` never waits: it ends a pending read before it frees the buffer, or, if the
/// writer is copying into the buffer at that moment, hands read and buffer to the stream, and
/// the writer's commit (or return) then drops what it wrote and frees the buffer.
///
/// Elements arrive in the buffer (one copy, from the writer's hands), and are taken from its
/// front: [`buffer`](Self::buffer) and [`consume`](Self::consume) to use them in place,
/// [`pop`](Self::pop) or [`drain_into`](Self::drain_into) to move them out. The buffer is lent
/// again only once it is empty, as a whole. A buffer of a page (4 KiB) or more starts at a
/// page boundary.
///
/// # Examples
///
/// ```
/// use stream_core::BufferedReader;
///
/// let (mut writer, reader) = stream_core::stream::<u32>();
/// let mut reader = BufferedReader::new(reader, 16);
/// let t = std::thread::spawn(move || writer.write_slice(&[1, 2, 3]));
/// assert_eq!(reader.fill(), Ok(3));
/// assert_eq!(reader.buffer(), [1, 2, 3]);
/// reader.consume(2);
/// assert_eq!(reader.pop(), Some(3));
/// assert_eq!(t.join().unwrap(), Ok(3));
/// assert!(reader.fill().is_err()); // the writer was dropped: end of stream
/// ```
pub struct BufferedReader<T, B: Backend = DefaultBackend> {
    reader: Reader<T, B>,
    /// `capacity` slots, from `Box<[MaybeUninit<T>]>`; kept as a raw pointer (not a `Box`)
    /// so that moving the reader never asserts unique access to memory the writer may be
    /// writing.
    buf: NonNull<MaybeUninit<T>>,
    capacity: usize,
    /// Slots `head..tail` hold delivered elements not yet taken (only while not pending).
    head: usize,
    tail: usize,
    /// The whole buffer is lent (a read is pending on the reader end, owned by us).
    pending: bool,
}

// SAFETY: the reader moves `T`s between threads as a `Reader` does (`T: Send`); the buffer is
// owned by the `BufferedReader` and travels with it.
unsafe impl<T: Send, B: Backend> Send for BufferedReader<T, B> {}
// SAFETY: `&BufferedReader` gives `&[T]` (needs `T: Sync`) and the `Reader`'s shared methods.
unsafe impl<T: Send + Sync, B: Backend> Sync for BufferedReader<T, B> {}

impl<T, B: Backend> BufferedReader<T, B> {
    /// Wraps `reader` with a buffer of `capacity` elements (at least 1), allocated once.
    pub fn new(reader: Reader<T, B>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            reader,
            buf: alloc_buffer(capacity),
            capacity,
            head: 0,
            tail: 0,
            pending: false,
        }
    }

    /// The reader end, for [`close`](Reader::close) and the predicates.
    pub fn reader(&self) -> &Reader<T, B> {
        &self.reader
    }

    /// How many elements the buffer holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the buffer is lent (a read is pending).
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// The delivered elements not yet taken, oldest first.
    pub fn buffer(&self) -> &[T] {
        // SAFETY: slots `head..tail` are initialised and ours (not lent: `tail == head` while
        // pending); the shared borrow of `self` keeps them alive and unchanged.
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().add(self.head).cast(), self.len()) }
    }

    /// The delivered elements not yet taken, mutably.
    pub fn buffer_mut(&mut self) -> &mut [T] {
        // SAFETY: as for `buffer`, with the exclusive borrow of `self`.
        unsafe {
            core::slice::from_raw_parts_mut(self.buf.as_ptr().add(self.head).cast(), self.len())
        }
    }

    fn len(&self) -> usize {
        self.tail - self.head
    }

    /// Drops the first `n` buffered elements.
    ///
    /// # Panics
    ///
    /// If fewer than `n` are buffered.
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.len(), "consumed {n} of {} elements", self.len());
        let start = self.head;
        // Advance first: if a drop panics, `drop_in_place` still drops the rest of the range
        // (as `Vec` does), and none is counted as buffered any more, so none is dropped twice.
        self.head += n;
        // SAFETY: slots `start..start + n` were initialised and are no longer counted as
        // buffered, so they are dropped exactly once.
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(
                self.buf.as_ptr().add(start).cast::<T>(),
                n,
            ));
        }
    }

    /// Takes the first buffered element, if any.
    pub fn pop(&mut self) -> Option<T> {
        if self.head == self.tail {
            return None;
        }
        let i = self.head;
        self.head += 1;
        // SAFETY: slot `i` was initialised and is no longer counted as buffered: moved out
        // once.
        Some(unsafe { self.buf.as_ptr().add(i).read().assume_init() })
    }

    /// Moves up to `max` buffered elements to the end of `vec`; returns how many.
    pub fn drain_into(&mut self, vec: &mut Vec<T>, max: usize) -> usize {
        let n = self.len().min(max);
        vec.reserve(n);
        // SAFETY: slots `head..head + n` are initialised; they are copied bitwise into the
        // reserved spare capacity and then counted by `vec` and no longer by us, so each is
        // owned (and dropped) once.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.buf.as_ptr().add(self.head).cast::<T>(),
                vec.as_mut_ptr().add(vec.len()),
                n,
            );
            self.head += n;
            vec.set_len(vec.len() + n);
        }
        n
    }

    /// Blocks until elements are buffered and returns how many are.
    ///
    /// Returns at once if some are buffered already; otherwise lends the (empty) buffer, or
    /// continues a read left pending by [`poll_fill`](Self::poll_fill).
    ///
    /// # Errors
    ///
    /// [`ReadError::Closed`] at end of stream or on a closed reader end, with nothing
    /// buffered; [`ReadError::Busy`] when another handle of the reader end is reading.
    pub fn fill(&mut self) -> Result<usize, ReadError> {
        loop {
            if self.len() > 0 {
                return Ok(self.len());
            }
            self.start()?;
            let Self {
                reader,
                pending,
                tail,
                capacity,
                ..
            } = self;
            let raw = reader.raw();
            let mut amount = BLOCKED;
            raw.read_ready_event().wait_until(|| {
                // SAFETY: we own the pending read (`start` lent our buffer).
                amount = unsafe { raw.read_amount() };
                settle(pending, tail, *capacity, amount)
            });
            // Decide on what `read_amount` said, not on the wait's answer.
            if amount == CLOSED {
                return Err(ReadError::Closed);
            }
        }
    }

    /// Never blocks: returns the number of buffered elements if some are buffered or the
    /// pending read has ended with a count; otherwise lends the buffer (if it is not lent
    /// yet) and returns [`TryReadError::Empty`], leaving the read pending for the next call.
    ///
    /// Unlike [`Reader::try_read_uninit`], this does not need a writer waiting: the lend stays in
    /// place for a writer that comes later. For event loops that poll.
    ///
    /// # Errors
    ///
    /// [`TryReadError::Empty`] while nothing was delivered; otherwise as
    /// [`fill`](Self::fill).
    pub fn try_fill(&mut self) -> Result<usize, TryReadError> {
        loop {
            if self.len() > 0 {
                return Ok(self.len());
            }
            self.start().map_err(|e| match e {
                ReadError::Closed => TryReadError::Closed,
                ReadError::Busy => TryReadError::Busy,
            })?;
            // SAFETY: we own the pending read (`start` lent our buffer).
            let amount = unsafe { self.reader.raw().read_amount() };
            settle(&mut self.pending, &mut self.tail, self.capacity, amount);
            match amount {
                BLOCKED => return Err(TryReadError::Empty),
                CLOSED => return Err(TryReadError::Closed),
                _ => {}
            }
        }
    }

    /// Returns `Ready` with the number of buffered elements once some are buffered, or with
    /// an error as [`fill`](Self::fill); otherwise lends the buffer (if it is not lent yet),
    /// registers the task's waker in `registration` and returns `Pending`.
    ///
    /// Keep `registration` (it starts as `Default::default()`) between polls. The buffer
    /// stays lent after `Pending`, whether or not the task polls again: the next
    /// `poll_fill`, [`fill`](Self::fill), [`cancel`](Self::cancel) or the reader's drop ends
    /// that read.
    ///
    /// # Errors
    ///
    /// As [`fill`](Self::fill).
    pub fn poll_fill(
        &mut self,
        registration: &mut B::Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, ReadError>>
    where
        B: AsyncBackend,
    {
        loop {
            if self.len() > 0 {
                return Poll::Ready(Ok(self.len()));
            }
            if let Err(e) = self.start() {
                return Poll::Ready(Err(e));
            }
            let Self {
                reader,
                pending,
                tail,
                capacity,
                ..
            } = &mut *self;
            let raw = reader.raw();
            let mut amount = BLOCKED;
            let polled = raw.read_ready_event().poll_until(
                registration,
                || {
                    // SAFETY: we own the pending read (`start` lent our buffer).
                    amount = unsafe { raw.read_amount() };
                    settle(pending, tail, *capacity, amount)
                },
                cx,
            );
            // Decide on what `read_amount` said, not on the poll's answer.
            match amount {
                CLOSED => return Poll::Ready(Err(ReadError::Closed)),
                BLOCKED if polled.is_pending() => return Poll::Pending,
                // A count (0 answers only a probe, which we never lend: lend again), or a
                // backend that answered `Ready` early: look again.
                _ => {}
            }
        }
    }

    /// Ends a pending read and returns how many elements it delivered (now buffered; 0 if
    /// the writer had not taken the buffer). If the writer is copying into the buffer, waits
    /// for its commit, which is as long as the copy. Returns 0 when no read is pending.
    pub fn cancel(&mut self) -> usize {
        if !self.pending {
            return 0;
        }
        // SAFETY: we own the pending read.
        let n = unsafe { self.reader.raw().cancel_read() };
        settle(&mut self.pending, &mut self.tail, self.capacity, n as isize);
        n
    }

    /// Ends a pending read unless the writer is copying into the buffer at this moment;
    /// never waits. Returns whether no read is pending any more (its delivered elements, if
    /// any, are buffered). A read left pending is ended by the next fill, `cancel` or drop.
    pub fn try_cancel(&mut self) -> bool {
        if !self.pending {
            return true;
        }
        // SAFETY: we own the pending read.
        match unsafe { self.reader.raw().try_cancel_read() } {
            Some(n) => settle(&mut self.pending, &mut self.tail, self.capacity, n as isize),
            None => false,
        }
    }

    /// Lends the whole buffer if no read is pending (the buffer is then empty).
    fn start(&mut self) -> Result<(), ReadError> {
        if self.pending {
            return Ok(());
        }
        debug_assert_eq!(self.len(), 0);
        self.head = 0;
        self.tail = 0;
        let raw: &RawStream<B> = self.reader.raw();
        // SAFETY: the buffer holds `capacity` slots and lives until our drop, which ends the
        // read first; nothing else touches it while it is lent (`head == tail`).
        unsafe { raw.start_reading(self.buf.as_ptr().cast::<c_void>(), self.capacity) }.map_err(
            |e| match e {
                StartReadError::Busy => ReadError::Busy,
                StartReadError::Closed | StartReadError::Empty => ReadError::Closed,
            },
        )?;
        self.pending = true;
        Ok(())
    }
}

/// The layout of an owned read buffer: `capacity` slots, page-aligned from a page's worth of
/// bytes up, else aligned as `T`. A copy between two buffers at different offsets within a
/// page can run an order of magnitude slower than between buffers at the same offset (4K
/// aliasing), so bulk buffers start at a page boundary, as bulk users' own buffers should.
pub(crate) fn buffer_layout<T>(capacity: usize) -> std::alloc::Layout {
    let array =
        std::alloc::Layout::array::<MaybeUninit<T>>(capacity).expect("buffer size overflows");
    if array.size() >= PAGE {
        array.align_to(PAGE).expect("page alignment")
    } else {
        array
    }
}

/// Allocates an owned read buffer of `capacity` slots with [`buffer_layout`] (a dangling
/// pointer when that is zero bytes).
pub(crate) fn alloc_buffer<T>(capacity: usize) -> NonNull<MaybeUninit<T>> {
    let layout = buffer_layout::<T>(capacity);
    if layout.size() == 0 {
        return NonNull::dangling();
    }
    // SAFETY: the size is not zero.
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p.cast::<MaybeUninit<T>>()) {
        Some(p) => p,
        None => std::alloc::handle_alloc_error(layout),
    }
}

/// Frees a buffer from [`alloc_buffer`].
///
/// # Safety
///
/// `buf` came from `alloc_buffer::<T>(capacity)`, nothing refers to it any more, and its
/// elements need no drop (or were dropped).
pub(crate) unsafe fn free_buffer<T>(buf: NonNull<MaybeUninit<T>>, capacity: usize) {
    let layout = buffer_layout::<T>(capacity);
    if layout.size() != 0 {
        // SAFETY: by the caller, allocated with this layout and no longer used.
        unsafe { std::alloc::dealloc(buf.as_ptr().cast(), layout) };
    }
}

/// Records the result of `read_amount` for a pending read: a count or `CLOSED` ends it (a
/// count's elements are buffered from slot 0); `BLOCKED` leaves it pending. Returns whether
/// the read ended. Called inside the wait's condition, so that the bookkeeping is done even
/// if the wait unwinds after the count was taken.
fn settle(pending: &mut bool, tail: &mut usize, capacity: usize, amount: isize) -> bool {
    if amount == BLOCKED {
        return false;
    }
    *pending = false;
    // `CLOSED` delivers nothing. A count is at most the capacity (commits are checked against
    // it); checked again here because `buffer` trusts `tail`.
    let n = usize::try_from(amount).unwrap_or(0);
    assert!(n <= capacity, "a count of {n} for a buffer of {capacity}");
    *tail = n;
    true
}

/// Frees an owned read buffer when dropped: the last step of a drop that first drops
/// elements, so that a panicking element drop does not leak the buffer.
struct FreeOnDrop<T> {
    buf: NonNull<MaybeUninit<T>>,
    capacity: usize,
}

impl<T> Drop for FreeOnDrop<T> {
    fn drop(&mut self) {
        // SAFETY: by whoever made the guard: `buf` came from `alloc_buffer::<T>(capacity)`,
        // nothing refers to it any more, and its elements were dropped (or are being dropped
        // by an unwinding `drop_in_place`, which drops the rest before we run).
        unsafe { free_buffer(self.buf, self.capacity) };
    }
}

/// Drops `count` elements from the front of an owned read buffer and frees it; the buffer is
/// freed even if an element's drop panics (and the other elements are still dropped, as
/// `drop_in_place` on a slice does). The finisher of an orphaned read
/// ([`RawStream::end_read_or_orphan`]): the writer runs it when it ends the read of a reader
/// that was dropped while it held the buffer.
///
/// # Safety
///
/// `addr` came from `alloc_buffer::<T>(capacity)`, is no longer referred to by anyone, and
/// its first `count` elements are initialised.
pub(crate) unsafe fn drop_and_free<T>(addr: *mut c_void, capacity: usize, count: usize) {
    // SAFETY: a buffer from `alloc_buffer` is non-null (dangling when zero-sized).
    let buf = unsafe { NonNull::new_unchecked(addr.cast::<MaybeUninit<T>>()) };
    let _free = FreeOnDrop { buf, capacity };
    // SAFETY: by the caller, the first `count` elements are initialised and ours; each is
    // dropped once, here.
    unsafe {
        core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(addr.cast::<T>(), count));
    }
}

impl<T, B: Backend> Drop for BufferedReader<T, B> {
    /// Ends a pending read, drops the buffered elements and frees the buffer; then the reader
    /// handle is released. Never waits: if the writer holds the buffer at this moment, the
    /// read and the buffer are handed to the stream, and the writer's commit (or return)
    /// drops what it wrote and frees the buffer (`docs/design.md`, "Orphaned reads").
    ///
    /// A panicking element drop does not leak the buffer, nor skip the other elements.
    fn drop(&mut self) {
        if self.pending {
            // SAFETY: we own the pending read, of our own buffer (not the inline word), which
            // came from `alloc_buffer::<T>(capacity)`: `drop_and_free::<T>` may finish it.
            match unsafe { self.reader.raw().end_read_or_orphan(drop_and_free::<T>) } {
                Some(ended) => {
                    let n = ended.unwrap_or(0);
                    settle(&mut self.pending, &mut self.tail, self.capacity, n as isize);
                }
                // Handed over: the buffer is no longer ours to touch or free. The reader
                // handle's release (the field's drop, next) skips the orphaned read.
                None => return,
            }
        }
        let _free = FreeOnDrop {
            buf: self.buf,
            capacity: self.capacity,
        };
        let (start, n) = (self.head, self.len());
        self.head = self.tail;
        // SAFETY: slots `start..start + n` are initialised and no longer counted as
        // buffered, so they are dropped once, here; no read is pending, so the buffer is
        // ours, and the guard frees it after them (also if one of their drops panics).
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(
                self.buf.as_ptr().add(start).cast::<T>(),
                n,
            ));
        }
    }
}

impl<T, B: Backend> fmt::Debug for BufferedReader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferedReader")
            .field("reader", &self.reader)
            .field("capacity", &self.capacity)
            .field("buffered", &self.len())
            .field("pending", &self.pending)
            .finish()
    }
}

#[cfg(all(test, not(stream_loom)))]
mod tests {
    use super::*;
    use stream_events::Spin;

    #[test]
    fn large_buffers_are_page_aligned() {
        let (_w, r) = crate::stream_with::<u8, Spin>();
        let reader = BufferedReader::new(r, 64 * 1024);
        assert_eq!(reader.buf.as_ptr() as usize % PAGE, 0);
        let (_w, r) = crate::stream_with::<u64, Spin>();
        let reader = BufferedReader::new(r, 3);
        assert_eq!(
            reader.buf.as_ptr() as usize % core::mem::align_of::<u64>(),
            0
        );
    }

    #[test]
    fn zero_sized_elements() {
        let (mut w, r) = crate::stream_with::<(), Spin>();
        let mut reader = BufferedReader::new(r, 5);
        let t = std::thread::spawn(move || w.write_vec(&mut vec![(); 7]));
        assert_eq!(reader.fill(), Ok(5));
        assert_eq!(reader.buffer().len(), 5);
        reader.consume(5);
        assert_eq!(t.join().unwrap(), Ok(5));
    }
}
