//! What one-element futures add to the stream protocol. The stream's own transitions
//! (`read.rs`, `write.rs`) never look at these bits; only the functions here set or read them.
//!
//! | addition | where | what |
//! |----------|-------|------|
//! | `FUTURE_READER_WAITS` (state bit 6) | [`RawStream::announce_future_wait`] | the reader may wait on *read ready*; sticky |
//! | `FUTURE_WRITER_GONE` (state bit 7) | [`Shared::deliver_future`] | the writer delivered and released its handle in one CAS; the reader frees |
//! | `FUTURE_WRITER_RESERVED` (state bit 10, with `WRITER_BUSY`) | [`RawStream::lend_reserved_unshared`] | the writer end is the future writer's alone: it writes the slot, then delivers in one CAS |
//! | padded offset (state bits 8-9) | `padded.rs` | where the header sits in its `malloc` block; set at creation, never changed |
//! | the slot lent at creation | [`RawStream::lend_unshared`]; for a Rust future [`Shared::create_padded_reserved`] | `LENT` with `READER_BUSY` (and the reservation) before either handle exists; the Rust future's header is written once, lent and reserved |
//! | commit and close in one step | [`Shared::deliver_future`], [`RawStream::write_and_close`] | `WRITING` \| `WRITER_BUSY` -> `DONE` \| `WRITER_CLOSED` (CAS; fails once `READER_CLOSED` is set, and the writer returns the buffer) |
//!
//! Claim first, then write: no side writes the slot, a lent buffer or `ready_size` before the
//! state gave it that memory. A future made by Rust reserves its writer end for its one
//! writer handle at creation (`WRITER_BUSY` | `FUTURE_WRITER_RESERVED`, before the handles
//! exist): the slot is that writer's from the start, so its write is the value and one CAS
//! (`LENT` -> `DONE` | `WRITER_CLOSED`, [`Shared::deliver_reserved_future`]), and a raw
//! `start_writing` (C acting for the writer end) gets `Busy` and touches nothing. Once the
//! reservation is given up ([`RawStream::release_future_reservation`], to let C write), a
//! writer takes the slot like any stream writer (`LENT` -> `WRITING`,
//! [`RawStream::start_writing`]) before writing it, and delivers with
//! [`Shared::deliver_future`]: whatever another party did on the header before (a value
//! already delivered through the stream functions, a closed end, the slot taken), the take
//! fails and the slot is left untouched.

mod padded;

use core::ffi::c_void;
use core::ptr::{addr_of_mut, NonNull};

use stream_abi::{ACTIVE_READER_ONE, ACTIVE_WRITER_ONE};
use stream_events::{Backend, Event};

pub use self::padded::PaddedBlock;
use self::padded::{PADDED_OFFSET_MASK, PADDED_OFFSET_SHIFT};
use super::{RawStream, Shared, StartWriteError};
use crate::state::{
    phase, CLOSED_ANY, DONE, IDLE, LENT, PHASE, READER_BUSY, READER_CLOSED, READ_ORPHANED,
    WRITER_BUSY, WRITER_CLOSED, WRITING,
};
use crate::sync::{ord, AtomicUsize, Ordering, UnsafeCell};

/// Future only (state bit): the reader may be waiting on *read ready*
/// ([`RawStream::announce_future_wait`]). Set by the reader only; sticky.
const FUTURE_READER_WAITS: usize = 1 << 6;

/// Future only (state bit): the writer delivered and released its handle in the same CAS
/// ([`Shared::deliver_future`]) without decrementing `active_instances`; it touches the
/// header no more, and the reader frees the allocation. Set with DONE; sticky.
const FUTURE_WRITER_GONE: usize = 1 << 7;

/// Future only (state bit, with `WRITER_BUSY`): the writer end is reserved for the future's
/// own writer handle since creation ([`RawStream::lend_reserved_unshared`]): the slot
/// is that writer's, and a raw `start_writing` gets `Busy`. Cleared by the delivery
/// ([`Shared::deliver_reserved_future`]) or by [`RawStream::release_future_reservation`].
const FUTURE_WRITER_RESERVED: usize = 1 << 10;

/// Whether the state `s` says what [`RawStream::future_writer_released`] reports as
/// `Some(true)`: delivered (phase DONE, value untaken) and the writer handle released with it.
#[inline(always)]
fn is_released_untaken(s: usize) -> bool {
    s & (FUTURE_WRITER_GONE | PHASE) == FUTURE_WRITER_GONE | DONE
}

/// The future writer's reservation, as seen by [`RawStream::future_reservation`]: proof that
/// the writer end was reserved (the slot is the caller's to write), and the state word then,
/// from which [`Shared::deliver_reserved_future`] starts its CAS.
#[derive(Debug)]
pub struct FutureReservation(usize);

impl<B: Backend, X> Shared<B, X> {
    /// Delivers the value that the future's reserving writer wrote into the slot, and closes
    /// the writer end, in one CAS: LENT | WRITER_BUSY | FUTURE_WRITER_RESERVED -> DONE |
    /// WRITER_CLOSED, plus `FUTURE_WRITER_GONE` (the writer handle is released with it) when no
    /// reader announced a wait. `reservation` (from [`RawStream::future_reservation`], taken
    /// before the slot was written) is the state seen then: the CAS starts from it, so the
    /// delivery reads the state word no more. Results as
    /// [`deliver_future`](Self::deliver_future); on `Err(StartWriteError::Closed)` (an end
    /// closed) nothing changed: the value is still in the slot and the caller's, and the
    /// reservation still held.
    ///
    /// It commits one element, and writes no count: the reservation set `ready_size` to 1
    /// when it was made, and nobody writes it while the reservation is held (so the
    /// delivery's only stores before its CAS are the value's).
    ///
    /// # Safety
    ///
    /// The caller is the future's writer handle, holds the reservation
    /// ([`RawStream::lend_reserved_unshared`] or [`create_padded_reserved`], not given up;
    /// `reservation` came from `this`), and wrote one element into the slot. `this` came
    /// from [`create_padded`](Self::create_padded) or `create_padded_reserved`; with
    /// `Ok(true)` the reader may free it before this function returns.
    ///
    /// [`create_padded_reserved`]: Self::create_padded_reserved
    #[inline]
    pub unsafe fn deliver_reserved_future(
        this: NonNull<Self>,
        reservation: FutureReservation,
    ) -> Result<bool, StartWriteError> {
        // SAFETY: the caller's writer handle keeps the allocation alive until the CAS below
        // releases it; `header` is not used after a releasing CAS.
        let header = unsafe { Self::header_of(this) };
        // The state when the reservation was checked: only the reader's flags can have
        // changed since (the reservation is ours), and a stale guess only fails the CAS once.
        let mut s = reservation.0;
        loop {
            debug_assert_eq!(
                s & (WRITER_BUSY | FUTURE_WRITER_RESERVED),
                WRITER_BUSY | FUTURE_WRITER_RESERVED,
                "reserved delivery from {s:#x}"
            );
            // The phase leaves LENT only through the reader's reclaim, after it closed.
            if s & CLOSED_ANY != 0 || phase(s) != LENT {
                return Err(StartWriteError::Closed);
            }
            let gone = if s & FUTURE_READER_WAITS == 0 {
                FUTURE_WRITER_GONE
            } else {
                0
            };
            // ORDERING: Release publishes the value and `ready_size` to the reader's Acquire
            // load of DONE; with FUTURE_WRITER_GONE it also orders every use of the header by
            // this handle before the reader's free. SeqCst (beyond Release) lets the
            // activation below skip its write when nobody is parked. On failure Acquire, as
            // `load`: only the reader's flags change meanwhile.
            // LENT | WRITER_BUSY | FUTURE_WRITER_RESERVED -> DONE | WRITER_CLOSED (| GONE).
            match header.state.compare_exchange_weak(
                s,
                (s ^ (LENT ^ DONE) ^ (WRITER_BUSY | FUTURE_WRITER_RESERVED)) | WRITER_CLOSED | gone,
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

    /// Delivers `count` elements that the caller wrote into the buffer it took with
    /// [`RawStream::start_writing`], and closes the writer end in the same step: WRITING |
    /// WRITER_BUSY -> DONE | WRITER_CLOSED, plus `FUTURE_WRITER_GONE` (the writer handle is
    /// released with it) when no reader announced a wait.
    ///
    /// * `Ok(true)`: delivered, and nobody can be waiting (the reader never called
    ///   [`RawStream::announce_future_wait`]), so *read ready* is not activated and the
    ///   writer handle is released: `active_instances` still counts it, but the reader frees
    ///   the allocation alone ([`free_padded`](Self::free_padded)) once it sees
    ///   [`RawStream::future_writer_released`]. The caller must not touch the stream again,
    ///   nor release its handle.
    /// * `Ok(false)`: delivered, and *read ready* activated for the announced reader; the
    ///   caller still holds its writer handle and releases it as usual.
    /// * `Err(StartWriteError::Closed)`: the reader end closed while the caller held the
    ///   buffer; nothing was delivered. The caller still owns the buffer (phase WRITING): it
    ///   takes its elements back and returns the buffer (`finish_writing(0)`).
    ///
    /// # Safety
    ///
    /// The caller acts for its writer handle of `this` and holds the buffer: its
    /// `start_writing` succeeded and the write has not ended. It initialised `count` elements
    /// (at most the capacity). `this` is a future whose reader frees it with `free_padded`
    /// when it sees the writer released (it came from [`create_padded`](Self::create_padded)),
    /// and the caller's is the future's only writer handle.
    ///
    /// `this` is a pointer, not a reference: with `Ok(true)`, the reader may free the
    /// allocation before this function returns.
    pub unsafe fn deliver_future(
        this: NonNull<Self>,
        count: usize,
    ) -> Result<bool, StartWriteError> {
        // SAFETY: the caller's writer handle keeps the allocation alive until the CAS in
        // `commit_and_close` releases it; `header` is not used after a releasing CAS.
        let header = unsafe { Self::header_of(this) };
        // SAFETY: forwarded from the caller: it holds the buffer (WRITING), wrote `count`.
        let prev = unsafe { header.commit_and_close(count, true) }?;
        if prev & FUTURE_READER_WAITS == 0 {
            // Released: the reader may free the header from here on.
            return Ok(true);
        }
        header.read_ready.activate_after_seqcst();
        Ok(false)
    }
}

impl<B: Backend> RawStream<B> {
    /// Initialises the header at `place` with one reader and one writer handle, `state`,
    /// `read_addr`/`read_size` and `ready_size`: every field but `inline`, each with one store
    /// (the events, the buffer fields, `ready_size`, `active_instances`, `state`). For the
    /// padded allocation, which may keep a future's slot in `inline` before the header is
    /// written.
    ///
    /// # Safety
    ///
    /// `place` is valid for writes and aligned, and nothing else can reach it yet.
    #[inline(always)]
    pub(super) unsafe fn init_at(
        place: *mut Self,
        state: usize,
        read_addr: *mut c_void,
        read_size: usize,
        ready_size: isize,
    ) {
        // SAFETY: by the caller; place projections, no reference to the uninitialised header.
        unsafe {
            addr_of_mut!((*place).read_ready).write(Event::new());
            addr_of_mut!((*place).write_ready).write(Event::new());
            addr_of_mut!((*place).read_addr).write(UnsafeCell::new(read_addr));
            addr_of_mut!((*place).read_size).write(AtomicUsize::new(read_size));
            addr_of_mut!((*place).state).write(AtomicUsize::new(state));
            #[cfg(stream_loom)]
            addr_of_mut!((*place).open_read).write(AtomicUsize::new(0));
            Self::init_counts_at(place, ready_size);
        }
    }

    /// Writes `ready_size` and `active_instances` (one reader and one writer handle) of the
    /// header at `place`: adjacent words, written with one store where the target allows (each
    /// store before the writer's CAS costs it about a cycle).
    ///
    /// # Safety
    ///
    /// As for [`init_at`](Self::init_at).
    #[inline(always)]
    unsafe fn init_counts_at(place: *mut Self, ready_size: isize) {
        let active = ACTIVE_READER_ONE + ACTIVE_WRITER_ONE;
        #[cfg(all(target_arch = "x86_64", not(stream_loom)))]
        {
            use core::arch::x86_64::{__m128i, _mm_set_epi64x, _mm_storeu_si128};
            const {
                use core::mem::offset_of;
                assert!(offset_of!(Self, active_instances) == offset_of!(Self, ready_size) + 8);
            }
            // SAFETY: the two words are adjacent (asserted) plain integers in this build
            // (two `AtomicUsize`s: the layout of their integer), so one
            // unaligned 16-byte store initialises both; `place` is valid for writes (the
            // caller's contract). SSE2 is part of the x86-64 baseline.
            unsafe {
                _mm_storeu_si128(
                    addr_of_mut!((*place).ready_size).cast::<__m128i>(),
                    _mm_set_epi64x(active as i64, ready_size as i64),
                );
            }
        }
        #[cfg(not(all(target_arch = "x86_64", not(stream_loom))))]
        // SAFETY: forwarded from the caller; place projections.
        unsafe {
            addr_of_mut!((*place).ready_size).write(AtomicUsize::new(ready_size as usize));
            addr_of_mut!((*place).active_instances).write(AtomicUsize::new(active));
        }
    }

    /// [`init_at`](Self::init_at) for a future made by Rust: the header as
    /// [`lend_reserved_unshared`](Self::lend_reserved_unshared) leaves it (the slot at `addr`
    /// lent, one element; the reader end busy; the writer end reserved; `ready_size` the
    /// count 1 that the reserved delivery commits), with `extra_bits` (the padded offset) in
    /// `state`.
    ///
    /// # Safety
    ///
    /// As for `init_at`; and as for `lend_reserved_unshared` (`addr` is the future's slot,
    /// alive as long as the header, and its reader frees it with the functions of
    /// [`Shared::create_padded`]).
    #[inline(always)]
    pub(super) unsafe fn init_reserved_at(place: *mut Self, extra_bits: usize, addr: *mut c_void) {
        let state = LENT | READER_BUSY | WRITER_BUSY | FUTURE_WRITER_RESERVED | extra_bits;
        // SAFETY: forwarded from the caller.
        unsafe { Self::init_at(place, state, addr, 1, 1) };
    }

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
        // SAFETY: forwarded from the caller.
        unsafe { self.lend_unshared_with(addr, size, 0) };
    }

    /// `lend_unshared`, also setting the bits `extra`.
    ///
    /// # Safety
    ///
    /// As for [`lend_unshared`](Self::lend_unshared).
    #[inline]
    unsafe fn lend_unshared_with(&self, addr: *mut c_void, size: usize, extra: usize) {
        // ORDERING: Relaxed: nobody else can reach the header yet.
        let s = self.state.load(Ordering::Relaxed);
        debug_assert_eq!(s & !(PADDED_OFFSET_MASK << PADDED_OFFSET_SHIFT), IDLE);
        // SAFETY: nobody else can reach the header yet.
        unsafe { self.set_buffer(addr, size) };
        // ORDERING: Relaxed: the handles reach other threads through a synchronising send
        // (thread spawn, channel), which publishes this store with the fields.
        self.state
            .store(s | LENT | READER_BUSY | extra, Ordering::Relaxed);
    }

    /// [`lend_unshared`](Self::lend_unshared) for a future made by Rust, which also reserves
    /// the writer end for its one writer handle (WRITER_BUSY | FUTURE_WRITER_RESERVED), in the
    /// same store: from then on the slot is that writer's, it delivers with
    /// [`Shared::deliver_reserved_future`], and a raw [`start_writing`](Self::start_writing)
    /// gets `Busy`. Sets `ready_size` to the count 1 that the reserved delivery commits.
    ///
    /// # Safety
    ///
    /// As for `lend_unshared`; the future's reader frees it with the functions of
    /// [`Shared::create_padded`].
    pub unsafe fn lend_reserved_unshared(&self, addr: *mut c_void, size: usize) {
        // Nobody else can reach the header yet (forwarded from the caller); outside DONE
        // `ready_size` is the writer's, and the reservation keeps it so until the delivery
        // commits it.
        self.ready_size_set(1);
        // SAFETY: forwarded from the caller.
        unsafe { self.lend_unshared_with(addr, size, WRITER_BUSY | FUTURE_WRITER_RESERVED) };
    }

    /// Whether the writer end is still reserved for the future's writer handle.
    #[inline]
    pub fn is_future_writer_reserved(&self) -> bool {
        // ORDERING: Acquire, like every observation of the state (only the reserving handle
        // clears the bit, so for that handle the answer cannot go stale).
        self.load() & FUTURE_WRITER_RESERVED != 0
    }

    /// `Some` while the writer end is reserved for the future's writer handle (as
    /// [`is_future_writer_reserved`](Self::is_future_writer_reserved)), with the state seen,
    /// for [`Shared::deliver_reserved_future`]: one load for the check and the delivery.
    #[inline]
    pub fn future_reservation(&self) -> Option<FutureReservation> {
        // ORDERING: Acquire, like every observation of the state (only the reserving handle
        // clears the bit, so for that handle the answer cannot go stale).
        let s = self.load();
        (s & FUTURE_WRITER_RESERVED != 0).then_some(FutureReservation(s))
    }

    /// Gives up the future writer's reservation (WRITER_BUSY | FUTURE_WRITER_RESERVED -> neither):
    /// from now on raw writers may take the slot, and the future's writer takes it as they do.
    /// A no-op when not reserved.
    ///
    /// # Safety
    ///
    /// The caller is the future's writer handle and wrote nothing into the slot that it has
    /// not taken back.
    pub unsafe fn release_future_reservation(&self) {
        if !self.is_future_writer_reserved() {
            return;
        }
        // ORDERING: Relaxed: the reservation publishes nothing. The writer gives it up either
        // before it touched the slot (to let raw writers in) or after a failed delivery, when
        // an end is closed and no raw writer can take the slot any more; and nobody waits for
        // it (a future's reader end is busy from creation, so no reader probes for a waiting
        // writer). A raw writer's take is a later RMW on the same word.
        // Clears WRITER_BUSY | FUTURE_WRITER_RESERVED.
        self.state
            .fetch_and(!(WRITER_BUSY | FUTURE_WRITER_RESERVED), Ordering::Relaxed);
    }

    /// Writes a future's value and closes the writer end: takes the lent buffer (LENT ->
    /// WRITING | WRITER_BUSY, as [`start_writing`](Self::start_writing)), lets `fill` write
    /// into it (its address and capacity) and return how many elements it wrote, then
    /// commits that count and closes the writer end in one step (-> DONE | WRITER_CLOSED) and
    /// activates *read ready*. Claim first, then write: `fill` runs only once the buffer is
    /// this writer's.
    ///
    /// # Errors
    ///
    /// As `start_writing` (nothing is written and nothing changes: the value was delivered
    /// already, an end is closed, or another writer holds the buffer); or
    /// [`StartWriteError::Closed`] when the reader end closed while `fill` ran: the buffer is
    /// returned (its contents are the reader's to ignore) and nothing is delivered.
    ///
    /// # Panics
    ///
    /// If `fill` returns more than the capacity (the buffer is returned first).
    ///
    /// # Safety
    ///
    /// The caller acts for a writer handle that it holds; `fill` writes at most the capacity
    /// it is given, initialises the elements it counts, and does not unwind.
    pub unsafe fn write_and_close(
        &self,
        fill: impl FnOnce(*mut c_void, usize) -> usize,
    ) -> Result<usize, StartWriteError> {
        // SAFETY: forwarded from the caller; the write ends below, before we return.
        let (addr, capacity) = unsafe { self.start_writing() }?;
        let count = fill(addr, capacity);
        if count > capacity {
            // SAFETY: we hold the buffer; returning it ends the write.
            unsafe { self.return_buffer() };
            panic!("wrote {count} elements into a buffer of {capacity}");
        }
        // SAFETY: we hold the buffer and `fill` initialised `count` elements.
        match unsafe { self.commit_and_close(count, false) } {
            Ok(_) => {
                self.read_ready.activate_after_seqcst();
                Ok(count)
            }
            Err(e) => {
                // SAFETY: still WRITING: the buffer is ours to return.
                unsafe { self.return_buffer() };
                Err(e)
            }
        }
    }

    /// Commits `count` elements and closes the writer end in one CAS: WRITING | WRITER_BUSY
    /// -> DONE | WRITER_CLOSED, plus `FUTURE_WRITER_GONE` if `release` and no reader announced
    /// a wait. Returns the state before. Fails with [`StartWriteError::Closed`], changing
    /// nothing, once the reader end is closed: the caller still holds the buffer. Activates
    /// nothing.
    ///
    /// # Safety
    ///
    /// The caller holds the buffer (phase WRITING, from its `start_writing`) and initialised
    /// `count` elements of it.
    unsafe fn commit_and_close(
        &self,
        count: usize,
        release: bool,
    ) -> Result<usize, StartWriteError> {
        // In WRITING `ready_size` is the writer's, and the caller holds WRITING.
        self.ready_size_set(count as isize);
        let mut s = self.load();
        loop {
            debug_assert_eq!(
                s & (PHASE | WRITER_BUSY),
                WRITING | WRITER_BUSY,
                "deliver from {s:#x}"
            );
            // A reader gone with its read handed over (`READ_ORPHANED`, a stream reader's
            // drop) is as closed: the caller returns the buffer, which ends that read.
            if s & (READER_CLOSED | READ_ORPHANED) != 0 {
                return Err(StartWriteError::Closed);
            }
            let gone = if release && s & FUTURE_READER_WAITS == 0 {
                FUTURE_WRITER_GONE
            } else {
                0
            };
            // ORDERING: Release publishes the elements and `ready_size` to the reader's
            // Acquire load of DONE; with FUTURE_WRITER_GONE it also orders every use of the
            // header by this handle before the reader's free. SeqCst (beyond Release) lets
            // the caller's activation skip its write when nobody is parked
            // (`activate_after_seqcst`). On failure Acquire, as `load`: only flags change
            // meanwhile (READER_CLOSED, FUTURE_READER_WAITS), the phase is ours.
            // WRITING | WRITER_BUSY -> DONE | WRITER_CLOSED (| FUTURE_WRITER_GONE).
            match self.state.compare_exchange_weak(
                s,
                (s ^ (WRITING ^ DONE) ^ WRITER_BUSY) | WRITER_CLOSED | gone,
                ord("deliver-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(s),
                Err(actual) => s = actual,
            }
        }
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

    /// For the last handle of a future, before the free: if the reader left its read pending
    /// (its drop found a raw writer holding the slot, and did not wait) and a value was
    /// committed into the slot since (phase DONE), takes the count and ends the read. Returns
    /// whether it did: the caller then owns the value and drops it, which nobody else will.
    ///
    /// # Safety
    ///
    /// The caller released the last handle (nobody else uses the header any more).
    pub(super) unsafe fn take_abandoned_value(&self) -> bool {
        let s = self.load();
        if phase(s) != DONE || s & READER_BUSY == 0 {
            return false;
        }
        // SAFETY: phase DONE with the read pending and no handle left to end it: ours.
        let n = unsafe { self.take_count() };
        debug_assert_eq!(n, 1, "a future's count");
        n == 1
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
