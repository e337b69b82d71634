//! The reader side of [`RawStream`]: lending a buffer, waiting for the writer, taking the
//! committed count, cancelling a read, and closing the reader end. It touches the buffer
//! fields and `ready_size` only in the phases that give them to the reader (`crate::state`).

use core::ffi::c_void;

use stream_abi::{BLOCKED, CLOSED};
use stream_events::Backend;

use super::{RawStream, StartReadError, Wait};
use crate::state::{
    phase, CLOSED_ANY, DONE, IDLE, LENT, OPEN, PHASE, READER_BUSY, READER_CLOSED, WRITER_BUSY,
    WRITER_CLOSED, WRITING,
};
use crate::sync::{ord, Ordering};

/// Why a read cannot start from state `s` (`Ok` when it can: phase IDLE, no read pending, no
/// end closed, and, with `only_if_writer_waits`, a writer waiting).
fn read_refusal(s: usize, only_if_writer_waits: bool) -> Result<(), StartReadError> {
    if s & READER_CLOSED != 0 {
        return Err(StartReadError::Closed);
    }
    if s & READER_BUSY != 0 {
        return Err(StartReadError::Busy);
    }
    if s & WRITER_CLOSED != 0 {
        // End of stream: phase is IDLE (no read is pending), so every committed count was
        // taken.
        return Err(StartReadError::Closed);
    }
    if only_if_writer_waits && s & WRITER_BUSY == 0 {
        return Err(StartReadError::Empty);
    }
    debug_assert_eq!(phase(s), IDLE);
    Ok(())
}

impl<B: Backend> RawStream<B> {
    /// Lends `size` elements at `addr` to the writer and activates *write ready*.
    ///
    /// On success the caller owns the pending read: it must end it with
    /// [`read_amount`](Self::read_amount) returning a count or [`CLOSED`], or with
    /// [`cancel_read`](Self::cancel_read), before it reuses or frees the buffer. A zero `size`
    /// is a readiness probe: it completes with a count of 0 once a writer is ready to write.
    ///
    /// # Errors
    ///
    /// [`StartReadError::Closed`] at end of stream or on a closed reader end;
    /// [`StartReadError::Busy`] when another read is pending.
    ///
    /// # Safety
    ///
    /// `addr` is valid for writes of `size` elements of the stream's element type (any
    /// non-null, aligned address when `size` is 0) until the read ends as described above.
    pub unsafe fn start_reading(
        &self,
        addr: *mut c_void,
        size: usize,
    ) -> Result<(), StartReadError> {
        self.acquire_reader(false)?;
        // SAFETY: we hold READER_BUSY in phase IDLE, which makes the buffer fields ours.
        unsafe { self.lend(addr, size) };
        Ok(())
    }

    /// Like [`start_reading`](Self::start_reading), but lends the buffer only if a writer is
    /// waiting for one.
    ///
    /// # Errors
    ///
    /// As `start_reading`, plus [`StartReadError::Empty`] when no writer is waiting.
    ///
    /// # Safety
    ///
    /// As for `start_reading`.
    pub unsafe fn try_start_reading(
        &self,
        addr: *mut c_void,
        size: usize,
    ) -> Result<(), StartReadError> {
        self.acquire_reader(true)?;
        // SAFETY: we hold READER_BUSY in phase IDLE, which makes the buffer fields ours.
        unsafe { self.lend(addr, size) };
        Ok(())
    }

    /// [`start_reading`](Self::start_reading) for the only handle of the reader end: stores
    /// the buffer first and then takes READER_BUSY and lends in one step (IDLE -> LENT |
    /// READER_BUSY), one read-modify-write instead of two.
    ///
    /// # Errors
    ///
    /// As `start_reading`.
    ///
    /// # Safety
    ///
    /// As for `start_reading`, and the caller acts for the only reader handle, which no other
    /// thread can use or clone meanwhile (its `&mut`), after an Acquire observation of
    /// `active_instances` that counted one reader handle
    /// ([`active_instances_acquire`](Self::active_instances_acquire)). So nobody else can start
    /// a read: the buffer fields, which belong to the reader end in phase IDLE, are ours
    /// before we take READER_BUSY, and the Acquire ordered the last use of them by a dropped
    /// clone before ours.
    pub(crate) unsafe fn start_reading_unique(
        &self,
        addr: *mut c_void,
        size: usize,
    ) -> Result<(), StartReadError> {
        // Look before writing the fields: a read left pending on this handle through the raw
        // API (`start_reading`) owns them until it ends, and must get `Busy`, untouched.
        let mut s = self.load();
        read_refusal(s, false)?;
        // SAFETY: phase IDLE without READER_BUSY: the fields are the reader end's (the writer
        // touches them only after it observes LENT), and no other reader handle exists to
        // take them (the caller's contract); nothing else can set READER_BUSY meanwhile.
        unsafe { self.set_buffer(addr, size) };
        loop {
            // ORDERING: Acquire, as `acquire_reader`: the previous read's release of the
            // reader end (Release) happens before this read. Release publishes the fields to
            // the writer's Acquire take, as `lend`. SeqCst (beyond AcqRel) lets the activation
            // below skip its write when nobody is parked (`activate_after_seqcst`).
            // IDLE -> LENT | READER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                s | LENT | READER_BUSY,
                ord("lend-release", Ordering::SeqCst),
                ord("acquire-reader-acquire", Ordering::Acquire),
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
            // Only a closed flag can have appeared (nothing else may take the reader end).
            if let Err(e) = read_refusal(s, false) {
                debug_assert_eq!(e, StartReadError::Closed);
                // SAFETY: as above: still IDLE and not lent, the fields are still ours.
                unsafe { self.set_buffer(core::ptr::null_mut(), 0) };
                return Err(e);
            }
        }
        self.write_ready.activate_after_seqcst();
        Ok(())
    }

    /// Takes READER_BUSY (IDLE, not busy -> IDLE | READER_BUSY).
    pub(super) fn acquire_reader(&self, only_if_writer_waits: bool) -> Result<(), StartReadError> {
        let mut s = self.load();
        loop {
            read_refusal(s, only_if_writer_waits)?;
            // ORDERING: Acquire: taking the reader end after the previous read released it
            // (its DONE -> IDLE or LENT -> IDLE was Release) makes that read's field accesses
            // happen before ours. IDLE -> IDLE | READER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                s | READER_BUSY,
                ord("acquire-reader-acquire", Ordering::Acquire),
                ord("acquire-reader-acquire", Ordering::Acquire),
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// Stores the buffer and moves IDLE -> LENT.
    ///
    /// # Safety
    ///
    /// The caller holds READER_BUSY in phase IDLE; the buffer is valid as `start_reading`
    /// requires.
    unsafe fn lend(&self, addr: *mut c_void, size: usize) {
        // SAFETY: in phase IDLE with READER_BUSY held the buffer fields belong to us (the
        // writer touches them only after it observes LENT).
        unsafe { self.set_buffer(addr, size) };
        // IDLE -> LENT (only the reader leaves IDLE, so flipping the bit is the transition).
        // ORDERING: Release publishes the fields to the writer's Acquire CAS LENT -> WRITING;
        // SeqCst lets the activation skip its write when nobody is parked.
        let prev = self
            .state
            .fetch_xor(IDLE ^ LENT, ord("lend-release", Ordering::SeqCst));
        debug_assert_eq!(phase(prev), IDLE, "lend from state {prev:#x}");
        self.write_ready.activate_after_seqcst();
    }

    /// Stores the buffer fields (`read_addr`, `read_size`); null and 0 clear them.
    ///
    /// # Safety
    ///
    /// The caller owns the fields in the current phase (`docs/design.md`, "stream-core").
    pub(super) unsafe fn set_buffer(&self, addr: *mut c_void, size: usize) {
        // Counts travel in `ready_size`, an `isize` whose negative values are sentinels:
        // lend at most `isize::MAX` elements (only zero-sized elements get near it).
        let size = size.min(isize::MAX as usize);
        // SAFETY: forwarded from the caller.
        unsafe {
            self.read_addr.with_mut(|p| *p = addr);
        }
        // ORDERING: Relaxed: the caller owns the field; the next transition publishes it.
        self.read_size.store(size, Ordering::Relaxed);
    }

    /// Takes the committed count out of `ready_size`, leaving `BLOCKED`.
    ///
    /// # Safety
    ///
    /// Phase is DONE and the caller owns the read (so `ready_size` is its own).
    pub(super) unsafe fn take_ready_size(&self) -> usize {
        let n = self.ready_size_get();
        self.ready_size_set(BLOCKED);
        debug_assert!(n >= 0);
        n as usize
    }

    /// Whether a read is pending (started and not yet ended) on the reader end.
    pub fn is_read_pending(&self) -> bool {
        // ORDERING: Acquire, like every observation of the reader end's state.
        self.load() & READER_BUSY != 0
    }

    /// Whether a count is committed and not yet taken (phase DONE), so that
    /// [`read_amount`](Self::read_amount) would return it without waiting. A readiness
    /// predicate for callers that wait on [`read_ready_event`](Self::read_ready_event) with a
    /// condition of their own (the symmetric runtime's read-ready subscription).
    pub fn is_read_complete(&self) -> bool {
        // ORDERING: Acquire, like every observation of the reader end's state.
        phase(self.load()) == DONE
    }

    /// Blocks until the pending read can end: a count is committed or an end closes; with
    /// `give_up_when_writer_leaves`, also when no writer is waiting any more. Returns whether
    /// that happened before the deadline of `wait`.
    pub(crate) fn wait_read(&self, wait: Wait, give_up_when_writer_leaves: bool) -> bool {
        let cond = || {
            let s = self.load();
            phase(s) == DONE
                || s & CLOSED_ANY != 0
                || (give_up_when_writer_leaves && phase(s) == LENT && s & WRITER_BUSY == 0)
        };
        match wait.deadline() {
            None => {
                self.read_ready.wait_until(cond);
                true
            }
            Some(deadline) => self.read_ready.wait_until_deadline(cond, deadline),
        }
    }

    /// Polls the pending read without blocking: returns the committed count (taking it and
    /// ending the read), [`CLOSED`] if an end closed before the writer took the buffer (the
    /// buffer is reclaimed and the read ended), or [`BLOCKED`] if the read is still pending.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read (its `start_reading` succeeded and the read has not
    /// ended).
    pub unsafe fn read_amount(&self) -> isize {
        let s = self.load();
        if phase(s) == DONE {
            // SAFETY: phase DONE and we own the read, so `ready_size` is ours.
            return unsafe { self.take_count() } as isize;
        }
        if s & CLOSED_ANY != 0 && phase(s) == LENT && self.reclaim(s) {
            return CLOSED;
        }
        BLOCKED
    }

    /// Ends the pending read: if the writer has not taken the buffer, reclaims it and returns
    /// `None`; if the writer holds it, waits for the writer to commit or return it (a writer
    /// never blocks while it holds a buffer); returns `Some(count)` if a count was committed.
    ///
    /// When it returns, nothing refers to the buffer any more.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read.
    pub(crate) unsafe fn end_read(&self) -> Option<usize> {
        loop {
            // SAFETY: forwarded from the caller.
            match unsafe { self.try_end_read() } {
                Ok(ended) => return ended,
                Err(()) => self.read_ready.wait_until(|| phase(self.load()) != WRITING),
            }
        }
    }

    /// [`end_read`](Self::end_read) without the wait: `Err(())`, changing nothing, while the
    /// writer holds the buffer.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read.
    unsafe fn try_end_read(&self) -> Result<Option<usize>, ()> {
        loop {
            let s = self.load();
            match phase(s) {
                // SAFETY: phase DONE and we own the read, so `ready_size` is ours.
                DONE => return Ok(Some(unsafe { self.take_count() })),
                // A failed reclaim means the writer took the buffer (or returned it and the
                // state moved on): look again.
                LENT if self.reclaim(s) => return Ok(None),
                LENT => {}
                WRITING => return Err(()),
                _ => unreachable!("end_read without a pending read (state {s:#x})"),
            }
        }
    }

    /// Cancels the pending read and returns the number of elements delivered into the
    /// buffer ([`CANCELLED`](stream_abi::CANCELLED), 0, if the writer had not taken it).
    ///
    /// If the writer is writing into the buffer, waits for its commit. When it returns, the
    /// read has ended and nothing refers to the buffer.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read.
    pub unsafe fn cancel_read(&self) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.end_read() }.unwrap_or(0)
    }

    /// Cancels the pending read unless the writer is copying into the buffer right now:
    /// returns the number of elements delivered (0 if the buffer was reclaimed untouched), or
    /// `None`, changing nothing, while the writer holds the buffer (the read stays pending).
    /// Never waits.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read.
    pub unsafe fn try_cancel_read(&self) -> Option<usize> {
        // SAFETY: forwarded from the caller.
        unsafe { self.try_end_read() }
            .ok()
            .map(|ended| ended.unwrap_or(0))
    }

    /// LENT -> IDLE, then clears the buffer fields and releases READER_BUSY; fails if the
    /// writer took the buffer first.
    fn reclaim(&self, mut s: usize) -> bool {
        loop {
            if phase(s) != LENT {
                return false;
            }
            // ORDERING: Acquire pairs with the writer's Release when it returned a loan
            // (WRITING -> LENT): its writes into the buffer happen before our reuse of it.
            // LENT | READER_BUSY -> IDLE | READER_BUSY (the reader end stays ours until the
            // fields are cleared); an open lend ends too (OPEN cleared: its reader, C here,
            // owns ring and elements again).
            match self.state.compare_exchange_weak(
                s,
                s & !(PHASE | OPEN),
                ord("reclaim-acquire", Ordering::Acquire),
                ord("reclaim-acquire", Ordering::Acquire),
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        // SAFETY: phase IDLE with READER_BUSY still held: the fields are ours (no writer
        // touches them before the next lend, and no other reader can start one).
        unsafe { self.set_buffer(core::ptr::null_mut(), 0) };
        if s & OPEN != 0 {
            // The writer's position goes back to the idle count (ours, as the fields).
            self.ready_size_set(BLOCKED);
        }
        // ORDERING: Release hands the reader end (and the cleared fields) to the next reader's
        // Acquire in `acquire_reader`; SeqCst lets the activation (for a clone waiting its
        // turn, `wait_turn`) skip its write when nobody is parked. IDLE | READER_BUSY -> IDLE.
        self.state
            .fetch_and(!READER_BUSY, ord("reclaim-release", Ordering::SeqCst));
        self.read_ready.activate_after_seqcst();
        true
    }

    /// Takes `ready_size` and moves DONE -> IDLE, releasing READER_BUSY.
    ///
    /// # Safety
    ///
    /// Phase is DONE and the caller owns the read.
    pub(super) unsafe fn take_count(&self) -> usize {
        // SAFETY: in DONE `ready_size` belongs to the reader (the writer's Release commit
        // happened before our Acquire load of DONE).
        let n = unsafe { self.take_ready_size() };
        self.release_done();
        n
    }

    /// DONE | READER_BUSY -> IDLE: ends a read whose count was taken.
    fn release_done(&self) {
        // ORDERING: Release: our read of `ready_size` (and of the buffer, by our caller, which
        // happens after this anyway) is ordered before the writer's next write of it, which
        // follows its Acquire of our next lend. SeqCst lets the activation (for a clone
        // waiting its turn, `wait_turn`) skip its write when nobody is parked.
        // DONE | READER_BUSY -> IDLE.
        let prev = self.state.fetch_xor(
            DONE | READER_BUSY,
            ord("take-count-release", Ordering::SeqCst),
        );
        debug_assert_eq!(
            prev & (PHASE | READER_BUSY),
            DONE | READER_BUSY,
            "take from {prev:#x}"
        );
        self.read_ready.activate_after_seqcst();
    }

    /// Closes the reader end: every later write fails with "closed", a waiting writer wakes.
    /// Closing twice is a no-op. A pending read (of another handle of the reader end) is woken
    /// and ends with what was delivered. Returns whether this call closed it (`false`: it
    /// was closed already).
    pub fn close_read(&self) -> bool {
        // ORDERING: Release pairs with the Acquire loads of waiters that see the flag; SeqCst
        // (beyond Release) lets the activations skip their writes when nobody is parked.
        let prev = self
            .state
            .fetch_or(READER_CLOSED, ord("close-read-release", Ordering::SeqCst));
        // Waiters wake for either flag: if one was already set, they woke then.
        if prev & CLOSED_ANY == 0 {
            self.write_ready.activate_after_seqcst();
            self.read_ready.activate_after_seqcst();
        }
        prev & READER_CLOSED == 0
    }
}
