//! [`Loan`]: a buffer the writer took, to fill and commit (the zero-copy write).

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use stream_events::Backend;

use crate::raw::{OrphanedBuffer, RawStream};

/// A lent buffer, taken by the writer: fill a prefix of it, then [`commit`](Loan::commit).
///
/// Dropping a loan without committing returns the buffer to the stream: the reader's read
/// stays pending and is not woken with a result. Elements written into a loan that is
/// dropped are forgotten, not dropped (as with `MaybeUninit`); the safe fillers
/// ([`fill_from_iter`](Loan::fill_from_iter), [`copy_from_slice`](Loan::copy_from_slice))
/// commit what they write.
///
/// Forgetting a loan (`mem::forget`) is safe but leaves the buffer taken: the reader's read
/// (and every other write) waits until the last writer handle is released, which returns it.
///
/// A loan never has zero capacity: a zero-capacity buffer is a reader's readiness probe, which
/// [`Writer::loan`](crate::Writer::loan) answers by itself before waiting for a real buffer.
pub struct Loan<'a, T, B: Backend> {
    raw: &'a RawStream<B>,
    buf: NonNull<MaybeUninit<T>>,
    capacity: usize,
    _writer: PhantomData<&'a mut [MaybeUninit<T>]>,
}

impl<'a, T, B: Backend> Loan<'a, T, B> {
    /// # Safety
    ///
    /// The caller owns phase WRITING of `raw`; `buf` is the lent buffer of `capacity >= 1`
    /// elements of `T`.
    pub(crate) unsafe fn new(
        raw: &'a RawStream<B>,
        buf: *mut MaybeUninit<T>,
        capacity: usize,
    ) -> Self {
        debug_assert!(capacity > 0);
        Self {
            raw,
            // SAFETY: a lent buffer with room is a non-null address (`start_reading`'s
            // contract; slices never have a null pointer).
            buf: unsafe { NonNull::new_unchecked(buf) },
            capacity,
            _writer: PhantomData,
        }
    }

    /// How many elements the buffer holds (at least 1).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The buffer, to be filled from the start.
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: we own the buffer (phase WRITING) until commit or drop; it holds `capacity`
        // elements and the reader does not touch it meanwhile.
        unsafe { core::slice::from_raw_parts_mut(self.buf.as_ptr(), self.capacity) }
    }

    /// Hands the first `count` elements to the reader and wakes it. `commit(0)` is the same as
    /// dropping the loan: the buffer goes back and the read stays pending.
    ///
    /// # Panics
    ///
    /// If `count` exceeds [`capacity`](Self::capacity).
    ///
    /// # Safety
    ///
    /// The first `count` elements of the buffer are initialised. They now belong to the
    /// reader (the writer must not drop them). If the reader was dropped while the loan was
    /// held, it handed its buffer over to the stream, and the commit drops them (on this
    /// thread) and frees that buffer, as the reader's drop would have.
    pub unsafe fn commit(self, count: usize) {
        // SAFETY: forwarded from the caller. Undelivered elements (the reader was dropped
        // while we held its buffer) are dropped with the buffer.
        drop(unsafe { self.commit_delivered(count) });
    }

    /// [`commit`](Self::commit), saying whether the elements were delivered: `Err` when the
    /// reader was dropped while we held its buffer, so that the commit ended its read itself;
    /// the [`OrphanedBuffer`] holds the elements (nobody will read them), and drops them and
    /// frees the buffer when dropped. `Ok` for `count == 0`.
    ///
    /// # Safety
    ///
    /// As for `commit`.
    pub(crate) unsafe fn commit_delivered(self, count: usize) -> Result<(), OrphanedBuffer> {
        assert!(count <= self.capacity, "commit beyond the loan's capacity");
        if count == 0 {
            return Ok(()); // Drop returns the buffer.
        }
        let raw = self.raw;
        core::mem::forget(self);
        // SAFETY: we own WRITING (forgotten loan) and the caller initialised `count`.
        unsafe { raw.commit(count, false) }
    }

    /// Writes elements from `iter` until the buffer is full or the iterator ends, and commits
    /// them; returns how many were delivered. Elements the buffer had no room for stay in the
    /// iterator. If the reader was dropped while the loan was held, nothing is delivered: the
    /// commit drops the elements it took (they cannot go back into the iterator) and this
    /// returns 0.
    ///
    /// If the iterator panics, the elements already written are dropped and the buffer goes
    /// back to the stream.
    pub fn fill_from_iter<I: IntoIterator<Item = T>>(mut self, iter: I) -> usize {
        /// Drops the written prefix if `next` unwinds.
        struct Written<'b, T>(&'b mut [MaybeUninit<T>], usize);
        impl<T> Drop for Written<'_, T> {
            fn drop(&mut self) {
                for slot in &mut self.0[..self.1] {
                    // SAFETY: the first `self.1` slots were written and not committed.
                    unsafe { slot.assume_init_drop() };
                }
            }
        }
        let mut iter = iter.into_iter();
        let capacity = self.capacity;
        let mut written = Written(self.as_uninit_mut(), 0);
        while written.1 < capacity {
            match iter.next() {
                Some(value) => {
                    written.0[written.1].write(value);
                    written.1 += 1;
                }
                None => break,
            }
        }
        let n = written.1;
        core::mem::forget(written);
        // SAFETY: the first `n` elements were written above. Undelivered ones are dropped
        // with the orphaned buffer.
        match unsafe { self.commit_delivered(n) } {
            Ok(()) => n,
            Err(_orphaned) => 0,
        }
    }

    /// Copies as many elements of `items` as fit and commits them; returns how many were
    /// delivered: 0 (with `items` non-empty) when the reader was dropped while the loan was
    /// held, so that nobody will read them.
    pub fn copy_from_slice(mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        let n = self.capacity.min(items.len());
        // SAFETY: `MaybeUninit<T>` has the layout of `T`; `n` fits both.
        let src = unsafe { core::slice::from_raw_parts(items.as_ptr().cast(), n) };
        self.as_uninit_mut()[..n].copy_from_slice(src);
        // SAFETY: the first `n` elements were copied above (`Copy`: the orphaned buffer's
        // drop has nothing to drop).
        match unsafe { self.commit_delivered(n) } {
            Ok(()) => n,
            Err(_orphaned) => 0,
        }
    }

    /// Moves as many elements from the front of `items` as fit and commits them; the rest
    /// stay in `items`, in order. Returns how many moved. If the reader was dropped while the
    /// loan was held, nothing is delivered: every element stays in `items` and this returns 0
    /// (with `items` non-empty).
    pub fn move_from_vec(self, items: &mut Vec<T>) -> usize {
        let len = items.len();
        let n = self.capacity.min(len);
        let rest = len - n;
        // The first `n` elements are copied bitwise into the buffer, with the `Vec`'s length
        // at 0 meanwhile (so that nothing drops them twice); the commit then either hands them
        // to the reader (the `Vec` forgets them, and the remaining `rest` move to the front)
        // or, with nobody to deliver to, leaves them the `Vec`'s (the buffer forgets them).
        // SAFETY: the loan's buffer has room for `n` elements and does not overlap `items`;
        // the commit hands the `n` initialised elements to the reader (0: returns the buffer).
        unsafe {
            core::ptr::copy_nonoverlapping(items.as_ptr(), self.buf.as_ptr().cast::<T>(), n);
            items.set_len(0);
            match self.commit_delivered(n) {
                Ok(()) => {
                    core::ptr::copy(items.as_ptr().add(n), items.as_mut_ptr(), rest);
                    items.set_len(rest);
                    n
                }
                Err(mut orphaned) => {
                    orphaned.forget_elements();
                    items.set_len(len);
                    0
                }
            }
        }
    }

    /// Dissolves the loan without ending the write: returns the buffer's address and capacity.
    /// The caller now owns phase WRITING and must end it, through [`Loan::new`] and a
    /// commit or drop of that loan, before the writer handle is released or used for another
    /// write (`BatchWriter` keeps a buffer between calls this way).
    pub(crate) fn into_raw_parts(self) -> (NonNull<MaybeUninit<T>>, usize) {
        let parts = (self.buf, self.capacity);
        core::mem::forget(self);
        parts
    }

    /// Writes `value` into the first slot and commits it. Gives it back when the reader was
    /// dropped while the loan was held (nobody would read it).
    ///
    /// # Errors
    ///
    /// `value`, when it was not delivered.
    pub fn commit_one(mut self, value: T) -> Result<(), T> {
        self.as_uninit_mut()[0].write(value);
        // SAFETY: element 0 was written just above; capacity is at least 1.
        match unsafe { self.commit_delivered(1) } {
            Ok(()) => Ok(()),
            Err(mut orphaned) => {
                // SAFETY: the orphaned buffer is ours alone and holds our one element, which
                // is moved out once and then forgotten by the buffer (its drop only frees it).
                unsafe {
                    let value = orphaned.addr().cast::<T>().read();
                    orphaned.forget_elements();
                    Err(value)
                }
            }
        }
    }
}

impl<T, B: Backend> Drop for Loan<'_, T, B> {
    /// Returns the buffer to the stream; the reader's read stays pending.
    fn drop(&mut self) {
        // SAFETY: we own WRITING (the loan was neither committed nor forgotten).
        unsafe { self.raw.return_buffer() };
    }
}

impl<T, B: Backend> fmt::Debug for Loan<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loan")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
