//! A reader with two buffers of its own, so that the writer fills one while the caller reads
//! the other.

use core::ffi::c_void;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use stream_events::{Backend, DefaultBackend};

use crate::buffered::{alloc_buffer, drop_and_free, free_buffer};
use crate::error::ReadError;
use crate::raw::{RawStream, StartReadError, Wait};
use crate::Reader;

/// A [`Reader`] that reads ahead: it owns two buffers and lends the next one as soon as it
/// hands the caller the current one, so the writer's copy into one buffer overlaps the
/// caller's work on the other.
///
/// A stream lends one buffer at a time: with [`Reader::read_uninit`] (or a [`BufferedReader`]) the
/// writer waits while the reader works on what it received, and the reader waits while the
/// writer copies. `ReadAhead` keeps the copy going: [`next_chunk`](Self::next_chunk) waits for
/// the pending read, lends the other buffer at once, and returns the elements that arrived.
/// Each element is still copied once, by the writer, into memory the reader owns.
///
/// For `Copy` elements (bytes, numbers), which need no drop: a chunk is handed out as `&[T]`
/// and simply overwritten later. Both buffers are allocated once, page-aligned from a page's
/// worth of bytes up. The drop never waits: it ends a pending read and frees both buffers, or,
/// if the writer is copying into the lent one at that moment, frees the other and hands the
/// lent one to the stream, to be freed by the writer's commit (`docs/design.md`, "Orphaned
/// reads"). A leaked `ReadAhead` leaks its buffers, so the writer never writes into freed
/// memory.
///
/// [`BufferedReader`]: crate::BufferedReader
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
    /// Two buffers of `capacity` slots each, from `buffer_layout`; raw pointers (not `Box`es)
    /// so that moving the reader never asserts unique access to memory the writer may be
    /// writing.
    bufs: [NonNull<MaybeUninit<T>>; 2],
    capacity: usize,
    /// The buffer of the last chunk handed out.
    current: usize,
    /// A buffer is lent: a read is pending, owned by us.
    pending: bool,
    /// Which buffer is lent, while `pending`.
    lent: usize,
    /// The last chunk's length in buffer `current`, and how much of it `BufRead` has consumed
    /// (`chunk_pos == chunk_len` once `next_chunk` handed it out whole, or nothing is held).
    chunk_len: usize,
    chunk_pos: usize,
}

// SAFETY: the reader moves `T`s between threads as a `Reader` does (`T: Send`); the buffers are
// owned by the `ReadAhead` and travel with it.
unsafe impl<T: Copy + Send, B: Backend> Send for ReadAhead<T, B> {}
// SAFETY: `&ReadAhead` gives only the `Reader`'s shared methods and the capacity.
unsafe impl<T: Copy + Send + Sync, B: Backend> Sync for ReadAhead<T, B> {}

impl<T: Copy, B: Backend> ReadAhead<T, B> {
    /// Wraps `reader` with two buffers of `capacity` elements each (at least 1), allocated
    /// once. Nothing is lent before the first [`next_chunk`](Self::next_chunk).
    pub fn new(reader: Reader<T, B>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            reader,
            bufs: [alloc_buffer(capacity), alloc_buffer(capacity)],
            capacity,
            current: 0,
            pending: false,
            lent: 0,
            chunk_len: 0,
            chunk_pos: 0,
        }
    }

    /// The reader end, for [`close`](Reader::close) and the predicates.
    pub fn reader(&self) -> &Reader<T, B> {
        &self.reader
    }

    /// How many elements each of the two buffers holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether a buffer is lent (a read is pending).
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// Blocks until the writer delivers the next chunk and returns it, after lending the
    /// other buffer for the chunk after (so the writer can go on while the caller works on
    /// this one). The chunk stays valid until the next call, which lends its buffer again.
    ///
    /// # Errors
    ///
    /// [`ReadError::Closed`] at end of stream or on a closed reader end;
    /// [`ReadError::Busy`] when another handle of the reader end is reading.
    pub fn next_chunk(&mut self) -> Result<&[T], ReadError> {
        // The last chunk is done with (its borrow of `self` has ended): its buffer may be lent
        // from now on, so nothing of it is held any more.
        self.chunk_len = 0;
        self.chunk_pos = 0;
        let mut next = 1 - self.current;
        let n = loop {
            if !self.pending {
                self.lend(next)?;
            }
            let raw = self.reader.raw();
            raw.wait_read(Wait::Block, false);
            // End the read and read ahead into the other buffer in the same step. If an end
            // closed, nothing is lent: a read that ended without a count reports it now, and
            // one that brought a count hands it out, leaving the next call to find the end.
            // SAFETY: we own the pending read (of buffer `next`); the other buffer holds
            // `capacity` slots, holds no chunk in use (the `&mut self` of this call ended the
            // last one's borrow), and lives until our drop, which ends the read first.
            let (ended, lent) = unsafe {
                raw.end_read_and_lend(self.bufs[1 - next].as_ptr().cast(), self.capacity)
            };
            self.pending = lent;
            self.lent = 1 - next;
            match ended {
                // The read ended without a count: an end closed.
                None => return Err(ReadError::Closed),
                // A count is at most the capacity (commits are checked against it); checked
                // again here because the chunk trusts it.
                Some(n) if n > 0 => {
                    // Buffer `next` holds the chunk from here on (the other one may be lent),
                    // also if the check below panics.
                    self.current = next;
                    assert!(
                        n <= self.capacity,
                        "a count of {n} for a buffer of {}",
                        self.capacity
                    );
                    break n;
                }
                // A writer with nothing to write returns the buffer instead of committing 0
                // (only a zero-capacity probe is answered with 0, and ours hold at least one
                // element); should a 0 come, wait for the buffer that is lent now (or lend
                // again).
                Some(_) => {
                    if lent {
                        next = 1 - next;
                    }
                }
            }
        };
        // Handed out whole: `BufRead` sees it consumed.
        self.chunk_len = n;
        self.chunk_pos = n;
        // SAFETY: the writer initialised the first `n` slots of buffer `next` before its
        // Release commit, which `end_read_and_lend` acquired; that buffer is not lent (the
        // other one is, or none), and the borrow of `self` keeps it from being lent until the
        // chunk is gone.
        Ok(unsafe { core::slice::from_raw_parts(self.bufs[next].as_ptr().cast::<T>(), n) })
    }

    /// For `BufRead`: the unconsumed rest of the last chunk, after fetching the next chunk
    /// if nothing is left.
    pub(crate) fn fill_rest(&mut self) -> Result<&[T], ReadError> {
        if self.chunk_pos >= self.chunk_len {
            self.next_chunk()?;
            self.chunk_pos = 0;
        }
        // SAFETY: `chunk_pos < chunk_len` only after a successful `next_chunk`, whose chunk
        // (the first `chunk_len` slots of buffer `current`, initialised) stays unlent until
        // the next `next_chunk`, which clears both fields before it lends anything.
        Ok(unsafe {
            core::slice::from_raw_parts(
                self.bufs[self.current]
                    .as_ptr()
                    .cast::<T>()
                    .add(self.chunk_pos),
                self.chunk_len - self.chunk_pos,
            )
        })
    }

    /// For `BufRead`: marks `n` more elements of the last chunk consumed (at most the rest).
    pub(crate) fn consume_rest(&mut self, n: usize) {
        self.chunk_pos = (self.chunk_pos + n).min(self.chunk_len);
    }

    /// Ends a pending read, as [`BufferedReader::cancel`](crate::BufferedReader::cancel):
    /// waits for a writer that is copying into the lent buffer. Elements delivered into it are
    /// dropped (they are `Copy`: forgotten). Returns how many there were.
    pub fn cancel(&mut self) -> usize {
        if !self.pending {
            return 0;
        }
        // SAFETY: we own the pending read.
        let n = unsafe { self.reader.raw().cancel_read() };
        self.pending = false;
        n
    }

    /// Lends buffer `i` (which is not lent and holds no chunk in use).
    fn lend(&mut self, i: usize) -> Result<(), ReadError> {
        debug_assert!(!self.pending);
        let raw: &RawStream<B> = self.reader.raw();
        // SAFETY: buffer `i` holds `capacity` slots and lives until our drop, which ends the
        // read first; nothing else touches it while it is lent (the chunk handed out is in
        // the other buffer, or was given up by the `&mut self` of this call).
        unsafe { raw.start_reading(self.bufs[i].as_ptr().cast::<c_void>(), self.capacity) }
            .map_err(|e| match e {
                StartReadError::Busy => ReadError::Busy,
                StartReadError::Closed | StartReadError::Empty => ReadError::Closed,
            })?;
        self.pending = true;
        self.lent = i;
        Ok(())
    }
}

impl<T: Copy, B: Backend> Drop for ReadAhead<T, B> {
    /// Ends a pending read and frees both buffers; then the reader handle is released. Never
    /// waits: a buffer the writer holds at this moment is handed to the stream, and the
    /// writer's commit or return frees it.
    fn drop(&mut self) {
        let mut orphaned = None;
        if self.pending {
            // SAFETY: we own the pending read, of buffer `lent` (ours, not the inline word),
            // which came from `alloc_buffer::<T>(capacity)`; `T: Copy` needs no drop, so
            // `drop_and_free::<T>` only frees it.
            if unsafe { self.reader.raw().end_read_or_orphan(drop_and_free::<T>) }.is_none() {
                orphaned = Some(self.lent);
            }
            self.pending = false;
        }
        for (i, buf) in self.bufs.into_iter().enumerate() {
            if orphaned == Some(i) {
                continue; // The writer frees it.
            }
            // SAFETY: nothing refers to this buffer any more (its read ended, or it was not
            // lent); `T: Copy` needs no drop; it came from `alloc_buffer` with this capacity
            // in `new`.
            unsafe { free_buffer(buf, self.capacity) };
        }
    }
}

impl<T: Copy, B: Backend> fmt::Debug for ReadAhead<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadAhead")
            .field("reader", &self.reader)
            .field("capacity", &self.capacity)
            .field("pending", &self.pending)
            .finish()
    }
}
