//! The writer side of [`RawStream`]: taking the lent buffer (at once or after a wait),
//! committing a count, returning a loan, and closing the writer end. It touches the buffer
//! fields and the buffer only in phase `WRITING`, which it owns (`crate::state`).

use core::ffi::c_void;

use stream_abi::CLOSED;
use stream_events::Backend;

use super::open::OrphanedOpen;
use super::{RawStream, StartWriteError, Wait};
use crate::state::{
    phase, CLOSED_ANY, DONE, LENT, OPEN, PHASE, READ_ORPHANED, WRITER_BUSY, WRITER_CLOSED, WRITING,
};
use crate::sync::{ord, Ordering};

impl<B: Backend> RawStream<B> {
    /// Takes the lent buffer without blocking: returns its address and capacity, and the
    /// caller owns it until [`finish_writing`](Self::finish_writing).
    ///
    /// A zero capacity is a reader's readiness probe: answer it with `finish_writing(0)`.
    ///
    /// # Errors
    ///
    /// [`StartWriteError::Blocked`] when no buffer is lent, [`StartWriteError::Busy`] when
    /// another write is in progress, [`StartWriteError::Closed`] when either end is closed.
    ///
    /// # Safety
    ///
    /// The caller acts for a writer handle that it holds, and ends the write with
    /// [`finish_writing`](Self::finish_writing) (a count, or 0 to return the buffer) before it
    /// releases that handle. (The last writer handle's release returns a buffer left taken,
    /// trusting that its releaser took it.)
    pub unsafe fn start_writing(&self) -> Result<(*mut c_void, usize), StartWriteError> {
        let mut s = self.load();
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
            // ORDERING: Acquire pairs with the reader's Release lend: the buffer fields and
            // the buffer are ours after it. LENT -> WRITING | WRITER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                s ^ (LENT ^ WRITING) | WRITER_BUSY,
                ord("start-writing-acquire", Ordering::Acquire),
                ord("start-writing-acquire", Ordering::Acquire),
            ) {
                // SAFETY: phase WRITING is ours.
                Ok(_) => match unsafe { self.taken_buffer(s, false) } {
                    Some(buffer) => return Ok(buffer),
                    None => return Err(StartWriteError::Blocked),
                },
                Err(actual) => s = actual,
            }
        }
    }

    /// The buffer a take from state `s` just took: the lent buffer, or the free region of an
    /// open lend. `None` when an open lend's ring is full: the ring was given back (keeping
    /// WRITER_BUSY if `keep_busy`) and the caller holds no buffer.
    ///
    /// # Safety
    ///
    /// The caller just moved `s` (phase LENT) to WRITING and owns it.
    #[inline]
    unsafe fn taken_buffer(&self, s: usize, keep_busy: bool) -> Option<(*mut c_void, usize)> {
        if s & OPEN == 0 {
            // SAFETY: forwarded: WRITING is ours.
            return Some(unsafe { self.lent_buffer() });
        }
        // SAFETY: forwarded: WRITING of an open lend is ours.
        match unsafe { self.open_region() } {
            Some(region) => Some((region.addr, region.len)),
            None => {
                // SAFETY: as above, nothing written.
                unsafe { self.give_back_full(keep_busy) };
                None
            }
        }
    }

    /// Takes WRITER_BUSY for a write that will wait for a buffer, or takes the lent buffer at
    /// once (`Ok(Some(..))`) if there is one.
    pub(crate) fn acquire_writer(
        &self,
        take: bool,
    ) -> Result<Option<(*mut c_void, usize)>, StartWriteError> {
        let mut s = self.load();
        loop {
            if s & CLOSED_ANY != 0 {
                return Err(StartWriteError::Closed);
            }
            if s & WRITER_BUSY != 0 {
                return Err(StartWriteError::Busy);
            }
            let lent = take && phase(s) == LENT;
            let next = if lent {
                s ^ (LENT ^ WRITING) | WRITER_BUSY
            } else {
                s | WRITER_BUSY
            };
            // ORDERING: Acquire pairs with the reader's Release lend (when taking) and with the
            // previous writer's Release commit or release of WRITER_BUSY.
            // LENT -> WRITING | WRITER_BUSY, or any phase -> same phase | WRITER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                next,
                ord("acquire-writer-acquire", Ordering::Acquire),
                ord("acquire-writer-acquire", Ordering::Acquire),
            ) {
                // SAFETY: phase WRITING is ours when `lent`; a full open lend is given back
                // with WRITER_BUSY kept, and the caller waits for room.
                Ok(_) if lent => return Ok(unsafe { self.taken_buffer(s, true) }),
                Ok(_) => return Ok(None),
                Err(actual) => s = actual,
            }
        }
    }

    /// With WRITER_BUSY held: waits for a lent buffer (or an end closing) and, if `take`,
    /// takes it. Returns `Ok(Some(buffer))` when taken, `Ok(None)` when a buffer is lent and
    /// `take` is false, and an error (with WRITER_BUSY released) otherwise.
    ///
    /// # Safety
    ///
    /// The caller holds WRITER_BUSY and no buffer.
    pub(crate) unsafe fn wait_writable(
        &self,
        wait: Wait,
        take: bool,
    ) -> Result<Option<(*mut c_void, usize)>, WaitWriteError> {
        let deadline = wait.deadline();
        loop {
            let cond = || {
                let s = self.load();
                s & CLOSED_ANY != 0 || self.writable_in(s)
            };
            let ready = match deadline {
                None => {
                    self.write_ready.wait_until(cond);
                    true
                }
                Some(d) => self.write_ready.wait_until_deadline(cond, d),
            };
            let s = self.load();
            if s & CLOSED_ANY != 0 {
                // SAFETY: forwarded: we hold WRITER_BUSY and no buffer.
                unsafe { self.release_writer_busy() };
                return Err(WaitWriteError::Closed);
            }
            if self.writable_in(s) {
                if !take {
                    return Ok(None);
                }
                // ORDERING: Acquire pairs with the reader's Release lend (or the previous
                // writer's Release give-back of an open lend).
                // LENT | WRITER_BUSY -> WRITING | WRITER_BUSY.
                if self
                    .state
                    .compare_exchange(
                        s,
                        s ^ (LENT ^ WRITING),
                        ord("wait-take-acquire", Ordering::Acquire),
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    // SAFETY: phase WRITING is ours; a full ring goes back, WRITER_BUSY kept.
                    if let Some(buffer) = unsafe { self.taken_buffer(s, true) } {
                        return Ok(Some(buffer));
                    }
                }
                // The reader reclaimed it, a flag changed, or the ring filled up: look again.
                continue;
            }
            if !ready {
                // SAFETY: forwarded: we hold WRITER_BUSY and no buffer.
                unsafe { self.release_writer_busy() };
                return Err(WaitWriteError::Timeout);
            }
        }
    }

    /// Whether state `s` lets a writer take a buffer: one is lent, and if it is an open lend
    /// its ring has room (a hint for waits: the take checks again).
    #[inline]
    pub(super) fn writable_in(&self, s: usize) -> bool {
        phase(s) == LENT && (s & OPEN == 0 || self.open_has_room())
    }

    /// Releases WRITER_BUSY without having written, and wakes a reader that lent only
    /// because a writer was waiting (`try_start_reading`).
    ///
    /// # Safety
    ///
    /// The caller holds WRITER_BUSY and no buffer.
    pub(crate) unsafe fn release_writer_busy(&self) {
        // ORDERING: SeqCst, only so that the activation below may skip its write when nobody
        // is parked (`activate_after_seqcst`). For the data, Relaxed would do: a writer that
        // gives up without a buffer wrote nothing that the next writer or a probing reader
        // could read; the flag itself is the only news.
        self.state.fetch_and(!WRITER_BUSY, Ordering::SeqCst);
        self.read_ready.activate_after_seqcst();
    }

    /// Reads the buffer fields of the buffer we just took.
    ///
    /// # Safety
    ///
    /// Phase is WRITING and the caller owns it.
    unsafe fn lent_buffer(&self) -> (*mut c_void, usize) {
        // SAFETY: in WRITING the fields are the writer's (the reader wrote them before its
        // Release lend, which our Acquire CAS read from).
        (unsafe { self.read_addr.with(|p| *p) }, self.read_size_get())
    }

    /// Whether a writer holds a taken buffer (between `start_writing` and `finish_writing`).
    pub fn is_writing(&self) -> bool {
        // ORDERING: Acquire, like every observation of the state.
        phase(self.load()) == WRITING
    }

    /// Ends a write: commits `count` elements, or returns the buffer (`count` 0 on a buffer
    /// with room); or, with [`CLOSED`], closes the writer end.
    ///
    /// * `count > 0`: the first `count` elements of the buffer are the reader's; `ready_size`
    ///   takes `count` and *read ready* is activated.
    /// * `count == 0` on a zero-capacity buffer: answers the reader's probe (it reads 0).
    /// * `count == 0` on a buffer with room: the buffer goes back to the stream, the reader's
    ///   read stays pending (it is not woken with a result).
    /// * [`CLOSED`]: closes the writer end, as [`close_write`](Self::close_write), whether or
    ///   not a write is in progress (the design's "set EOF independently of start_writing").
    ///   It does not end a write in progress: finish a held buffer with a count first, or the
    ///   reader waits for it until the last writer handle is released.
    ///
    /// Returns `false` (and changes nothing) for a count above the capacity or a negative
    /// count other than `CLOSED`.
    ///
    /// # Safety
    ///
    /// Unless `count` is `CLOSED`, the caller owns a buffer from
    /// [`start_writing`](Self::start_writing) and has initialised its first `count` elements.
    pub unsafe fn finish_writing(&self, count: isize) -> bool {
        if count == CLOSED {
            self.close_write();
            return true;
        }
        // The caller owns WRITING, so the size field is ours to read; an open lend's writer
        // was handed the region after its position, which can only have grown since.
        let capacity = if self.load() & OPEN != 0 {
            // SAFETY: we own WRITING of an open lend.
            unsafe { self.open_region() }.map_or(0, |region| region.len)
        } else {
            self.read_size_get()
        };
        if count < 0 || count as usize > capacity {
            return false;
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            if count == 0 && capacity > 0 {
                self.return_buffer();
            } else if let Err(orphaned) = self.commit(count as usize, false) {
                // The reader was dropped while the buffer was held: its finisher drops the
                // elements and frees the buffer, as its drop would have (what C sees is
                // unchanged: the count was committed to a reader that is gone).
                drop(orphaned);
            }
        }
        true
    }

    /// Commits `count` elements: WRITING -> DONE, releasing WRITER_BUSY unless `keep_busy`.
    ///
    /// `Err` when the reader had gone and handed its read over (`READ_ORPHANED`, see
    /// [`end_read_or_orphan`](Self::end_read_or_orphan)): the commit then ended that read
    /// itself, and the elements were not delivered. The [`OrphanedBuffer`] holds them and the
    /// buffer; dropping it drops them and frees the buffer, and the caller may move them out
    /// first.
    ///
    /// # Safety
    ///
    /// The caller owns WRITING and initialised the first `count` elements of the buffer.
    pub(crate) unsafe fn commit(
        &self,
        count: usize,
        keep_busy: bool,
    ) -> Result<(), OrphanedBuffer> {
        if self.load() & OPEN != 0 {
            // SAFETY: forwarded: the caller owns WRITING of an open lend.
            return unsafe { self.commit_to_open(count, keep_busy) };
        }
        self.ready_size_set(count as isize);
        // SAFETY: in WRITING the buffer fields are the writer's.
        unsafe { self.set_buffer(core::ptr::null_mut(), 0) };
        let busy = if keep_busy { 0 } else { WRITER_BUSY };
        // ORDERING: Release publishes the elements and `ready_size` to the reader's Acquire
        // load of DONE; SeqCst (beyond Release) lets the activation below skip its write when
        // nobody is parked. (Only an open lend is ever orphaned: `commit_to_open`.)
        // WRITING | WRITER_BUSY -> DONE (| WRITER_BUSY if kept).
        let prev = self.state.fetch_xor(
            (WRITING ^ DONE) | busy,
            ord("commit-release", Ordering::SeqCst),
        );
        debug_assert_eq!(
            prev & (PHASE | WRITER_BUSY | READ_ORPHANED),
            WRITING | WRITER_BUSY,
            "commit from {prev:#x}"
        );
        self.read_ready.activate_after_seqcst();
        Ok(())
    }

    /// [`commit`](Self::commit) into an open lend: publishes `count` elements and gives the
    /// ring back; if the reader is gone, the elements were not delivered and come back in the
    /// [`OrphanedBuffer`] with ring and descriptor.
    ///
    /// # Safety
    ///
    /// As for `commit`, phase WRITING of an open lend.
    #[inline(never)]
    unsafe fn commit_to_open(&self, count: usize, keep_busy: bool) -> Result<(), OrphanedBuffer> {
        // The region's start, computed before the commit moves the position (for the
        // undelivered elements of an orphaned lend).
        // SAFETY: WRITING is ours.
        let region = unsafe { self.open_region() }.map_or(core::ptr::null_mut(), |r| r.addr);
        // SAFETY: forwarded from the caller.
        match unsafe { self.commit_open(count, keep_busy) } {
            Ok(()) => Ok(()),
            Err(orphaned) => Err(OrphanedBuffer {
                addr: region,
                count,
                open: OrphanedOpen {
                    written: orphaned.written.wrapping_sub(count),
                    ..orphaned
                },
            }),
        }
    }

    /// Returns the held buffer: WRITING -> LENT, releasing WRITER_BUSY. The reader's read
    /// stays pending; *read ready* is activated only so that a reader that is cancelling (and
    /// waits for the writer to let go) can finish. If the reader is gone (`READ_ORPHANED`),
    /// ends its read instead (WRITING -> IDLE) and frees the buffer with its finisher.
    ///
    /// # Safety
    ///
    /// The caller owns WRITING.
    pub(crate) unsafe fn return_buffer(&self) {
        let mut s = self.load();
        loop {
            debug_assert_eq!(
                s & (PHASE | WRITER_BUSY),
                WRITING | WRITER_BUSY,
                "return from {s:#x}"
            );
            if s & READ_ORPHANED != 0 {
                debug_assert!(s & OPEN != 0, "only open lends are orphaned");
                // SAFETY: WRITING with READ_ORPHANED, acquired by our load: the lend is ours
                // to end; nothing was written.
                let o = unsafe { self.end_orphaned_open(s) };
                // SAFETY: the lend ended and is ours alone.
                unsafe { (o.finish)(o.lend, o.read, o.written) };
                return;
            }
            // ORDERING: Release: whatever we wrote into the buffer happens before the reader's
            // Acquire reclaim of it; SeqCst (beyond Release) lets the activation below skip its
            // write when nobody is parked. On failure Acquire, as `load`: only flags change
            // meanwhile (a closed flag, or the reader's READ_ORPHANED with its finisher).
            // WRITING | WRITER_BUSY -> LENT.
            match self.state.compare_exchange_weak(
                s,
                s ^ (WRITING ^ LENT) ^ WRITER_BUSY,
                ord("return-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        self.read_ready.activate_after_seqcst();
    }

    /// Closes the writer end: end of stream after the elements already committed. Closing
    /// twice is a no-op. A waiting reader wakes; a write in progress on another handle of
    /// the writer end may still commit. Returns whether this call closed it (`false`: it was
    /// closed already).
    pub fn close_write(&self) -> bool {
        // ORDERING: Release pairs with the Acquire loads of waiters that see the flag; SeqCst
        // (beyond Release) lets the activations skip their writes when nobody is parked.
        let prev = self
            .state
            .fetch_or(WRITER_CLOSED, ord("close-write-release", Ordering::SeqCst));
        // Waiters wake for either flag: if one was already set, they woke then.
        if prev & CLOSED_ANY == 0 {
            self.read_ready.activate_after_seqcst();
            self.write_ready.activate_after_seqcst();
        }
        prev & WRITER_CLOSED == 0
    }
}

/// Why a writer's wait for a buffer ended without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitWriteError {
    Closed,
    Timeout,
}

/// The buffer of a read whose reader was dropped while the writer held it, handed to the
/// writer when it ended phase WRITING ([`RawStream::commit`], [`RawStream::return_buffer`]):
/// the read has ended and nothing in the header refers to the buffer any more. It holds
/// `count` initialised elements (the commit's, not delivered); dropping it drops them and
/// frees the buffer with the reader's finisher (which frees it even if an element's drop
/// panics).
#[must_use = "dropping it drops the undelivered elements and frees the buffer"]
pub(crate) struct OrphanedBuffer {
    addr: *mut c_void,
    count: usize,
    /// The lend: the ring's elements `read..written` (before this commit) and the commit's
    /// `count` after them are dropped, ring and descriptor freed.
    open: OrphanedOpen,
}

impl OrphanedBuffer {
    /// The buffer, whose first [`count`](Self::count) elements are initialised.
    pub(crate) fn addr(&self) -> *mut c_void {
        self.addr
    }

    /// How many elements the buffer holds (committed, not delivered).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Records that the caller moved the elements out: the drop then only frees the buffer.
    ///
    /// # Safety
    ///
    /// The caller moved every element out (bitwise), and will not use the buffer again.
    pub(crate) unsafe fn forget_elements(&mut self) {
        self.count = 0;
    }
}

impl Drop for OrphanedBuffer {
    fn drop(&mut self) {
        let o = &self.open;
        // SAFETY: the lend ended and ring and descriptor are ours alone (`end_orphaned_open`);
        // positions `read..written + count` hold elements (those moved out were forgotten:
        // `count` is then 0).
        unsafe { (o.finish)(o.lend, o.read, o.written.wrapping_add(self.count)) };
    }
}

impl core::fmt::Debug for OrphanedBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrphanedBuffer")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}
