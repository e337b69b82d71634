//! The reading end.

use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use std::time::{Duration, Instant};

use stream_abi::ACTIVE_READER_MASK;
use stream_events::{Backend, DefaultBackend};

use crate::error::{Kind, ReadError, ReadTimeoutError, TryReadError};
use crate::open_ring::OpenRing;
use crate::raw::{inline_fits, RawStream, StartReadError, Wait};

/// The reading end of a stream: lends buffers for the writer to fill.
///
/// Cloning a `Reader` adds a handle to the same end (counted in `active_instances`); the end is
/// closed when [`close`](Self::close) is called or its last handle is dropped, and the writer
/// then sees "closed". One read at a time per end: a blocking or timed read started while
/// another handle's read is in progress waits its turn (clones share the elements as a work
/// queue: each read takes what the writer committed into its own buffer, in stream order);
/// only the `try_` forms fail with `Busy`. A handle that keeps a ring lent (its `io::Read`
/// or iteration, started while it was the only handle) ends that lend at its next read once
/// the ring is empty, or at its drop: until then a clone waits.
pub struct Reader<T, B: Backend = DefaultBackend> {
    raw: NonNull<RawStream<B>>,
    /// The ring this reader keeps lent open once it reads through `std::io` or an iterator
    /// (`reader_ring.rs`).
    pub(crate) ring: Option<Box<OpenRing<T>>>,
    _elements: PhantomData<T>,
}

// SAFETY: a `Reader` moves `T`s out of the stream, so it may cross threads when `T: Send`. The
// header is `Sync` and kept alive by our handle.
unsafe impl<T: Send, B: Backend> Send for Reader<T, B> {}
// SAFETY: through `&Reader` only `close`, the predicates and `clone` are reachable; they are
// atomic operations on the `Sync` header and move no `T`.
unsafe impl<T: Send, B: Backend> Sync for Reader<T, B> {}

impl<T, B: Backend> Reader<T, B> {
    /// Wraps a reader handle.
    ///
    /// # Safety
    ///
    /// `raw` is alive and the caller gives this `Reader` one reader handle of it, whose
    /// elements are `T`.
    pub(crate) unsafe fn from_raw(raw: NonNull<RawStream<B>>) -> Self {
        Self {
            raw,
            ring: None,
            _elements: PhantomData,
        }
    }

    /// The shared header, for the low-level API.
    pub fn raw(&self) -> &RawStream<B> {
        // SAFETY: our handle keeps the header alive.
        unsafe { self.raw.as_ref() }
    }

    /// The header as a pointer, to hand to C code or to the handle functions of
    /// [`RawStream`] (`retain_reader`, `release_reader`): unlike a pointer made from
    /// [`raw`](Self::raw)'s reference, it may be used to free the stream when the handle it
    /// stands for is the last one released. It stays valid while this handle (or another
    /// counted handle) lives.
    pub fn as_ptr(&self) -> NonNull<RawStream<B>> {
        self.raw
    }

    /// Reads into `buf`: lends it to the writer, blocks until the writer commits, and returns
    /// how many elements (from the start of `buf`) are now initialised.
    ///
    /// An empty `buf` is a readiness probe: it returns `Ok(0)` once a writer is ready to
    /// write, without taking anything from it.
    ///
    /// # Errors
    ///
    /// [`ReadError::Closed`] at end of stream (the writer closed and every element was
    /// delivered) or when the reader end is closed. While another handle of this end is
    /// reading, waits its turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::mem::MaybeUninit;
    /// let (mut writer, mut reader) = stream_core::stream::<u32>();
    /// let t = std::thread::spawn(move || writer.write_vec(&mut vec![1, 2, 3]));
    /// let mut buf = [MaybeUninit::uninit(); 8];
    /// let n = reader.read_uninit(&mut buf).unwrap();
    /// assert_eq!(n, 3);
    /// // SAFETY: `read` initialised the first `n` elements.
    /// assert_eq!(unsafe { *buf[2].as_ptr() }, 3);
    /// assert_eq!(t.join().unwrap(), Ok(3));
    /// ```
    pub fn read_uninit(&mut self, buf: &mut [MaybeUninit<T>]) -> Result<usize, ReadError> {
        self.read_inner(buf, Wait::Block).map_err(Into::into)
    }

    /// Reads into `buf` only if a writer is waiting to write: never waits for a writer to
    /// arrive, only for the waiting writer to take the buffer and commit or give up. That
    /// wait is as short as the writer's copy, except that a writer holding a [`Loan`] keeps
    /// it for as long as it holds the loan.
    ///
    /// [`Loan`]: crate::Loan
    ///
    /// # Errors
    ///
    /// [`TryReadError::Empty`] when no writer is waiting; otherwise as [`read_uninit`](Self::read_uninit).
    pub fn try_read_uninit(&mut self, buf: &mut [MaybeUninit<T>]) -> Result<usize, TryReadError> {
        self.read_inner(buf, Wait::Try).map_err(Into::into)
    }

    /// Reads into `buf`, waiting at most `timeout` for the writer.
    ///
    /// # Errors
    ///
    /// [`ReadTimeoutError::Timeout`] when nothing was written in time; otherwise as
    /// [`read_uninit`](Self::read_uninit).
    pub fn read_uninit_timeout(
        &mut self,
        buf: &mut [MaybeUninit<T>],
        timeout: Duration,
    ) -> Result<usize, ReadTimeoutError> {
        let wait = Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Block, Wait::Until);
        self.read_inner(buf, wait).map_err(Into::into)
    }

    /// Reads into `buf`, waiting for the writer until `deadline`.
    ///
    /// # Errors
    ///
    /// As [`read_uninit_timeout`](Self::read_uninit_timeout).
    pub fn read_uninit_deadline(
        &mut self,
        buf: &mut [MaybeUninit<T>],
        deadline: Instant,
    ) -> Result<usize, ReadTimeoutError> {
        self.read_inner(buf, Wait::Until(deadline))
            .map_err(Into::into)
    }

    /// Like [`read_uninit`](Self::read_uninit), returning the filled prefix of `buf` as initialised
    /// elements (for `Copy` elements, which need no drop).
    ///
    /// # Errors
    ///
    /// As [`read_uninit`](Self::read_uninit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::mem::MaybeUninit;
    /// let (mut writer, mut reader) = stream_core::stream::<u8>();
    /// let t = std::thread::spawn(move || writer.write_slice(b"hello"));
    /// let mut buf = [MaybeUninit::uninit(); 64];
    /// assert_eq!(reader.read_init(&mut buf).unwrap(), b"hello");
    /// assert_eq!(t.join().unwrap(), Ok(5));
    /// ```
    pub fn read_init<'b>(&mut self, buf: &'b mut [MaybeUninit<T>]) -> Result<&'b mut [T], ReadError>
    where
        T: Copy,
    {
        let n = self.read_uninit(buf)?;
        // SAFETY: `read` initialised the first `n` elements; `MaybeUninit<T>` has the layout
        // of `T`, and `T: Copy` needs no drop, so handing them out as `&mut [T]` loses
        // nothing.
        Ok(unsafe { core::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<T>(), n) })
    }

    /// Reads up to `max` elements and appends them to `vec` (reserving room first); returns
    /// how many were appended.
    ///
    /// # Errors
    ///
    /// As [`read_uninit`](Self::read_uninit); `vec` is unchanged on error.
    pub fn read_append(&mut self, vec: &mut Vec<T>, max: usize) -> Result<usize, ReadError> {
        vec.reserve(max);
        let len = vec.len();
        let n = self.read_uninit(&mut vec.spare_capacity_mut()[..max])?;
        // SAFETY: `read` initialised the first `n` elements of the spare capacity, which
        // follow the `len` initialised ones.
        unsafe { vec.set_len(len + n) };
        Ok(n)
    }

    /// Reads one element.
    ///
    /// # Errors
    ///
    /// As [`read_uninit`](Self::read_uninit).
    pub fn recv(&mut self) -> Result<T, ReadError> {
        self.recv_inner(Wait::Block).map_err(Into::into)
    }

    /// Reads one element if a writer is waiting to write (as [`try_read_uninit`](Self::try_read_uninit)).
    ///
    /// # Errors
    ///
    /// As [`try_read_uninit`](Self::try_read_uninit).
    ///
    /// # Examples
    ///
    /// ```
    /// use stream_core::TryReadError;
    /// let (writer, mut reader) = stream_core::stream::<u32>();
    /// assert_eq!(reader.try_recv(), Err(TryReadError::Empty));
    /// drop(writer);
    /// assert_eq!(reader.try_recv(), Err(TryReadError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryReadError> {
        self.recv_inner(Wait::Try).map_err(Into::into)
    }

    /// Reads one element, waiting at most `timeout` for the writer.
    ///
    /// # Errors
    ///
    /// As [`read_uninit_timeout`](Self::read_uninit_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use stream_core::ReadTimeoutError;
    /// let (mut writer, mut reader) = stream_core::stream::<u32>();
    /// assert_eq!(reader.recv_timeout(Duration::from_millis(1)), Err(ReadTimeoutError::Timeout));
    /// let t = std::thread::spawn(move || writer.send(5));
    /// assert_eq!(reader.recv_timeout(Duration::from_secs(60)), Ok(5));
    /// t.join().unwrap().unwrap();
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, ReadTimeoutError> {
        let wait = Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Block, Wait::Until);
        self.recv_inner(wait).map_err(Into::into)
    }

    /// Reads one element, waiting for the writer until `deadline`.
    ///
    /// # Errors
    ///
    /// As [`read_uninit_timeout`](Self::read_uninit_timeout).
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, ReadTimeoutError> {
        self.recv_inner(Wait::Until(deadline)).map_err(Into::into)
    }

    fn recv_inner(&mut self, wait: Wait) -> Result<T, Kind> {
        if self.ring.is_some() && self.use_ring(false) {
            return self.ring_recv(wait);
        }
        let raw = self.raw();
        if inline_fits::<T>() && raw.active_instances_acquire() & ACTIVE_READER_MASK == 1 {
            // Lend the header's inline word: the element then travels in the cache line that
            // the state moves in anyway, one line fewer per element than a slot on our stack.
            let slot = raw.inline_slot();
            // `unique` holds for a wait other than `Try`: ours is the only reader handle.
            // SAFETY: the inline word is valid for one `T` (`inline_fits`) while the header
            // lives (our handle); the read ends before `read_raw` returns; the Acquire count
            // of one reader handle, ours, borrowed mutably, keeps other reads from the word.
            let n = unsafe { self.read_raw(slot, 1, wait, wait != Wait::Try) }?;
            assert_eq!(n, 1, "a one-element read returned {n}");
            // SAFETY: the read delivered one element into the word, and it ended; nobody else
            // can lend the word before we moved the element out (we are the only reader
            // handle and hold it mutably), and we move it out once.
            return Ok(unsafe { slot.cast::<T>().read() });
        }
        let mut slot = [MaybeUninit::uninit()];
        let n = self.read_inner(&mut slot, wait)?;
        // A read of one slot delivers one element: a writer with nothing to write returns the
        // buffer instead of committing 0 (only a zero-capacity probe is answered with 0).
        assert_eq!(n, 1, "a one-element read returned {n}");
        let [slot] = slot;
        // SAFETY: the read returned 1 for a one-element buffer: the element is initialised.
        Ok(unsafe { slot.assume_init() })
    }

    #[inline]
    fn read_inner(&mut self, buf: &mut [MaybeUninit<T>], wait: Wait) -> Result<usize, Kind> {
        if self.ring.is_some() && !buf.is_empty() && self.use_ring(false) {
            return self.ring_read(buf, wait);
        }
        let unique =
            wait != Wait::Try && self.raw().active_instances_acquire() & ACTIVE_READER_MASK == 1;
        // SAFETY: `buf` is borrowed mutably for this whole call and is valid for its length in
        // elements of `T`; `unique` is the Acquire count of one reader handle, ours.
        unsafe { self.read_raw(buf.as_mut_ptr().cast(), buf.len(), wait, unique) }
    }

    /// Lends `size` elements at `addr`, waits as `wait` says and ends the read.
    ///
    /// # Safety
    ///
    /// `addr` is valid for writes of `size` elements of `T` until this returns; with `unique`,
    /// an Acquire load of `active_instances` counted one reader handle (ours, which `&mut
    /// self` keeps to us), and `wait` is not `Try`.
    unsafe fn read_raw(
        &mut self,
        addr: *mut c_void,
        size: usize,
        wait: Wait,
        unique: bool,
    ) -> Result<usize, Kind> {
        let raw = self.raw();
        let started = if wait == Wait::Try {
            // SAFETY: by the caller `addr` stays valid until we return, and the read ends
            // (below) before that.
            unsafe { raw.try_start_reading(addr, size) }
        } else if unique {
            // The only reader handle: lend in one step.
            // SAFETY: as above, and by the caller ours is the only reader handle.
            unsafe { raw.start_reading_unique(addr, size) }
        } else {
            // Another handle's read in progress: wait our turn (until the deadline).
            loop {
                // SAFETY: as above.
                match unsafe { raw.start_reading(addr, size) } {
                    Err(StartReadError::Busy) => {
                        if !raw.wait_reader_turn(wait) {
                            return Err(Kind::Timeout);
                        }
                    }
                    started => break started,
                }
            }
        };
        started.map_err(|e| match e {
            StartReadError::Closed => Kind::Closed,
            StartReadError::Busy => Kind::Busy,
            StartReadError::Empty => Kind::Empty,
        })?;
        // A try-read lent only because a writer was waiting: wait for that writer to take
        // the buffer and commit, or to give up.
        let in_time = match wait {
            Wait::Try => raw.wait_read(Wait::Block, true),
            wait => raw.wait_read(wait, false),
        };
        // SAFETY: our `start_reading` succeeded and we have not ended the read.
        match unsafe { raw.end_read() } {
            Some(n) => Ok(n),
            None if raw.is_write_closed() || raw.is_read_closed() => Err(Kind::Closed),
            None if wait == Wait::Try => Err(Kind::Empty),
            None => {
                debug_assert!(!in_time || wait == Wait::Block);
                Err(Kind::Timeout)
            }
        }
    }

    /// Whether this is the only handle of the reader end (no clone of it exists), so that no
    /// other operation on this end can start while this handle is kept to itself.
    pub fn is_unique(&self) -> bool {
        // A snapshot is exact for "1": handles are made only from existing ones, so with ours
        // the only one counted, none can appear unless this handle is cloned.
        let active = self.raw().active_instances();
        active & ACTIVE_READER_MASK == 1
    }

    /// Closes the reader end for every handle: the writer's writes fail from now on, and a
    /// read in progress on another handle ends with what was delivered. Closing twice is a
    /// no-op.
    pub fn close(&self) {
        self.raw().close_read();
    }

    /// Whether the reader end is closed.
    pub fn is_closed(&self) -> bool {
        self.raw().is_read_closed()
    }

    /// Whether the writer end is closed: reads return what is still committed, then
    /// [`ReadError::Closed`].
    pub fn is_write_closed(&self) -> bool {
        self.raw().is_write_closed()
    }
}

impl<T, B: Backend> Clone for Reader<T, B> {
    /// Adds a handle to the reader end.
    ///
    /// # Panics
    ///
    /// When the end already has [`stream_abi::ACTIVE_MAX_PER_END`] handles.
    fn clone(&self) -> Self {
        // SAFETY: our handle keeps the header alive.
        unsafe { RawStream::retain_reader(self.raw) }.expect("too many reader handles");
        // SAFETY: the handle just counted is given to the new `Reader`.
        unsafe { Self::from_raw(self.raw) }
    }
}

impl<T, B: Backend> Drop for Reader<T, B> {
    /// Releases the handle; the last reader handle closes the reader end.
    fn drop(&mut self) {
        self.release_ring();
        // SAFETY: we give up our handle and never use `raw` again; no read of ours is pending
        // (reads end before they return; the ring's lend ended, or was handed to the writer,
        // just above).
        unsafe { RawStream::release_reader(self.raw) };
    }
}

impl<T, B: Backend> fmt::Debug for Reader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw().fmt_end(f, "Reader", true)
    }
}
