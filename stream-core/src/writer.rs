//! The writing end: [`Writer`] and its waits (blocking, with a deadline; async in
//! `writer/loan_async.rs`); the loan it hands out is in `loan.rs`.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use std::time::{Duration, Instant};

use stream_abi::{ACTIVE_READER_MASK, ACTIVE_WRITER_ONE};
use stream_events::{Backend, DefaultBackend};

use crate::error::{Kind, TryWriteError, WriteError, WriteTimeoutError};
use crate::loan::Loan;
use crate::raw::{RawStream, StartWriteError, Wait, WaitWriteError};

mod loan_async;
pub use loan_async::LoanAsync;

/// The writing end of a stream: writes elements straight into the buffers the reader lends.
///
/// Cloning a `Writer` adds a handle to the same end; the end is closed when
/// [`close`](Self::close) is called or its last handle is dropped, and the reader then reads
/// what was committed, then end of stream. One write at a time per end: a blocking or timed
/// write started while another handle's write is in progress waits its turn (whole writes
/// interleave, as with an mpsc `Sender`; the timed forms give up at their deadline); only the
/// `try_` forms and [`poll_loan`](Self::poll_loan) fail with `Busy` (the async
/// [`loan_async`](Self::loan_async) waits its turn too).
pub struct Writer<T, B: Backend = DefaultBackend> {
    raw: NonNull<RawStream<B>>,
    _elements: PhantomData<T>,
}

// SAFETY: a `Writer` moves `T`s into the stream (to the reader's thread), so it may cross
// threads when `T: Send`. The header is `Sync` and kept alive by our handle.
unsafe impl<T: Send, B: Backend> Send for Writer<T, B> {}
// SAFETY: through `&Writer` only `close`, the predicates and `clone` are reachable; they are
// atomic operations on the `Sync` header and move no `T`.
unsafe impl<T: Send, B: Backend> Sync for Writer<T, B> {}

impl<T, B: Backend> Writer<T, B> {
    /// Wraps a writer handle.
    ///
    /// # Safety
    ///
    /// `raw` is alive and the caller gives this `Writer` one writer handle of it, whose
    /// elements are `T`.
    pub(crate) unsafe fn from_raw(raw: NonNull<RawStream<B>>) -> Self {
        Self {
            raw,
            _elements: PhantomData,
        }
    }

    /// The shared header, for the low-level API.
    pub fn raw(&self) -> &RawStream<B> {
        // SAFETY: our handle keeps the header alive.
        unsafe { self.raw.as_ref() }
    }

    /// The header as a pointer, to hand to C code or to the handle functions of
    /// [`RawStream`] (`retain_writer`, `release_writer`): unlike a pointer made from
    /// [`raw`](Self::raw)'s reference, it may be used to free the stream when the handle it
    /// stands for is the last one released. It stays valid while this handle (or another
    /// counted handle) lives.
    pub fn as_ptr(&self) -> NonNull<RawStream<B>> {
        self.raw
    }

    /// Waits for the reader to lend a buffer and takes it.
    ///
    /// # Errors
    ///
    /// [`WriteError::Closed`] when the reader end (or this end) is closed. While another
    /// handle of this end is writing, waits its turn.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, mut reader) = stream_core::stream::<u64>();
    /// let t = std::thread::spawn(move || {
    ///     let mut loan = writer.loan().unwrap();
    ///     let n = loan.capacity().min(4);
    ///     for (i, slot) in loan.as_uninit_mut()[..n].iter_mut().enumerate() {
    ///         slot.write(i as u64 * 10);
    ///     }
    ///     // SAFETY: the first `n` elements were written just above.
    ///     unsafe { loan.commit(n) };
    /// });
    /// let mut got = Vec::new();
    /// reader.read_append(&mut got, 16).unwrap();
    /// assert_eq!(got, [0, 10, 20, 30]);
    /// t.join().unwrap();
    /// ```
    pub fn loan(&mut self) -> Result<Loan<'_, T, B>, WriteError> {
        self.loan_inner(Wait::Block)
            .map_err(|k| WriteError::new(k, ()))
    }

    /// Takes the lent buffer if the reader has lent one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryWriteError::NotReady`] when no buffer is lent; otherwise as [`loan`](Self::loan).
    pub fn try_loan(&mut self) -> Result<Loan<'_, T, B>, TryWriteError> {
        self.loan_inner(Wait::Try)
            .map_err(|k| TryWriteError::new(k, ()))
    }

    /// Waits at most `timeout` for a lent buffer.
    ///
    /// # Errors
    ///
    /// [`WriteTimeoutError::Timeout`] when no buffer was lent in time; otherwise as
    /// [`loan`](Self::loan).
    pub fn loan_timeout(&mut self, timeout: Duration) -> Result<Loan<'_, T, B>, WriteTimeoutError> {
        self.loan_inner(wait_for(timeout))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    /// Like [`loan_timeout`](Self::loan_timeout), waiting until `deadline`.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout).
    pub fn loan_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Loan<'_, T, B>, WriteTimeoutError> {
        self.loan_inner(Wait::Until(deadline))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    /// Moves elements from the front of `items` into the next lent buffer, as many as it
    /// holds; the rest stay in `items`, in order. Returns how many moved.
    ///
    /// An empty `items` is a readiness probe: it returns `Ok(0)` once the reader has lent a
    /// buffer, without taking it.
    ///
    /// # Errors
    ///
    /// As [`loan`](Self::loan); `items` is unchanged on error.
    pub fn write_vec(&mut self, items: &mut Vec<T>) -> Result<usize, WriteError> {
        self.write_inner(items, Wait::Block)
            .map_err(|k| WriteError::new(k, ()))
    }

    /// Like [`write_vec`](Self::write_vec), only if a buffer is lent now.
    ///
    /// # Errors
    ///
    /// As [`try_loan`](Self::try_loan); `items` is unchanged on error.
    pub fn try_write_vec(&mut self, items: &mut Vec<T>) -> Result<usize, TryWriteError> {
        self.write_inner(items, Wait::Try)
            .map_err(|k| TryWriteError::new(k, ()))
    }

    /// Like [`write_vec`](Self::write_vec), waiting at most `timeout` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout); `items` is unchanged on error.
    pub fn write_vec_timeout(
        &mut self,
        items: &mut Vec<T>,
        timeout: Duration,
    ) -> Result<usize, WriteTimeoutError> {
        self.write_inner(items, wait_for(timeout))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    /// Like [`write_vec`](Self::write_vec), waiting until `deadline` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout); `items` is unchanged on error.
    pub fn write_vec_deadline(
        &mut self,
        items: &mut Vec<T>,
        deadline: Instant,
    ) -> Result<usize, WriteTimeoutError> {
        self.write_inner(items, Wait::Until(deadline))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    /// Writes one element.
    ///
    /// # Errors
    ///
    /// As [`loan`](Self::loan); the error gives `value` back.
    pub fn send(&mut self, value: T) -> Result<(), WriteError<T>> {
        match self.loan_inner(Wait::Block) {
            Ok(loan) => loan
                .commit_one(value)
                .map_err(|value| WriteError::new(Kind::Closed, value)),
            Err(k) => Err(WriteError::new(k, value)),
        }
    }

    /// Writes one element if a buffer is lent now.
    ///
    /// # Errors
    ///
    /// As [`try_loan`](Self::try_loan); the error gives `value` back.
    pub fn try_send(&mut self, value: T) -> Result<(), TryWriteError<T>> {
        match self.loan_inner(Wait::Try) {
            Ok(loan) => loan
                .commit_one(value)
                .map_err(|value| TryWriteError::new(Kind::Closed, value)),
            Err(k) => Err(TryWriteError::new(k, value)),
        }
    }

    /// Writes one element, waiting at most `timeout` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout); the error gives `value` back.
    pub fn send_timeout(
        &mut self,
        value: T,
        timeout: Duration,
    ) -> Result<(), WriteTimeoutError<T>> {
        match self.loan_inner(wait_for(timeout)) {
            Ok(loan) => loan
                .commit_one(value)
                .map_err(|value| WriteTimeoutError::new(Kind::Closed, value)),
            Err(k) => Err(WriteTimeoutError::new(k, value)),
        }
    }

    /// Writes one element, waiting until `deadline` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout); the error gives `value` back.
    pub fn send_deadline(
        &mut self,
        value: T,
        deadline: Instant,
    ) -> Result<(), WriteTimeoutError<T>> {
        match self.loan_inner(Wait::Until(deadline)) {
            Ok(loan) => loan
                .commit_one(value)
                .map_err(|value| WriteTimeoutError::new(Kind::Closed, value)),
            Err(k) => Err(WriteTimeoutError::new(k, value)),
        }
    }

    /// Copies elements from the front of `items` into the next lent buffer; returns how many.
    ///
    /// # Errors
    ///
    /// As [`loan`](Self::loan).
    pub fn write_slice(&mut self, items: &[T]) -> Result<usize, WriteError>
    where
        T: Copy,
    {
        self.write_slice_inner(items, Wait::Block)
            .map_err(|k| WriteError::new(k, ()))
    }

    /// Like [`write_slice`](Self::write_slice), only if a buffer is lent now.
    ///
    /// # Errors
    ///
    /// As [`try_loan`](Self::try_loan).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, reader) = stream_core::stream::<u8>();
    /// // Nobody has lent a buffer yet.
    /// assert_eq!(writer.try_write_slice(b"hi"), Err(stream_core::TryWriteError::NotReady(())));
    /// drop(reader);
    /// assert!(matches!(writer.try_write_slice(b"hi"), Err(stream_core::TryWriteError::Closed(()))));
    /// ```
    pub fn try_write_slice(&mut self, items: &[T]) -> Result<usize, TryWriteError>
    where
        T: Copy,
    {
        self.write_slice_inner(items, Wait::Try)
            .map_err(|k| TryWriteError::new(k, ()))
    }

    /// Like [`write_slice`](Self::write_slice), waiting at most `timeout` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout).
    pub fn write_slice_timeout(
        &mut self,
        items: &[T],
        timeout: Duration,
    ) -> Result<usize, WriteTimeoutError>
    where
        T: Copy,
    {
        self.write_slice_inner(items, wait_for(timeout))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    /// Like [`write_slice`](Self::write_slice), waiting until `deadline` for a buffer.
    ///
    /// # Errors
    ///
    /// As [`loan_timeout`](Self::loan_timeout).
    pub fn write_slice_deadline(
        &mut self,
        items: &[T],
        deadline: Instant,
    ) -> Result<usize, WriteTimeoutError>
    where
        T: Copy,
    {
        self.write_slice_inner(items, Wait::Until(deadline))
            .map_err(|k| WriteTimeoutError::new(k, ()))
    }

    fn write_slice_inner(&mut self, items: &[T], wait: Wait) -> Result<usize, Kind>
    where
        T: Copy,
    {
        if items.is_empty() {
            return self.probe(wait);
        }
        // 0 for a non-empty slice: the reader was dropped while we held its buffer.
        match self.loan_inner(wait)?.copy_from_slice(items) {
            0 => Err(Kind::Closed),
            n => Ok(n),
        }
    }

    fn write_inner(&mut self, items: &mut Vec<T>, wait: Wait) -> Result<usize, Kind> {
        if items.is_empty() {
            return self.probe(wait);
        }
        // 0 for a non-empty `Vec`: the reader was dropped while we held its buffer, and the
        // elements stayed in `items`.
        match self.loan_inner(wait)?.move_from_vec(items) {
            0 => Err(Kind::Closed),
            n => Ok(n),
        }
    }

    /// A zero-length write: waits until a buffer is lent (without taking it).
    fn probe(&mut self, wait: Wait) -> Result<usize, Kind> {
        let raw = self.raw();
        acquire_in_turn(raw, false, wait)?;
        // SAFETY: we hold WRITER_BUSY and no buffer.
        match unsafe { raw.wait_writable(wait, false) } {
            Ok(_) => {
                // SAFETY: as above: still holding WRITER_BUSY and no buffer.
                unsafe { raw.release_writer_busy() };
                Ok(0)
            }
            Err(e) => Err(wait_kind(e, wait)),
        }
    }

    fn loan_inner(&mut self, wait: Wait) -> Result<Loan<'_, T, B>, Kind> {
        // SAFETY: our handle keeps the header alive for the loan's lifetime, which borrows
        // `self` mutably.
        let raw: &RawStream<B> = unsafe { self.raw.as_ref() };
        if wait == Wait::Try {
            // SAFETY: we act for our handle and end the write (commit, or the loan's drop)
            // before it can be released (the loan borrows `self`).
            let (addr, capacity) = unsafe { raw.start_writing() }.map_err(|e| match e {
                StartWriteError::Blocked => Kind::NotReady,
                e => start_kind(e),
            })?;
            if capacity == 0 {
                // A readiness probe: answer it; there is still no room to write.
                // SAFETY: we own WRITING; zero elements are initialised.
                // (An orphaned read's buffer, if any, is freed by the drop of the result.)
                drop(unsafe { raw.commit(0, false) });
                return Err(Kind::NotReady);
            }
            // SAFETY: we own WRITING; the buffer holds `capacity` elements of `T`.
            return Ok(unsafe { Loan::new(raw, addr.cast(), capacity) });
        }
        let mut taken = acquire_in_turn(raw, true, wait)?;
        loop {
            let (addr, capacity) = match taken {
                Some(buffer) => buffer,
                // SAFETY: we hold WRITER_BUSY and no buffer.
                None => match unsafe { raw.wait_writable(wait, true) } {
                    Ok(Some(buffer)) => buffer,
                    Ok(None) => unreachable!("wait_writable(take) returns a buffer"),
                    Err(e) => return Err(wait_kind(e, wait)),
                },
            };
            if capacity == 0 {
                // Answer the probe, keep the writer end, and wait for a real buffer.
                // SAFETY: we own WRITING; zero elements are initialised.
                // (An orphaned read's buffer, if any, is freed by the drop of the result.)
                drop(unsafe { raw.commit(0, true) });
                taken = None;
                continue;
            }
            // SAFETY: we own WRITING; the buffer holds `capacity` elements of `T`.
            return Ok(unsafe { Loan::new(raw, addr.cast(), capacity) });
        }
    }

    /// Whether this is the only handle of the writer end (no clone of it exists), so that no
    /// other operation on this end can start while this handle is kept to itself.
    pub fn is_unique(&self) -> bool {
        // A snapshot is exact for "1": handles are made only from existing ones, so with ours
        // the only one counted, none can appear unless this handle is cloned.
        let active = self.raw().active_instances();
        (active >> ACTIVE_WRITER_ONE.trailing_zeros()) & ACTIVE_READER_MASK == 1
    }

    /// Closes the writer end for every handle: the reader reads what was committed, then end
    /// of stream. Closing twice is a no-op.
    pub fn close(&self) {
        self.raw().close_write();
    }

    /// Whether writes fail because an end is closed (the reader's, or this one).
    pub fn is_closed(&self) -> bool {
        self.raw().is_read_closed() || self.raw().is_write_closed()
    }
}

/// Takes the writer end (and, with `take`, a lent buffer) for a blocking or timed write:
/// while another handle's write is in progress, waits its turn until `wait`'s deadline
/// (`Timeout` after it); `Busy` comes back only for `Wait::Try`.
fn acquire_in_turn<B: Backend>(
    raw: &RawStream<B>,
    take: bool,
    wait: Wait,
) -> Result<Option<(*mut core::ffi::c_void, usize)>, Kind> {
    loop {
        match raw.acquire_writer(take) {
            Err(StartWriteError::Busy) if wait != Wait::Try => {
                if !raw.wait_writer_turn(wait) {
                    return Err(Kind::Timeout);
                }
            }
            taken => return taken.map_err(start_kind),
        }
    }
}

fn wait_for(timeout: Duration) -> Wait {
    Instant::now()
        .checked_add(timeout)
        .map_or(Wait::Block, Wait::Until)
}

fn start_kind(e: StartWriteError) -> Kind {
    match e {
        StartWriteError::Closed => Kind::Closed,
        StartWriteError::Busy => Kind::Busy,
        StartWriteError::Blocked => Kind::NotReady,
    }
}

fn wait_kind(e: WaitWriteError, wait: Wait) -> Kind {
    match (e, wait) {
        (WaitWriteError::Closed, _) => Kind::Closed,
        (WaitWriteError::Timeout, Wait::Try) => Kind::NotReady,
        (WaitWriteError::Timeout, _) => Kind::Timeout,
    }
}

impl<T, B: Backend> Clone for Writer<T, B> {
    /// Adds a handle to the writer end.
    ///
    /// # Panics
    ///
    /// When the end already has [`stream_abi::ACTIVE_MAX_PER_END`] handles.
    fn clone(&self) -> Self {
        // SAFETY: our handle keeps the header alive.
        unsafe { RawStream::retain_writer(self.raw) }.expect("too many writer handles");
        // SAFETY: the handle just counted is given to the new `Writer`.
        unsafe { Self::from_raw(self.raw) }
    }
}

impl<T, B: Backend> Drop for Writer<T, B> {
    /// Releases the handle; the last writer handle closes the writer end.
    fn drop(&mut self) {
        // SAFETY: we give up our handle and never use `raw` again; no loan of ours is alive
        // (a loan borrows the writer).
        unsafe { RawStream::release_writer(self.raw) };
    }
}

impl<T, B: Backend> fmt::Debug for Writer<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw().fmt_end(f, "Writer", false)
    }
}
