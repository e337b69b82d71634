//! [`BatchWriter`]: a writer that keeps the buffer it took between calls and fills it one
//! element at a time. It touches the buffer only while it owns phase `WRITING`, which it
//! takes and ends through [`Loan`] (`loan.rs`), so it adds no transition of its own.

use core::fmt;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;
use core::task::{Context, Poll};

use stream_events::{AsyncBackend, Backend, DefaultBackend};

use crate::error::WriteError;
use crate::loan::Loan;
use crate::writer::Writer;

/// A [`Writer`] that keeps the lent buffer it took between calls and fills it one element at
/// a time: [`push`](Self::push) puts an element into the next slot, a buffer that becomes
/// full is committed at once, and [`commit`](Self::commit) commits a partly filled one. Each
/// element is still written once, straight into the reader's buffer; the reader sees the
/// elements only when they are committed.
///
/// While elements are pushed and not yet committed, the writer holds the buffer as a
/// [`Loan`] would: the reader's read stays pending, and a reader that cancels its read (a
/// timeout, a drop) waits for the commit. So flush before waiting for anything that the
/// reader's side may wait on. [`commit`](Self::commit) never waits.
///
/// Elements pushed are never lost or dropped twice: they are committed by `commit`, by a full
/// buffer, by [`writer_mut`](Self::writer_mut), [`into_inner`](Self::into_inner) and the
/// drop, and from then on belong to the reader (which drops them if it closed without
/// reading them). If the reader was dropped while the buffer was held, a commit finds nobody
/// to deliver to: it keeps the elements for [`take_undelivered`](Self::take_undelivered)
/// (the drop and `into_inner` drop them).
///
/// # Examples
///
/// ```
/// let (writer, mut reader) = stream_core::stream::<u32>();
/// let t = std::thread::spawn(move || {
///     let mut writer = stream_core::BatchWriter::new(writer);
///     for i in 0..10 {
///         writer.hold().unwrap(); // waits for a buffer unless one with room is held
///         writer.push(i).unwrap();
///     }
///     writer.commit(); // commits a partly filled buffer
/// }); // the drop closes the writer end
/// let mut got = Vec::new();
/// while reader.read_append(&mut got, 4).is_ok() {}
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// t.join().unwrap();
/// ```
pub struct BatchWriter<T, B: Backend = DefaultBackend> {
    writer: Writer<T, B>,
    held: Option<Held<T>>,
    /// Elements a commit found no reader for (the reader was dropped while we held its
    /// buffer), in order, for [`take_undelivered`](BatchWriter::take_undelivered).
    undelivered: Vec<T>,
}

/// A buffer taken from the stream and kept: the parts of a dissolved [`Loan`].
///
/// Invariant (of `BatchWriter::held`): while it is `Some`, the writer handle of the
/// `BatchWriter` owns phase `WRITING` of its stream (nobody else reads or writes the buffer
/// or the buffer fields then, see the crate docs' ownership table); `buf` is the lent buffer
/// of `capacity >= 1` slots; the first `len < capacity` slots are initialised, and those
/// elements are ours until the commit.
struct Held<T> {
    buf: NonNull<MaybeUninit<T>>,
    capacity: usize,
    len: usize,
}

impl<T> Held<T> {
    /// Keeps a taken buffer between calls: the loan owned WRITING, the `Held` (stored in
    /// `BatchWriter::held` at once) owns it from here, with nothing written yet.
    fn keep<B: Backend>(loan: Loan<'_, T, B>) -> Self {
        let (buf, capacity) = loan.into_raw_parts();
        Self {
            buf,
            capacity,
            len: 0,
        }
    }
}

// SAFETY: as for `Writer`: a `BatchWriter` moves `T`s into the reader's buffer, so it may
// cross threads when `T: Send`. The held buffer is the reader's memory, which phase WRITING
// gives to whichever thread holds the writer handle; the elements in it are `T: Send`.
unsafe impl<T: Send, B: Backend> Send for BatchWriter<T, B> {}
// SAFETY: through `&BatchWriter` only the counts and `&Writer` (itself `Sync` for `T: Send`)
// are reachable; the held buffer is touched only through `&mut self`.
unsafe impl<T: Send, B: Backend> Sync for BatchWriter<T, B> {}

impl<T, B: Backend> BatchWriter<T, B> {
    /// Wraps `writer`; nothing is held yet.
    pub fn new(writer: Writer<T, B>) -> Self {
        Self {
            writer,
            held: None,
            undelivered: Vec::new(),
        }
    }

    /// Commits the pushed elements (see [`commit`](Self::commit)) and returns the writer.
    pub fn into_inner(self) -> Writer<T, B> {
        let mut this = ManuallyDrop::new(self);
        this.commit();
        // The undelivered elements (if any) are dropped: the caller gave up the batch writer.
        drop(core::mem::take(&mut this.undelivered));
        // SAFETY: `this` is never used or dropped again, so the writer is moved out once;
        // `held` is `None` after the flush and owns nothing that would need a drop, and
        // `undelivered` is an empty `Vec`, which owns nothing either.
        unsafe { core::ptr::read(&this.writer) }
    }

    /// The writer, for [`close`](Writer::close) and the predicates.
    pub fn writer(&self) -> &Writer<T, B> {
        &self.writer
    }

    /// Commits the pushed elements (see [`commit`](Self::commit)), then returns the writer, for
    /// any other write: those come after the pushed elements.
    pub fn writer_mut(&mut self) -> &mut Writer<T, B> {
        self.commit();
        &mut self.writer
    }

    /// How many elements were pushed and not yet committed.
    pub fn pushed(&self) -> usize {
        self.held.as_ref().map_or(0, |held| held.len)
    }

    /// How many more elements the held buffer takes (0 when no buffer is held).
    pub fn room(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, |held| held.capacity - held.len)
    }

    /// Waits until a buffer with room is held: returns at once if one is, otherwise waits for
    /// the reader to lend one and takes it. Returns the room.
    ///
    /// # Errors
    ///
    /// [`WriteError::Closed`] when either end is closed (the pushed elements are committed
    /// first, so they are the reader's, or, if the reader is gone, kept for
    /// [`take_undelivered`](Self::take_undelivered)). While another handle of the writer
    /// end is writing, waits its turn.
    pub fn hold(&mut self) -> Result<usize, WriteError> {
        self.check_open()?;
        if self.held.is_none() {
            self.held = Some(Held::keep(self.writer.loan()?));
        }
        Ok(self.room())
    }

    /// Puts `value` into the next slot of the held buffer, and commits the buffer if that
    /// filled it. Never waits.
    ///
    /// # Errors
    ///
    /// Gives `value` back when no buffer with room is held: call [`hold`](Self::hold) (or
    /// [`poll_hold`](Self::poll_hold)) first.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        let Some(held) = self.held.as_mut() else {
            return Err(value);
        };
        debug_assert!(held.len < held.capacity);
        // SAFETY: `held` invariant: the buffer is ours (phase WRITING) and has `capacity`
        // slots, of which `len < capacity` are written; slot `len` is free.
        unsafe {
            held.buf
                .as_ptr()
                .add(held.len)
                .write(MaybeUninit::new(value))
        };
        held.len += 1;
        if held.len == held.capacity {
            self.commit();
        }
        Ok(())
    }

    /// Copies elements from the front of `items` into the held buffer, as many as fit, and
    /// commits the buffer if that filled it; returns how many were copied (0 when no buffer
    /// with room is held: call [`hold`](Self::hold) first). Never waits.
    ///
    /// The bulk form of [`push`](Self::push): a writer that produces small slices fills a
    /// large lent buffer with several of them, and the reader is handed (and woken for) one
    /// full buffer instead of one slice at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, mut reader) = stream_core::stream::<u8>();
    /// let t = std::thread::spawn(move || {
    ///     let mut writer = stream_core::BatchWriter::new(writer);
    ///     for _ in 0..4 {
    ///         let mut rest = &b"0123456789"[..];
    ///         while !rest.is_empty() {
    ///             writer.hold().unwrap();
    ///             rest = &rest[writer.push_slice(rest)..];
    ///         }
    ///     }
    /// }); // the drop commits what is held and closes the writer end
    /// let mut got = Vec::new();
    /// while reader.read_append(&mut got, 32).is_ok() {}
    /// assert_eq!(got, b"0123456789".repeat(4));
    /// t.join().unwrap();
    /// ```
    pub fn push_slice(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        let Some(held) = self.held.as_mut() else {
            return 0;
        };
        let n = items.len().min(held.capacity - held.len);
        // SAFETY: `held` invariant: the buffer is ours (phase WRITING), with `capacity`
        // slots of which the first `len` are written; slots `len..len + n` are free and in
        // the buffer, which does not overlap `items` (the reader's memory, lent to us alone).
        unsafe {
            core::ptr::copy_nonoverlapping(
                items.as_ptr(),
                held.buf.as_ptr().add(held.len).cast::<T>(),
                n,
            );
        }
        held.len += n;
        if held.len == held.capacity {
            self.commit();
        }
        n
    }

    /// Commits the pushed elements and wakes the reader; returns how many were delivered.
    /// With nothing pushed, gives a held buffer back to the stream (the reader's read stays
    /// pending). Afterwards nothing is held. Never waits.
    ///
    /// Elements are delivered once committed, also into a reader end that was closed meanwhile
    /// (a closed reader still takes what its pending read received). Only if the reader was
    /// dropped while the buffer was held is nobody left to read them: then the commit returns
    /// 0 and keeps them for [`take_undelivered`](Self::take_undelivered).
    pub fn commit(&mut self) -> usize {
        self.commit_held().unwrap_or(0)
    }

    /// Commits the held buffer: `Ok` with the count delivered, or `Err` with the count of
    /// elements that found no reader, now at the end of `undelivered`.
    pub(crate) fn commit_held(&mut self) -> Result<usize, usize> {
        let Some(held) = self.held.take() else {
            return Ok(0);
        };
        // SAFETY: `held` invariant: we own phase WRITING of this writer's stream, the buffer
        // has `capacity` slots, and the first `len` are initialised; the loan rebuilt here is
        // the one dissolved in `Held::keep`, and ending it ends our hold (`held` is `None` now).
        // `commit_delivered(0)` drops the loan, which returns the buffer.
        let committed = unsafe {
            Loan::<T, B>::new(self.writer.raw(), held.buf.as_ptr(), held.capacity)
                .commit_delivered(held.len)
        };
        match committed {
            Ok(()) => Ok(held.len),
            Err(mut orphaned) => {
                let n = orphaned.count();
                self.undelivered.reserve(n);
                // SAFETY: the orphaned buffer is ours alone and holds `n` initialised
                // elements; they are moved bitwise into the reserved spare capacity, counted
                // by the `Vec` from here on and forgotten by the buffer, whose drop then only
                // frees it.
                unsafe {
                    let len = self.undelivered.len();
                    core::ptr::copy_nonoverlapping(
                        orphaned.addr().cast::<T>(),
                        self.undelivered.as_mut_ptr().add(len),
                        n,
                    );
                    self.undelivered.set_len(len + n);
                    orphaned.forget_elements();
                }
                Err(n)
            }
        }
    }

    /// Takes the elements that were committed but never delivered, oldest first: those a
    /// commit found no reader for, because the reader was dropped while this writer held its
    /// buffer (see [`commit`](Self::commit)). They are given back, for the caller to send
    /// elsewhere; nobody will read them. Empty otherwise.
    pub fn take_undelivered(&mut self) -> Vec<T> {
        core::mem::take(&mut self.undelivered)
    }

    /// The elements that [`take_undelivered`](Self::take_undelivered) would take, oldest
    /// first, left in place: a caller that commits can tell from its length whether the
    /// commit found a reader.
    pub fn undelivered(&self) -> &[T] {
        &self.undelivered
    }

    /// Checks that no end is closed; if one is, commits what was pushed (delivered to a reader
    /// that closed, or kept for `take_undelivered` if the reader is gone) and fails.
    fn check_open(&mut self) -> Result<(), WriteError> {
        if self.writer.is_closed() {
            self.commit();
            return Err(WriteError::Closed(()));
        }
        Ok(())
    }
}

impl<T, B: AsyncBackend> BatchWriter<T, B> {
    /// [`hold`](Self::hold) from async code: `Ready` with the room once a buffer with room is
    /// held (at once if one is); otherwise registers the task's waker in `registration`
    /// and returns `Pending`, holding nothing, as [`Writer::poll_loan`].
    ///
    /// # Errors
    ///
    /// As [`hold`](Self::hold).
    pub fn poll_hold(
        &mut self,
        registration: &mut B::Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, WriteError>> {
        self.check_open()?;
        if self.held.is_none() {
            let loan = match self.writer.poll_loan(registration, cx) {
                Poll::Ready(Ok(loan)) => loan,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            self.held = Some(Held::keep(loan));
        }
        Poll::Ready(Ok(self.room()))
    }
}

impl<T, B: Backend> Drop for BatchWriter<T, B> {
    /// Commits the pushed elements (they were accepted, so they are delivered, not dropped),
    /// then the writer is dropped, and with it any undelivered elements. Never waits.
    fn drop(&mut self) {
        self.commit();
    }
}

impl<T, B: Backend> fmt::Debug for BatchWriter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchWriter")
            .field("writer", &self.writer)
            .field("pushed", &self.pushed())
            .field("room", &self.room())
            .finish()
    }
}
