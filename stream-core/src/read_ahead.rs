//! A reader with a ring of its own, lent open, so that the writer fills it while the caller
//! reads what arrived.

use core::fmt;

use stream_events::{Backend, DefaultBackend};

use crate::error::ReadError;
use crate::open_ring::OpenRing;
use crate::raw::Wait;
use crate::Reader;

/// A [`Reader`] that reads ahead: it owns a ring of four times the chunk capacity (rounded up to
/// a power of two) and keeps it lent open, so the writer writes into the free part while
/// the caller works on what arrived, and never waits for the reader unless the ring is full.
///
/// With [`Reader::read_uninit`] the writer waits while the reader works on what it received,
/// and the reader waits while the writer copies. `ReadAhead` lends its ring once (an *open
/// lend*, `docs/design.md`): every write of the writer lands in the ring and is visible at
/// once; [`next_chunk`](Self::next_chunk) returns the elements that arrived (at most the
/// chunk capacity, contiguous), and the next call frees their slots for the writer. Each
/// element is still copied once, by the writer, into memory the reader owns.
///
/// For `Copy` elements (bytes, numbers), which need no drop: a chunk is handed out as `&[T]`
/// and simply overwritten later. The ring is allocated once, page-aligned from a page's worth
/// of bytes up. The drop never waits: it ends the lend and frees the ring, or, if the writer
/// is copying into it at that moment, hands it to the stream, to be freed by the writer's
/// commit (`docs/design.md`, "The open lend"). What was handed out counts as delivered: a
/// writer whose commit meets that hand-over after its elements were handed out is told they
/// arrived, not given them back. A leaked `ReadAhead` leaks its ring, so the writer never
/// writes into freed memory.
///
/// # Examples
///
/// ```
/// use stream_core::ReadAhead;
///
/// let (mut writer, reader) = stream_core::stream::<u8>();
/// let t = std::thread::spawn(move || {
///     for chunk in [&b"abc"[..], b"de"] {
///         writer.write_slice(chunk).unwrap();
///     }
/// });
/// let mut reader = ReadAhead::new(reader, 4096);
/// let mut got = Vec::new();
/// while let Ok(chunk) = reader.next_chunk() {
///     got.extend_from_slice(chunk);
/// }
/// assert_eq!(got, b"abcde");
/// t.join().unwrap();
/// ```
pub struct ReadAhead<T: Copy, B: Backend = DefaultBackend> {
    reader: Reader<T, B>,
    ring: OpenRing<T>,
    /// The most elements one chunk hands out.
    capacity: usize,
    /// The last chunk's length (at the ring's front, not yet consumed: the next
    /// `next_chunk` consumes it), and how much of it `BufRead` has consumed (`chunk_pos ==
    /// chunk_len` once `next_chunk` handed it out whole, or nothing is held).
    chunk_len: usize,
    chunk_pos: usize,
}

impl<T: Copy, B: Backend> ReadAhead<T, B> {
    /// Wraps `reader` with a ring of `4 * capacity` elements (at least 4, rounded up to a
    /// power of two), allocated once; chunks hold at most `capacity` elements. Nothing is lent
    /// before the first [`next_chunk`](Self::next_chunk).
    pub fn new(reader: Reader<T, B>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            reader,
            ring: OpenRing::new(capacity.saturating_mul(4)),
            capacity,
            chunk_len: 0,
            chunk_pos: 0,
        }
    }

    /// The reader end, for [`close`](Reader::close) and the predicates.
    pub fn reader(&self) -> &Reader<T, B> {
        &self.reader
    }

    /// The most elements one chunk holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the ring is lent (a read is pending).
    pub fn is_pending(&self) -> bool {
        self.ring.is_lent()
    }

    /// Blocks until the writer has delivered elements and returns the next chunk of them (at
    /// most [`capacity`](Self::capacity), contiguous in the ring), keeping the ring lent so
    /// the writer can go on while the caller works on this one. The chunk stays valid until
    /// the next call, which gives its slots back to the writer.
    ///
    /// # Errors
    ///
    /// [`ReadError::Closed`] at end of stream (after every element delivered before it) or on
    /// a closed reader end. While another handle of the reader end is reading, waits its
    /// turn.
    pub fn next_chunk(&mut self) -> Result<&[T], ReadError> {
        let raw = self.reader.raw();
        // The last chunk is done with (its borrow of `self` has ended): its slots go back to
        // the writer.
        // SAFETY: the chunk's elements are `Copy` and no longer borrowed.
        unsafe { self.ring.advance(raw, self.chunk_len) };
        self.chunk_len = 0;
        self.chunk_pos = 0;
        loop {
            if !self.ring.is_lent() && self.ring.len() == 0 {
                match self.ring.lend(raw) {
                    // Another handle of the reader end is reading: wait our turn.
                    Err(ReadError::Busy) => {
                        raw.wait_reader_turn(Wait::Block);
                        continue;
                    }
                    lent => lent?,
                }
            }
            if self.ring.refresh(raw) > 0 {
                break;
            }
            if raw.is_write_closed() || raw.is_read_closed() {
                // Everything published before the close is visible now (the close was
                // acquired): look once more, then end the lend.
                if self.ring.refresh(raw) > 0 {
                    break;
                }
                // A writer that held the ring may publish before it gives it back: what the
                // end finds is handed out first.
                self.ring.end(raw);
                if self.ring.len() > 0 {
                    break;
                }
                return Err(ReadError::Closed);
            }
            self.ring.wait(raw, Wait::Block);
        }
        let chunk = self.ring.front(self.capacity);
        // Handed out whole: `BufRead` sees it consumed.
        self.chunk_len = chunk.len();
        self.chunk_pos = chunk.len();
        Ok(chunk)
    }

    /// For `BufRead`: the unconsumed rest of the last chunk, after fetching the next chunk
    /// if nothing is left.
    pub(crate) fn fill_rest(&mut self) -> Result<&[T], ReadError> {
        if self.chunk_pos >= self.chunk_len {
            self.next_chunk()?;
            self.chunk_pos = 0;
        }
        Ok(&self.ring.front(self.chunk_len)[self.chunk_pos..])
    }

    /// For `BufRead`: marks `n` more elements of the last chunk consumed (at most the rest).
    pub(crate) fn consume_rest(&mut self, n: usize) {
        self.chunk_pos = (self.chunk_pos + n).min(self.chunk_len);
    }

    /// Ends the lend, waiting while the writer is copying into the ring, and drops the
    /// elements that arrived and were not handed out (they are `Copy`: forgotten). Returns how
    /// many there were. The next [`next_chunk`](Self::next_chunk) lends the ring again.
    pub fn cancel(&mut self) -> usize {
        let raw = self.reader.raw();
        // SAFETY: the last chunk is `Copy` and its borrow ended with `&mut self`.
        unsafe { self.ring.advance(raw, self.chunk_len) };
        self.chunk_len = 0;
        self.chunk_pos = 0;
        self.ring.end(raw);
        let n = self.ring.len();
        // SAFETY: `Copy` elements, not borrowed.
        unsafe { self.ring.advance(raw, n) };
        n
    }
}

impl<T: Copy, B: Backend> Drop for ReadAhead<T, B> {
    /// Ends the lend and frees the ring; then the reader handle is released. Never waits: a
    /// ring the writer holds at this moment is handed to the stream, and the writer's commit
    /// or give-back frees it.
    fn drop(&mut self) {
        let raw = self.reader.raw();
        // What was handed out is delivered: a chunk from `next_chunk` (whole), or the part of
        // it `BufRead` consumed. Consumed before the lend ends or is handed over, so that a
        // writer whose commit meets the hand-over learns that its elements arrived (it
        // would otherwise get them back as undelivered, after the reader saw them).
        // SAFETY: `Copy` elements, no longer borrowed (the borrow ended with `&mut self`).
        unsafe { self.ring.advance(raw, self.chunk_pos) };
        // SAFETY: called once, the ring is not used afterwards.
        unsafe { self.ring.release(raw) };
    }
}

impl<T: Copy, B: Backend> fmt::Debug for ReadAhead<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadAhead")
            .field("reader", &self.reader)
            .field("capacity", &self.capacity)
            .field("pending", &self.ring.is_lent())
            .finish()
    }
}
