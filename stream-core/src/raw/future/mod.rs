//! What one-element futures add to the stream protocol. The stream's own transitions
//! (`read.rs`, `write.rs`) never look at these bits; only the functions here set or read them.
//!
//! | addition | where | what |
//! |----------|-------|------|
//! | `FUTURE_READER_WAITS` (state bit 6) | [`RawStream::announce_future_wait`] | the reader may wait on *read ready*; sticky |
//! | `FUTURE_WRITER_GONE` (state bit 7) | [`Shared::deliver_future`] | the writer delivered and released its handle in one CAS; the reader frees |
//! | padded offset (state bits 8-9) | `padded.rs` | where the header sits in its `malloc` block; set at creation, never changed |
//! | the slot lent at creation | [`RawStream::lend_unshared`] | `LENT` with `READER_BUSY` before either handle exists |

mod padded;

use core::ffi::c_void;
use core::ptr::NonNull;

use stream_events::Backend;

use self::padded::{PADDED_OFFSET_MASK, PADDED_OFFSET_SHIFT};
use super::{RawStream, Shared, StartWriteError};
use crate::state::{
    phase, CLOSED_ANY, DONE, IDLE, LENT, PHASE, READER_BUSY, WRITER_BUSY, WRITER_CLOSED,
};
use crate::sync::{ord, Ordering};

/// Future only (state bit): the reader may be waiting on *read ready*
/// ([`RawStream::announce_future_wait`]). Set by the reader only; sticky.
const FUTURE_READER_WAITS: usize = 1 << 6;

/// Future only (state bit): the writer delivered and released its handle in the same CAS
/// ([`Shared::deliver_future`]) without decrementing `active_instances`; it touches the
/// header no more, and the reader frees the allocation. Set with DONE; sticky.
const FUTURE_WRITER_GONE: usize = 1 << 7;

impl<B: Backend, X> Shared<B, X> {
    /// [`RawStream::deliver_and_close`] for a one-element future that also
    /// releases its writer handle when it can, in the same step (LENT -> DONE |
    /// WRITER_CLOSED, plus `FUTURE_WRITER_GONE` when no reader announced a wait).
    ///
    /// * `Ok(true)`: delivered, and nobody can be waiting (the reader never called
    ///   [`RawStream::announce_future_wait`]), so *read ready* is not
    ///   activated and the writer handle is released: `active_instances` still counts it, but
    ///   the reader frees the allocation alone ([`free_padded`](Self::free_padded)) once it
    ///   sees [`RawStream::future_writer_released`]. The caller must not touch the stream
    ///   again, nor release its handle.
    /// * `Ok(false)`: delivered, and *read ready* activated for the announced reader; the
    ///   caller still holds its writer handle and releases it as usual.
    /// * `Err`: nothing changed, the elements are still the caller's
    ///   ([`StartWriteError::Closed`] when an end is closed, `Busy` or `Blocked` when another
    ///   writer took the buffer).
    ///
    /// # Safety
    ///
    /// As for `deliver_and_close`, acting for the caller's writer handle of `this`; and `this`
    /// is a future whose reader frees it with `free_padded` when it sees the writer released
    /// (it came from [`create_padded`](Self::create_padded)).
    ///
    /// `this` is a pointer, not a reference: with `Ok(true)`, the reader may free the
    /// allocation before this function returns.
    pub unsafe fn deliver_future(
        this: NonNull<Self>,
        count: usize,
    ) -> Result<bool, StartWriteError> {
        // SAFETY: the caller's writer handle keeps the allocation alive until the CAS below
        // releases it; `header` is not used after a releasing CAS.
        let header = unsafe { Self::header_of(this) };
        // SAFETY: outside DONE `ready_size` is the writer's, and we are the only writer.
        unsafe { header.ready_size.with_mut(|p| *p = count as isize) };
        let mut s = header.load();
        loop {
            if s & CLOSED_ANY != 0 {
                return Err(StartWriteError::Closed);
            }
            if s & WRITER_BUSY != 0 {
                return Err(StartWriteError::Busy);
            }
            if phase(s) != LENT {
                return Err(StartWriteError::Blocked);
            }
            let gone = if s & FUTURE_READER_WAITS == 0 {
                FUTURE_WRITER_GONE
            } else {
                0
            };
            // ORDERING: Release publishes the elements and `ready_size` to the reader's
            // Acquire load of DONE; with FUTURE_WRITER_GONE it also orders every use of the
            // header by this handle before the reader's free. SeqCst (beyond Release) lets
            // the activation below skip its write when nobody is parked
            // (`activate_after_seqcst`). On failure Acquire, as `load`.
            // LENT -> DONE | WRITER_CLOSED (| FUTURE_WRITER_GONE).
            match header.state.compare_exchange_weak(
                s,
                s ^ (LENT ^ DONE) | WRITER_CLOSED | gone,
                ord("deliver-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        if s & FUTURE_READER_WAITS == 0 {
            // Released: the reader may free the header from here on.
            return Ok(true);
        }
        header.read_ready.activate_after_seqcst();
        Ok(false)
    }
}

impl<B: Backend> RawStream<B> {
    /// Lends the buffer of a stream that no other thread can reach yet (its handles have not
    /// been shared), without activating *write ready*: nobody can be waiting. Used to create
    /// one-element futures with their slot already lent.
    ///
    /// # Safety
    ///
    /// As for [`start_reading`](Self::start_reading), and the stream was just created and its
    /// handles are not yet shared with another thread (so no read is pending and no end is
    /// closed).
    pub unsafe fn lend_unshared(&self, addr: *mut c_void, size: usize) {
        let s = self.load();
        debug_assert_eq!(s & !(PADDED_OFFSET_MASK << PADDED_OFFSET_SHIFT), IDLE);
        // SAFETY: nobody else can reach the header yet.
        unsafe { self.set_buffer(addr, size) };
        // ORDERING: Relaxed: the handles reach other threads through a synchronising send
        // (thread spawn, channel), which publishes this store with the fields.
        self.state.store(s | LENT | READER_BUSY, Ordering::Relaxed);
    }

    /// Delivers `count` elements that the caller wrote into the lent buffer *without taking
    /// it*, and closes the writer end, in one step: LENT -> DONE | WRITER_CLOSED. Returns
    /// `false`, changing nothing, if no buffer is lent or an end is closed: the elements are
    /// then still the caller's. Used by one-element futures, whose slot lives in the stream's
    /// own allocation.
    ///
    /// # Safety
    ///
    /// The caller is the only writer handle and is not writing otherwise; `count` is at most
    /// the lent capacity; and the lent buffer is memory the reader reads only after this call
    /// succeeds (a reclaimed buffer is never read), so writing it before the transition races
    /// with nobody.
    pub unsafe fn deliver_and_close(&self, count: usize) -> bool {
        // SAFETY: outside DONE `ready_size` is the writer's, and we are the only writer.
        unsafe { self.ready_size.with_mut(|p| *p = count as isize) };
        let mut s = self.load();
        loop {
            if phase(s) != LENT || s & (CLOSED_ANY | WRITER_BUSY) != 0 {
                return false;
            }
            // ORDERING: Release publishes the elements and `ready_size` to the reader's
            // Acquire load of DONE; SeqCst (beyond Release) lets the activation below skip
            // its write when nobody is parked. LENT -> DONE | WRITER_CLOSED.
            match self.state.compare_exchange_weak(
                s,
                s ^ (LENT ^ DONE) | WRITER_CLOSED,
                ord("deliver-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        self.read_ready.activate_after_seqcst();
        true
    }

    /// For a one-element future's reader, before it waits on *read ready* (blocking or
    /// polling): records that a reader may be waiting, so that
    /// [`Shared::deliver_future`] activates the event. Sticky; harmless after
    /// the delivery (the wait's condition then holds at once).
    pub fn announce_future_wait(&self) {
        // ORDERING: Relaxed: the flag publishes no data. This RMW and the delivery's CAS are
        // ordered by the state word's modification order alone: either the CAS reads the
        // flag (and activates after delivering), or the delivery comes first and the wait's
        // condition, an Acquire load sequenced after this RMW, sees it.
        self.state.fetch_or(FUTURE_READER_WAITS, Ordering::Relaxed);
    }

    /// For a one-element future's reader: `Some(untaken)` once the writer has delivered with
    /// [`Shared::deliver_future`] and released its handle in that step (then
    /// the reader is the allocation's only user and frees it with [`Shared::free_padded`]);
    /// `untaken` says whether the value is still in the slot (phase DONE). `None` otherwise.
    pub fn future_writer_released(&self) -> Option<bool> {
        // Acquire (`load`) pairs with the Release delivery: the writer's uses of the header
        // and the slot happen before whatever the reader does next, the free included.
        let s = self.load();
        (s & FUTURE_WRITER_GONE != 0).then_some(phase(s) == DONE)
    }

    /// For a one-element future's reader once [`future_writer_released`] returned
    /// `Some(true)`: takes the delivered count and ends the read, as
    /// [`read_amount`](Self::read_amount) would, with plain stores instead of a
    /// read-modify-write: no other thread uses the header any more.
    ///
    /// # Safety
    ///
    /// `future_writer_released` returned `Some(true)` to the caller, which owns the pending
    /// read and is the only handle left (the writer's was released in its delivery).
    ///
    /// [`future_writer_released`]: Self::future_writer_released
    pub unsafe fn take_count_alone(&self) -> usize {
        // SAFETY: phase DONE and we own the read, so `ready_size` is ours; no other thread
        // uses the header (the caller's contract).
        let n = unsafe { self.take_ready_size() };
        // ORDERING: Relaxed: the caller's Acquire observation of the writer's release ordered
        // every other use of the header before this; nobody else reads the state any more
        // except this thread (its drop). DONE | READER_BUSY -> IDLE, as `take_count`.
        let s = self.state.load(Ordering::Relaxed);
        debug_assert_eq!(
            s & (PHASE | READER_BUSY | FUTURE_WRITER_GONE),
            DONE | READER_BUSY | FUTURE_WRITER_GONE
        );
        // ORDERING: Relaxed, as above.
        self.state
            .store(s ^ (DONE | READER_BUSY), Ordering::Relaxed);
        n
    }
}
