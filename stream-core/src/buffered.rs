//! A reader that owns the buffer it lends, so that a read can stay pending across calls.

use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use stream_events::{AsyncBackend, Backend, DefaultBackend};

use crate::error::{ReadError, TryReadError};
use crate::open_ring::OpenRing;
use crate::raw::Wait;
use crate::reader::Reader;

/// A page: buffers of at least this many bytes are page-aligned.
const PAGE: usize = 4096;

/// A [`Reader`] with a buffer of its own: it lends that buffer, and a read may stay pending
/// between calls, as async code and event loops need.
///
/// A [`Reader::read_uninit`] lends the caller's buffer and must end the read before it returns,
/// because the borrow of that buffer ends then. A `BufferedReader` lends its own heap buffer,
/// a ring of `capacity` elements (rounded up to a power of two), as an *open lend*: the ring
/// stays lent while the reader takes elements from its front, and the writer writes into the
/// free slots behind them without waiting for the reader to lend again. So
/// [`poll_fill`](Self::poll_fill) can return `Pending` with the ring lent: whatever happens to
/// the caller (a dropped or even leaked future), the writer never writes into memory that was
/// given back or freed. The reader's `Drop` never waits: it ends the lend before it frees the
/// ring, or, if the writer is copying into the ring at that moment, hands the lend to the
/// stream, and the writer's commit (or give-back) then drops what the ring holds and frees it.
///
/// Elements arrive in the ring (one copy, from the writer's hands), and are taken from its
/// front: [`buffer`](Self::buffer) and [`consume`](Self::consume) to use them in place,
/// [`pop`](Self::pop) or [`drain_into`](Self::drain_into) to move them out. A ring of a page
/// (4 KiB) or more starts at a page boundary.
///
/// # Examples
///
/// ```
/// use stream_core::BufferedReader;
///
/// let (mut writer, reader) = stream_core::stream::<u32>();
/// let mut reader = BufferedReader::new(reader, 16);
/// let t = std::thread::spawn(move || {
///     writer.write_slice(&[1, 2])?;
///     writer.write_slice(&[3]) // lands in the ring without waiting for the reader
/// });
/// assert!(reader.fill().unwrap() >= 2); // lends the ring (the writer waits for that)
/// assert_eq!(t.join().unwrap(), Ok(1));
/// assert_eq!(reader.fill(), Ok(3));
/// assert_eq!(reader.buffer(), [1, 2, 3]);
/// reader.consume(2);
/// assert_eq!(reader.pop(), Some(3));
/// assert!(reader.fill().is_err()); // the writer was dropped: end of stream
/// ```
pub struct BufferedReader<T, B: Backend = DefaultBackend> {
    reader: Reader<T, B>,
    ring: OpenRing<T>,
}

impl<T, B: Backend> BufferedReader<T, B> {
    /// Wraps `reader` with a ring of `capacity` elements (at least 1, rounded up to a power of
    /// two), allocated once. Nothing is lent before the first fill.
    pub fn new(reader: Reader<T, B>, capacity: usize) -> Self {
        Self {
            reader,
            ring: OpenRing::new(capacity),
        }
    }

    /// The reader end, for [`close`](Reader::close) and the predicates.
    pub fn reader(&self) -> &Reader<T, B> {
        &self.reader
    }

    /// How many elements the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether the ring is lent (a read is pending).
    pub fn is_pending(&self) -> bool {
        self.ring.is_lent()
    }

    /// The delivered elements not yet taken, oldest first, as far as they lie contiguous in
    /// the ring (after [`consume`](Self::consume) of them, the rest follows).
    pub fn buffer(&self) -> &[T] {
        self.ring.front(usize::MAX)
    }

    /// The delivered elements not yet taken, mutably (as [`buffer`](Self::buffer)).
    pub fn buffer_mut(&mut self) -> &mut [T] {
        self.ring.front_mut(usize::MAX)
    }

    /// How many delivered elements are buffered (as last seen).
    fn len(&self) -> usize {
        self.ring.len()
    }

    /// How many of them [`buffer`](Self::buffer) shows (those contiguous in the ring).
    fn front_len(&self) -> usize {
        self.ring.front(usize::MAX).len()
    }

    /// Drops the first `n` buffered elements.
    ///
    /// # Panics
    ///
    /// If fewer than `n` are buffered.
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.len(), "consumed {n} of {} elements", self.len());
        let raw = self.reader.raw();
        self.ring.drop_front(raw, n);
    }

    /// Takes the first buffered element, if any.
    pub fn pop(&mut self) -> Option<T> {
        let raw = self.reader.raw();
        self.ring.pop(raw)
    }

    /// Moves up to `max` buffered elements to the end of `vec`; returns how many.
    pub fn drain_into(&mut self, vec: &mut Vec<T>, max: usize) -> usize {
        let raw = self.reader.raw();
        self.ring.append_to(raw, vec, max)
    }

    /// Looks for elements (lending the ring first if it is not lent): `Ok(n)` with `n` in
    /// [`buffer`](Self::buffer),
    /// `Ok(0)` when none are held yet, `Err(Closed)` at end of stream with none held.
    fn look(&mut self) -> Result<usize, ReadError> {
        let raw = self.reader.raw();
        if self.ring.refresh(raw) > 0 {
            return Ok(self.front_len());
        }
        if !self.ring.is_lent() {
            self.ring.lend(raw)?;
            if self.ring.refresh(raw) > 0 {
                return Ok(self.front_len());
            }
        }
        if raw.is_write_closed() || raw.is_read_closed() {
            // What was published before the close is visible now: look once more, then end
            // the lend; a writer that held the ring may publish before it gives it back.
            if self.ring.refresh(raw) == 0 {
                self.ring.end(raw);
            }
            return match self.len() {
                0 => Err(ReadError::Closed),
                _ => Ok(self.front_len()),
            };
        }
        Ok(0)
    }

    /// Blocks until elements are buffered and returns how many [`buffer`](Self::buffer)
    /// shows (the rest, if the ring wraps, follows once those are consumed).
    ///
    /// Returns at once if some are buffered already (counting what the writer published
    /// since the last look); otherwise lends the ring (if it is not lent) and waits for the
    /// writer.
    ///
    /// # Errors
    ///
    /// [`ReadError::Closed`] at end of stream or on a closed reader end, with nothing
    /// buffered. While another handle of the reader end is reading, waits its turn.
    pub fn fill(&mut self) -> Result<usize, ReadError> {
        loop {
            match self.look() {
                Ok(0) => {
                    let raw = self.reader.raw();
                    self.ring.wait(raw, Wait::Block);
                }
                // Another handle of the reader end is reading: wait our turn.
                Err(ReadError::Busy) => {
                    self.reader.raw().wait_reader_turn(Wait::Block);
                }
                done => return done,
            }
        }
    }

    /// Never blocks: returns the number of buffered elements if some are buffered; otherwise
    /// lends the ring (if it is not lent yet) and returns [`TryReadError::Empty`], leaving it
    /// lent for the writer.
    ///
    /// Unlike [`Reader::try_read_uninit`], this does not need a writer waiting: the lend stays in
    /// place for a writer that comes later. For event loops that poll.
    ///
    /// # Errors
    ///
    /// [`TryReadError::Empty`] while nothing was delivered; otherwise as
    /// [`fill`](Self::fill).
    pub fn try_fill(&mut self) -> Result<usize, TryReadError> {
        match self.look() {
            Ok(0) => {
                // Tell a writer waiting for room how far we consumed.
                let raw = self.reader.raw();
                self.ring.publish(raw);
                Err(TryReadError::Empty)
            }
            Ok(n) => Ok(n),
            Err(ReadError::Closed) => Err(TryReadError::Closed),
            Err(ReadError::Busy) => Err(TryReadError::Busy),
        }
    }

    /// Returns `Ready` with the number of buffered elements once some are buffered, or with
    /// an error as [`fill`](Self::fill); otherwise lends the ring (if it is not lent yet),
    /// registers the task's waker in `registration` and returns `Pending`.
    ///
    /// Keep `registration` (it starts as `Default::default()`) between polls. The ring stays
    /// lent after `Pending`, whether or not the task polls again: the writer goes on writing
    /// into it, and the reader's drop ends the lend.
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
            match self.look() {
                Ok(0) => {}
                Err(ReadError::Busy) => {
                    // Another handle of the reader end is reading: wait our turn (its end
                    // activates *read ready*, this event).
                    let raw = self.reader.raw();
                    let turn = raw.read_ready_event().poll_until(
                        registration,
                        || !raw.is_read_pending() || raw.is_read_closed() || raw.is_write_closed(),
                        cx,
                    );
                    if turn.is_pending() {
                        return Poll::Pending;
                    }
                    continue;
                }
                other => {
                    // Found without polling: a wait left registered by an earlier poll is
                    // over (its next one starts afresh).
                    self.reader.raw().read_ready_event().end_wait(registration);
                    return Poll::Ready(other);
                }
            }
            let Self { reader, ring } = &mut *self;
            let raw = reader.raw();
            ring.publish(raw);
            let polled = raw.read_ready_event().poll_until(
                registration,
                || {
                    // The state first: a publish is followed by a SeqCst transition of it.
                    let closed = raw.is_write_closed() || raw.is_read_closed();
                    ring.refresh(raw) > 0 || closed
                },
                cx,
            );
            if polled.is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Ends the lend (waiting while the writer is copying into the ring, which is as long as
    /// the copy) and returns how many elements are buffered. The next fill lends the ring
    /// again.
    pub fn cancel(&mut self) -> usize {
        let raw = self.reader.raw();
        self.ring.end(raw);
        self.len()
    }

    /// Ends the lend unless the writer is copying into the ring at this moment; never
    /// waits. Returns whether the ring is not lent any more (what was delivered stays
    /// buffered). A lend left in place is ended by the next `cancel` or the drop.
    pub fn try_cancel(&mut self) -> bool {
        let raw = self.reader.raw();
        self.ring.try_end(raw)
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

impl<T, B: Backend> Drop for BufferedReader<T, B> {
    /// Ends the lend, drops the buffered elements and frees the ring; then the reader handle
    /// is released. Never waits: if the writer holds the ring at this moment, the lend is
    /// handed to the stream, and the writer's commit (or give-back) drops what the ring holds
    /// and frees it (`docs/design.md`, "The open lend").
    ///
    /// A panicking element drop does not leak the ring.
    fn drop(&mut self) {
        // SAFETY: called once; the ring is not used afterwards.
        unsafe { self.ring.release(self.reader.raw()) };
    }
}

impl<T, B: Backend> fmt::Debug for BufferedReader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferedReader")
            .field("reader", &self.reader)
            .field("capacity", &self.ring.capacity())
            .field("buffered", &self.len())
            .field("pending", &self.ring.is_lent())
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
        assert_eq!(reader.ring.address() % PAGE, 0);
        let (_w, r) = crate::stream_with::<u64, Spin>();
        let reader = BufferedReader::new(r, 3);
        assert_eq!(reader.ring.address() % core::mem::align_of::<u64>(), 0);
    }

    #[test]
    fn zero_sized_elements() {
        let (mut w, r) = crate::stream_with::<(), Spin>();
        // A ring of 8 (5 rounded up to a power of two).
        let mut reader = BufferedReader::new(r, 5);
        let t = std::thread::spawn(move || w.write_vec(&mut vec![(); 11]));
        assert_eq!(reader.fill(), Ok(8));
        assert_eq!(reader.buffer().len(), 8);
        reader.consume(8);
        assert_eq!(t.join().unwrap(), Ok(8));
    }
}
