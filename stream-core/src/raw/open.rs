//! The open lend ([`stream_abi::OpenLend`]): a ring that the reader lends once; the writer
//! takes it, writes into its free part, publishes and gives it back, write after write, while
//! the reader consumes what was published without ending the lend. It holds the reader's
//! functions (open, look, consume, wait, end) and the writer's view of the ring (the free
//! region a take hands out, the publishing commit, the orphaned end); `write.rs` calls the
//! latter where the phase is `WRITING` with [`OPEN`]. The state table is in `docs/design.md`,
//! "The open lend".
//!
//! Positions: `ready_size` holds the writer's position `w` (elements published) and the
//! header's inline word the reader's position `r` (elements consumed), both counts that only
//! grow (wrapping). Slots `r..w` (modulo the capacity) hold published elements, the reader's;
//! slots `w..r + capacity` are free, the writer's while it holds phase `WRITING`.

use core::ffi::c_void;

use stream_abi::{OpenLend, BLOCKED};
use stream_events::Backend;

use super::{RawStream, StartReadError, Wait};
use crate::state::{
    phase, CLOSED_ANY, IDLE, LENT, OPEN, PHASE, READER_BUSY, READ_ORPHANED, WRITER_BUSY, WRITING,
};
use crate::sync::{ord, AtomicUsize, Ordering};

/// What finishes an open lend whose reader is gone: drops the elements at positions
/// `read..written` of the ring and frees ring and descriptor. Run once, by the writer that
/// ends phase `WRITING` (`write.rs`).
///
/// # Safety
///
/// `lend` is the descriptor of an [`OpenRustLend`] whose lend ended, owned by the caller
/// alone; positions `read..written` hold initialised elements.
pub(crate) type OpenFinish = unsafe fn(lend: *mut OpenLend, read: usize, written: usize);

/// The descriptor a Rust reader lends: the C-visible [`OpenLend`] and, after it, the
/// function that finishes the lend if the reader is dropped while the writer holds the ring.
/// C readers lend a bare `OpenLend` and never hand their lend over.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct OpenRustLend {
    pub(crate) lend: OpenLend,
    pub(crate) finish: OpenFinish,
}

/// The free region of an open lend that a writer's take hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenRegion {
    /// The first free slot.
    pub(crate) addr: *mut c_void,
    /// How many slots from `addr` are free and contiguous.
    pub(crate) len: usize,
}

/// What a writer's commit found when the reader of an open lend was gone: the lend ended
/// (the commit ended it, as `end_orphaned_read` ends a classic read), ring and descriptor are
/// the writer's alone. See `write.rs`'s `OrphanedBuffer`, which wraps it.
#[derive(Debug)]
pub(crate) struct OrphanedOpen {
    pub(crate) lend: *mut OpenLend,
    pub(crate) read: usize,
    pub(crate) written: usize,
    pub(crate) finish: OpenFinish,
}

impl<B: Backend> RawStream<B> {
    /// The reader's position of an open lend: the inline word, as an atomic.
    #[inline(always)]
    pub(super) fn open_read(&self) -> &AtomicUsize {
        #[cfg(not(stream_loom))]
        {
            // In an open lend nobody accesses the inline word but as this atomic: the lend is
            // never the inline word (a ring is lent through a descriptor) and an orphaned open
            // lend keeps its finisher in the descriptor. Outside an open lend the word is a
            // plain cell of the owner of a lent buffer or a pending read, after a state
            // transition that orders it with every access made here (docs/design.md).
            // SAFETY: the word is 8 bytes, 8-aligned, lives as long as the header, and is
            // accessed only as above.
            unsafe { &*self.inline_slot().cast::<AtomicUsize>() }
        }
        #[cfg(stream_loom)]
        {
            &self.open_read
        }
    }

    /// loom builds only: accesses the cells standing for `n` slots of the ring from position
    /// `from` (see `open_slots` in `mod.rs`): written by the writer's commit (before its
    /// publish), read by the reader's consumption (before it frees them), and all written by
    /// whoever ends the lend (the reader's end, or the writer's end of an orphaned lend: the
    /// ring is theirs to reuse or free then). Elsewhere nothing.
    #[inline(always)]
    fn touch_slots(&self, from: usize, n: usize, write: bool) {
        #[cfg(stream_loom)]
        {
            // Slots `LOOM_RING_SLOTS` apart share a cell: a model keeps fewer elements than
            // that in flight, so two slots in use at once never do.
            let cells = self.read_size_get().min(super::LOOM_RING_SLOTS);
            for k in 0..n.min(cells) {
                let cell = &self.open_slots[from.wrapping_add(k) % cells];
                if write {
                    cell.with_mut(|_| ());
                } else {
                    cell.with(|_| ());
                }
            }
        }
        let _ = (from, n, write);
    }

    /// Opens a lend: lends the ring described by `lend` (IDLE -> LENT | `OPEN`) with the
    /// positions `read` and `written` (the ring's slots `read..written` hold elements the
    /// reader kept from an earlier lend; 0 and 0 for an empty ring), and activates *write
    /// ready*.
    ///
    /// On success the caller owns the pending read: it consumes with
    /// [`open_consume`](Self::open_consume) and ends the lend with
    /// [`end_open`](Self::end_open) (or [`try_end_open`](Self::try_end_open)) before it reuses
    /// or frees the ring or the descriptor.
    ///
    /// # Errors
    ///
    /// As [`start_reading`](Self::start_reading).
    ///
    /// # Safety
    ///
    /// `lend` points to a descriptor whose `capacity` is a power of two, whose `buffer` is
    /// valid for reads and writes of `capacity` elements of the stream's element type (of
    /// `element_size` bytes each), and which stays valid and unchanged until the lend ends;
    /// `written - read` (wrapping) is at most `capacity` and those slots are initialised.
    pub unsafe fn start_reading_open(
        &self,
        lend: *const OpenLend,
        read: usize,
        written: usize,
    ) -> Result<(), StartReadError> {
        self.acquire_reader(false)?;
        // SAFETY: valid descriptor (the caller's contract).
        let capacity = unsafe { (*lend).capacity };
        debug_assert!(capacity.is_power_of_two());
        debug_assert!(written.wrapping_sub(read) <= capacity);
        // In phase IDLE with READER_BUSY held the positions and the buffer fields are ours:
        // the writer reads them only after it observes the lend below.
        self.ready_size.store(written, relaxed_owned());
        self.open_read().store(read, relaxed_owned());
        // SAFETY: as above.
        unsafe { self.set_buffer(lend.cast_mut().cast(), capacity) };
        // IDLE -> LENT | OPEN (only the reader leaves IDLE, so flipping bits is the move).
        // ORDERING: Release publishes descriptor, positions and fields to the writer's Acquire
        // take; SeqCst lets the activation skip its write when nobody is parked.
        let prev = self.state.fetch_xor(
            IDLE ^ LENT ^ OPEN,
            ord("open-lend-release", Ordering::SeqCst),
        );
        debug_assert_eq!(prev & (PHASE | OPEN), IDLE, "open lend from {prev:#x}");
        self.write_ready.activate_after_seqcst();
        Ok(())
    }

    /// The reader's view of its open lend: its position and how many elements were published
    /// after it.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend.
    pub unsafe fn open_readable(&self) -> (usize, usize) {
        // ORDERING: Relaxed: the reader's own position, written only by it.
        let read = self.open_read().load(Ordering::Relaxed);
        // ORDERING: Acquire pairs with the writer's Release store of its position in
        // `commit_open`: the elements it published are visible before we read them.
        let written = self
            .ready_size
            .load(ord("open-readable-acquire", Ordering::Acquire));
        (read, written.wrapping_sub(read))
    }

    /// Marks `n` more elements consumed (the caller moved or dropped them), making their slots
    /// free for the writer, and wakes a writer waiting for room.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend, and at least `n` elements were published after
    /// its position.
    pub unsafe fn open_consume(&self, n: usize) {
        // ORDERING: Relaxed: our own position.
        let read = self.open_read().load(Ordering::Relaxed);
        self.touch_slots(read, n, false);
        // ORDERING: Release: our reads of the consumed slots happen before the writer's
        // Acquire load of the position in `open_region`, after which it overwrites them.
        // SeqCst (beyond Release) lets the activation skip its write when nobody is parked:
        // a waiting writer's condition reads this word (`open_has_room`).
        self.open_read().store(
            read.wrapping_add(n),
            ord("open-consume-release", Ordering::SeqCst),
        );
        self.write_ready.activate_after_seqcst();
    }

    /// Whether the pending read is an open lend (`LENT | OPEN` or the writer holding it):
    /// the open functions apply to it, the classic ones (`read_amount`, `cancel_read`) do not.
    pub fn is_open_lend(&self) -> bool {
        // ORDERING: Acquire, like every observation of the reader end's state.
        let s = self.load();
        s & OPEN != 0 && s & READER_BUSY != 0
    }

    /// The condition a reader of an open lend waits for: elements published after its
    /// position, an end closed, or no open lend any more.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend (or owned it: a lend that ended reads as ready).
    pub unsafe fn is_open_readable(&self) -> bool {
        let s = self.load();
        // ORDERING: Relaxed: the reader's own position.
        let read = self.open_read().load(Ordering::Relaxed);
        // ORDERING: Acquire, as in `open_readable`. A writer's publish is followed by a
        // SeqCst transition of the state (which this condition reads first) and the
        // activation, so this check and its wake-up exclude each other.
        s & CLOSED_ANY != 0 || s & OPEN == 0 || self.ready_size.load(Ordering::Acquire) != read
    }

    /// Blocks until elements are published after the reader's position or an end closes.
    /// Returns whether that happened before the deadline of `wait`.
    pub(crate) fn wait_open(&self, wait: Wait) -> bool {
        // SAFETY: only the owner of the open lend waits for it.
        let cond = || unsafe { self.is_open_readable() };
        match wait.deadline() {
            None => {
                self.read_ready.wait_until(cond);
                true
            }
            Some(deadline) => self.read_ready.wait_until_deadline(cond, deadline),
        }
    }

    /// Ends the open lend unless the writer holds the ring right now: LENT | OPEN -> IDLE.
    /// Returns the positions `(read, written)`: slots `read..written` hold published elements,
    /// now the caller's with the ring. `None`, changing nothing, while the writer holds it.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend.
    pub unsafe fn try_end_open(&self) -> Option<(usize, usize)> {
        let mut s = self.load();
        loop {
            debug_assert!(
                s & OPEN != 0 && s & READER_BUSY != 0,
                "end_open from {s:#x}"
            );
            if phase(s) == WRITING {
                return None;
            }
            // ORDERING: Acquire pairs with the writer's Release give-back (`commit_open`,
            // `return_buffer`): what it wrote into the ring and its position happen before
            // our use of them. LENT | OPEN | READER_BUSY -> IDLE | READER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                s & !(PHASE | OPEN),
                ord("open-end-acquire", Ordering::Acquire),
                ord("open-end-acquire", Ordering::Acquire),
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        // ORDERING: Relaxed: ordered by the CAS above (and ours).
        let read = self.open_read().load(Ordering::Relaxed);
        // ORDERING: Relaxed: the writer's last store happened before its give-back, which the
        // CAS acquired.
        let written = self.ready_size.load(Ordering::Relaxed);
        // The ring is ours again, to read, reuse or free: every slot, as a write.
        self.touch_slots(0, usize::MAX, true);
        self.clear_open_fields();
        // ORDERING: Release hands the reader end (and the cleared fields) to the next read's
        // Acquire in `acquire_reader`; SeqCst lets the activation (for a clone waiting its
        // turn, `wait_turn`) skip its write when nobody is parked. IDLE | READER_BUSY -> IDLE.
        self.state
            .fetch_and(!READER_BUSY, ord("open-end-release", Ordering::SeqCst));
        self.read_ready.activate_after_seqcst();
        Some((read, written))
    }

    /// Ends the open lend, waiting while the writer holds the ring (a writer never blocks
    /// while it holds it). Returns what [`try_end_open`](Self::try_end_open) returns.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend.
    pub unsafe fn end_open(&self) -> (usize, usize) {
        loop {
            // SAFETY: forwarded from the caller.
            if let Some(positions) = unsafe { self.try_end_open() } {
                return positions;
            }
            self.read_ready.wait_until(|| phase(self.load()) != WRITING);
        }
    }

    /// Ends the open lend without waiting, for a reader that is going away: as
    /// [`try_end_open`](Self::try_end_open), or, while the writer holds the ring, hands the
    /// lend over (WRITING -> WRITING | READ_ORPHANED) and returns `None`: the writer's commit
    /// or give-back ends it and runs the descriptor's finisher.
    ///
    /// # Safety
    ///
    /// The caller owns a pending open lend whose descriptor is an [`OpenRustLend`]; after
    /// `None` it never touches ring or descriptor again and releases its reader handle with
    /// the read still pending (the release skips an orphaned read).
    pub(crate) unsafe fn end_open_or_orphan(&self) -> Option<(usize, usize)> {
        loop {
            // SAFETY: forwarded from the caller.
            if let Some(positions) = unsafe { self.try_end_open() } {
                return Some(positions);
            }
            let s = self.load();
            if phase(s) != WRITING {
                continue;
            }
            // ORDERING: Release: our last consumption and reads of the ring happen before the
            // writer's end of the lend (its RMW that leaves WRITING reads this flag; it is
            // SeqCst/Acquire). WRITING | OPEN -> WRITING | OPEN | READ_ORPHANED.
            if self
                .state
                .compare_exchange(
                    s,
                    s | READ_ORPHANED,
                    ord("open-orphan-release", Ordering::Release),
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return None;
            }
        }
    }

    /// Resets the positions and the buffer fields once an open lend ended.
    ///
    /// The caller owns them: phase IDLE with the read still held (READER_BUSY), by the reader
    /// or by the writer that ends an orphaned lend.
    fn clear_open_fields(&self) {
        self.ready_size.store(BLOCKED as usize, relaxed_owned());
        // SAFETY: the caller owns the fields (see above).
        unsafe { self.set_buffer(core::ptr::null_mut(), 0) };
    }

    /// Whether the writer would find room in the open lend now (for a wait's condition or a
    /// predicate: a hint, checked again by the take).
    pub(super) fn open_has_room(&self) -> bool {
        // ORDERING: Relaxed: the writer's position, written only by a writer holding WRITING;
        // a hint (a waiting writer holds WRITER_BUSY, so it is its own).
        let written = self.ready_size.load(Ordering::Relaxed);
        // ORDERING: Acquire, as the state loads of a wait's condition: the reader's SeqCst
        // store in `open_consume` is followed by its activation of *write ready*.
        let read = self.open_read().load(Ordering::Acquire);
        written.wrapping_sub(read) < self.read_size_get()
    }

    /// The free region after the writer's position, for the writer that just took the open
    /// lend; `None` when the ring is full.
    ///
    /// # Safety
    ///
    /// The caller owns phase WRITING of an open lend.
    pub(super) unsafe fn open_region(&self) -> Option<OpenRegion> {
        // SAFETY: in WRITING the buffer fields are the writer's to read; the descriptor is
        // valid until the lend ends, which cannot happen while we hold WRITING.
        let lend = unsafe { &*self.read_addr.with(|p| *p).cast::<OpenLend>() };
        // ORDERING: Relaxed: the writer's own position.
        let written = self.ready_size.load(Ordering::Relaxed);
        // ORDERING: Acquire pairs with the reader's Release (SeqCst) store in `open_consume`:
        // its reads of the slots it consumed happen before we overwrite them.
        let read = self
            .open_read()
            .load(ord("open-region-acquire", Ordering::Acquire));
        let free = lend.capacity - written.wrapping_sub(read);
        if free == 0 {
            return None;
        }
        let start = written & (lend.capacity - 1);
        Some(OpenRegion {
            // SAFETY: `start` is a slot of the ring, which is valid for `capacity` elements.
            addr: unsafe { lend.buffer.cast::<u8>().add(start * lend.element_size) }.cast(),
            len: free.min(lend.capacity - start),
        })
    }

    /// Publishes `count` elements written into the region of the open lend and gives the
    /// ring back (WRITING -> LENT, releasing WRITER_BUSY unless `keep_busy`); or, if the reader
    /// is gone (`READ_ORPHANED`), ends the lend (WRITING -> IDLE). Then, if the reader had
    /// consumed none of the `count` elements, they were not delivered: the lend comes back
    /// in the error (its `written` includes them). If it consumed some (it may, between our
    /// publish and its hand-over), they were delivered: the ring's finisher drops the rest
    /// and `Ok`.
    ///
    /// # Safety
    ///
    /// The caller owns phase WRITING of an open lend and initialised the first `count` slots
    /// of the region [`open_region`](Self::open_region) handed out (at most its length).
    pub(super) unsafe fn commit_open(
        &self,
        count: usize,
        keep_busy: bool,
    ) -> Result<(), OrphanedOpen> {
        // ORDERING: Relaxed: our own position.
        let written = self.ready_size.load(Ordering::Relaxed);
        self.touch_slots(written, count, true);
        // ORDERING: Release publishes the elements to the reader's Acquire load in
        // `open_readable`, which may come before the state transition below.
        self.ready_size.store(
            written.wrapping_add(count),
            ord("open-publish-release", Ordering::Release),
        );
        let busy = if keep_busy { 0 } else { WRITER_BUSY };
        let mut s = self.load();
        loop {
            if s & READ_ORPHANED != 0 {
                // SAFETY: WRITING with READ_ORPHANED (acquired by our load): the lend is ours
                // to end.
                let orphaned = unsafe { self.end_orphaned_open(s) };
                // The reader may have consumed some of these elements between our publish
                // and its hand-over: then they were delivered, and the rest goes with the
                // ring, as elements committed to a reader that drops them.
                let consumed = orphaned.read.wrapping_sub(written);
                if consumed == 0 || consumed > count {
                    return Err(orphaned);
                }
                // SAFETY: the lend ended and is ours alone; positions `read..written + count`
                // hold the elements nobody consumed.
                unsafe { (orphaned.finish)(orphaned.lend, orphaned.read, orphaned.written) };
                return Ok(());
            }
            // ORDERING: Release hands the ring back (what we wrote, our position) to the
            // reader's Acquire end of the lend and to the next writer's Acquire take; SeqCst
            // lets the activation skip its write when nobody is parked (a waiting reader's
            // condition reads the state first). Failure: Acquire, as `load` (only flags change
            // meanwhile: a closed flag, WRITER_BUSY kept, or READ_ORPHANED).
            // WRITING | OPEN | WRITER_BUSY -> LENT | OPEN (| WRITER_BUSY if kept).
            match self.state.compare_exchange_weak(
                s,
                s ^ (WRITING ^ LENT) ^ busy,
                ord("open-commit-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        self.read_ready.activate_after_seqcst();
        Ok(())
    }

    /// Gives a full ring back right after a take found no room: WRITING -> LENT, keeping
    /// WRITER_BUSY if `keep_busy`; or ends an orphaned lend (its finisher runs here).
    ///
    /// # Safety
    ///
    /// As for [`commit_open`](Self::commit_open), with nothing written.
    pub(super) unsafe fn give_back_full(&self, keep_busy: bool) {
        // SAFETY: forwarded; nothing was written, so a 0 commit publishes nothing. An
        // orphaned lend's elements are dropped and ring and descriptor freed by the drop.
        if let Err(orphaned) = unsafe { self.commit_open(0, keep_busy) } {
            // SAFETY: the lend ended and is ours alone; the positions are its own.
            unsafe { (orphaned.finish)(orphaned.lend, orphaned.read, orphaned.written) };
        }
    }

    /// Ends an open lend whose reader is gone, from phase WRITING (state `s`): moves to IDLE
    /// (clearing OPEN, READER_BUSY, READ_ORPHANED and WRITER_BUSY) and returns the lend.
    ///
    /// # Safety
    ///
    /// The state is `s`: WRITING | OPEN with READ_ORPHANED, acquired by the caller, which holds
    /// WRITING; the descriptor is an [`OpenRustLend`] (only Rust readers orphan).
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn end_orphaned_open(&self, s: usize) -> OrphanedOpen {
        // SAFETY: we hold WRITING: the fields are ours.
        let lend = unsafe { self.read_addr.with(|p| *p) }.cast::<OpenRustLend>();
        // SAFETY: the descriptor lives until its finisher runs, which is ours to run; the
        // reader wrote it before its lend (Release), which our take acquired.
        let finish = unsafe { (*lend).finish };
        // ORDERING: Relaxed: the reader's last store of its position happened before its
        // Release CAS that set READ_ORPHANED, which the caller acquired.
        let read = self.open_read().load(Ordering::Relaxed);
        // ORDERING: Relaxed: our own position.
        let written = self.ready_size.load(Ordering::Relaxed);
        // The ring is ours to drop elements from and free: every slot, as a write.
        self.touch_slots(0, usize::MAX, true);
        self.clear_open_fields();
        let clear = WRITING | OPEN | READER_BUSY | READ_ORPHANED | WRITER_BUSY;
        debug_assert_eq!(s & clear, clear, "orphaned open end from {s:#x}");
        // ORDERING: Release hands both ends (IDLE, cleared fields) to the next reader's and
        // writer's Acquire; SeqCst so that the activation may skip its write.
        // WRITING | OPEN | WRITER_BUSY | READER_BUSY | READ_ORPHANED -> IDLE.
        self.state
            .fetch_xor(clear, ord("open-orphan-end-release", Ordering::SeqCst));
        self.read_ready.activate_after_seqcst();
        OrphanedOpen {
            lend: lend.cast(),
            read,
            written,
            finish,
        }
    }
}

/// The ordering of an access to a field that the caller owns in the current phase.
#[inline(always)]
fn relaxed_owned() -> Ordering {
    // ORDERING: Relaxed: the phase gives the field to the caller; the next state transition
    // (Release) publishes it.
    Ordering::Relaxed
}
