//! The stream header and the design's low-level functions on it.
//!
//! [`RawStream`] is the shared header (one allocation per stream). Its methods are the
//! operations a C or C++ component calls: they take raw buffers and are `unsafe` where the
//! caller must keep a buffer alive or be the owner of the operation in progress. The safe
//! [`Reader`](crate::Reader) and [`Writer`](crate::Writer) are built on them.
//!
//! The files of this folder, each an `impl` block of the same header:
//!
//! | file | what it holds |
//! |------|---------------|
//! | `mod.rs` | the header type, its errors, creation, the events and predicates |
//! | `read.rs` | the reader side: lend, wait, take the count, cancel, close |
//! | `write.rs` | the writer side: take the buffer, wait, commit, return, close |
//! | `handles.rs` | handle counting: retain, release, the last handle's close, the free |
//! | `shared.rs` | [`Shared`]: a header and extra data in one allocation |
//! | `future/` | what one-element futures add: their state bits, delivery, the padded allocation |
//!
//! The state bits and the phase-ownership table are in `crate::state`; the transitions are
//! listed in `docs/design.md` ("stream-core"), each next to the function that makes it.

mod future;
mod handles;
mod open;
mod read;
mod shared;
mod write;

use core::ffi::c_void;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use std::time::Instant;

use stream_abi::{ACTIVE_READER_MASK, ACTIVE_READER_ONE, ACTIVE_WRITER_ONE, BLOCKED};
use stream_events::{AsyncBackend, Backend, Event};

use crate::state::{
    phase, CLOSED_ANY, IDLE, READER_BUSY, READER_CLOSED, WRITER_BUSY, WRITER_CLOSED,
};
use crate::sync::{ord, AtomicUsize, Ordering, UnsafeCell};

pub use future::{FutureReservation, PaddedBlock};
#[allow(unused_imports)] // named by the docs of `open_ring.rs`
pub(crate) use open::OpenFinish;
pub(crate) use open::OpenRustLend;
pub use shared::Shared;
pub(crate) use write::{OrphanedBuffer, WaitWriteError};

/// The shared header of a stream: the [`stream_abi::StreamHeader`] layout, interpreted by
/// backend `B`.
///
/// Obtained from [`RawStream::create_stream`] as a pointer counted in `active_instances`; freed
/// by the last [`release_reader`](RawStream::release_reader) or
/// [`release_writer`](RawStream::release_writer).
#[repr(C, align(64))]
pub struct RawStream<B: Backend> {
    read_ready: Event<B>,
    write_ready: Event<B>,
    read_addr: UnsafeCell<*mut c_void>,
    /// An atomic (not a plain cell like `read_addr`): a writer that waits for room in an
    /// open lend reads it while the reader may end the lend (`open.rs`); otherwise owned as
    /// the phase table says and accessed with `Relaxed` by its owner.
    read_size: AtomicUsize,
    /// An `isize` count or sentinel, kept as its bits; an atomic because in an open lend it
    /// is the writer's published position, read by the reader while the writer writes it
    /// (`open.rs`). Otherwise owned as the phase table says.
    ready_size: AtomicUsize,
    active_instances: AtomicUsize,
    state: AtomicUsize,
    /// The word of the `StreamHeader` layout after `state` (its tail padding there): a
    /// one-word buffer in the header's own cache line. A one-element future whose slot fits
    /// keeps its slot here ([`Shared::create_padded`]). Accessed only through raw pointers,
    /// under the ownership rules of a lent buffer.
    inline: core::cell::UnsafeCell<MaybeUninit<u64>>,
    /// loom builds only: the reader's position of an open lend, which the other builds keep
    /// in the inline word (`open.rs`).
    #[cfg(stream_loom)]
    open_read: AtomicUsize,
    /// loom builds only: one cell per slot of an open lend's ring (slots [`LOOM_RING_SLOTS`]
    /// apart share one: models keep fewer elements in flight), which the writer's commit
    /// writes and the reader's consumption reads: loom cannot see the ring itself (raw
    /// memory), so these stand for its slots and make a missing happens-before between a
    /// slot's write and its read (or its read and the next lap's write) a reported race
    /// (`open.rs`, `touch_slots`).
    #[cfg(stream_loom)]
    open_slots: Box<[UnsafeCell<()>]>,
}

/// loom builds only: the cells standing for an open lend's slots (see `open_slots`).
#[cfg(stream_loom)]
pub(crate) const LOOM_RING_SLOTS: usize = 16;

// The header is shared by the threads of both ends by design. The raw pointer in `read_addr`
// is only an address handed from reader to writer; the buffer behind it is accessed under
// the same phase rules as the fields.
// SAFETY: the atomics are `Sync`; each `UnsafeCell` field is accessed only by the side that
// owns it in the current phase of `state` (`docs/design.md`, "stream-core"), and phases
// change by Release/Acquire read-modify-writes, so no two threads access one concurrently.
unsafe impl<B: Backend> Sync for RawStream<B> {}
// SAFETY: as for `Sync`: nothing in the header is tied to a thread (`Event<B>` is `Send` for
// every backend, `Backend: Send + Sync`).
unsafe impl<B: Backend> Send for RawStream<B> {}

/// Why [`RawStream::start_reading`] did not lend the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartReadError {
    /// The writer closed and every element was taken (end of stream), or the reader end was
    /// closed.
    Closed,
    /// Another read is in progress on the reader end.
    Busy,
    /// Only for [`RawStream::try_start_reading`]: no writer is waiting for a buffer.
    Empty,
}

/// Why [`RawStream::start_writing`] did not hand out a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartWriteError {
    /// The reader end or the writer end is closed.
    Closed,
    /// Another write is in progress on the writer end.
    Busy,
    /// No buffer is lent (wait for the write-ready event and try again).
    Blocked,
}

/// Why a handle could not be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyHandles;

/// How long a blocking step may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Do not wait.
    Try,
    /// Wait as long as it takes.
    Block,
    /// Wait until the deadline.
    Until(Instant),
}

impl Wait {
    fn deadline(self) -> Option<Instant> {
        match self {
            Wait::Try => Some(Instant::now()),
            Wait::Block => None,
            Wait::Until(d) => Some(d),
        }
    }
}

/// Whether a `T` fits the header's inline word (8 bytes, 8-aligned).
pub(crate) const fn inline_fits<T>() -> bool {
    core::mem::size_of::<T>() <= core::mem::size_of::<u64>()
        && core::mem::align_of::<T>() <= core::mem::align_of::<u64>()
}

impl<B: Backend> RawStream<B> {
    /// Creates a stream with one reader handle and one writer handle.
    ///
    /// The header is one heap allocation; release both handles
    /// ([`release_reader`](Self::release_reader), [`release_writer`](Self::release_writer)) to
    /// free it.
    pub fn create_stream() -> NonNull<Self> {
        // `Shared<B, ()>` starts with the header (`repr(C)`) and is no larger.
        Shared::<B, ()>::create(()).cast()
    }

    /// A header in its initial state: idle, one reader and one writer handle.
    fn new() -> Self {
        Self::with_state(IDLE)
    }

    /// A header with one reader and one writer handle and `state` (idle, perhaps with the
    /// offset bits of a padded allocation).
    fn with_state(state: usize) -> Self {
        #[cfg(not(stream_loom))]
        const {
            use core::mem::{align_of, offset_of, size_of};
            use stream_abi::StreamHeader as H;
            assert!(size_of::<Self>() == size_of::<H>());
            assert!(align_of::<Self>() == align_of::<H>());
            assert!(offset_of!(Self, read_ready) == offset_of!(H, read_ready));
            assert!(offset_of!(Self, write_ready) == offset_of!(H, write_ready));
            assert!(offset_of!(Self, read_addr) == offset_of!(H, read_addr));
            assert!(offset_of!(Self, read_size) == offset_of!(H, read_size));
            assert!(offset_of!(Self, ready_size) == offset_of!(H, ready_size));
            assert!(offset_of!(Self, active_instances) == offset_of!(H, active_instances));
            assert!(offset_of!(Self, state) == offset_of!(H, state));
        }
        Self {
            read_ready: Event::new(),
            write_ready: Event::new(),
            read_addr: UnsafeCell::new(core::ptr::null_mut()),
            read_size: AtomicUsize::new(0),
            ready_size: AtomicUsize::new(BLOCKED as usize),
            active_instances: AtomicUsize::new(ACTIVE_READER_ONE + ACTIVE_WRITER_ONE),
            state: AtomicUsize::new(state),
            inline: core::cell::UnsafeCell::new(MaybeUninit::uninit()),
            #[cfg(stream_loom)]
            open_read: AtomicUsize::new(0),
            #[cfg(stream_loom)]
            open_slots: (0..LOOM_RING_SLOTS).map(|_| UnsafeCell::new(())).collect(),
        }
    }

    /// The *read ready* event: activated when a count is committed, a loan is returned, a
    /// waiting writer gives up, or an end closes.
    pub fn read_ready_event(&self) -> &Event<B> {
        &self.read_ready
    }

    /// The *write ready* event: activated when a buffer is lent or an end closes.
    pub fn write_ready_event(&self) -> &Event<B> {
        &self.write_ready
    }

    /// Whether a buffer is lent and not yet taken, so that [`start_writing`] would not report
    /// [`StartWriteError::Blocked`].
    ///
    /// [`start_writing`]: Self::start_writing
    pub fn is_ready_to_write(&self) -> bool {
        // ORDERING: Acquire, so that a `true` answer is followed by a `start_writing` that
        // sees the lent fields (the CAS there acquires again anyway).
        let s = self.state.load(Ordering::Acquire);
        s & CLOSED_ANY == 0 && self.writable_in(s)
    }

    /// Whether the writer end is closed (end of stream once the last count is taken).
    pub fn is_write_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the Release `fetch_or` in `close_write`.
        self.state.load(Ordering::Acquire) & WRITER_CLOSED != 0
    }

    /// Whether the reader end is closed: writes fail from now on.
    pub fn is_read_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the Release `fetch_or` in `close_read`.
        self.state.load(Ordering::Acquire) & READER_CLOSED != 0
    }

    /// Waits until `busy` (`WRITER_BUSY` or `READER_BUSY`) is clear or a flag of `closed` is
    /// set: another handle's operation on that end has ended, and a clone may take its turn
    /// (or the turn will never matter). Returns whether that happened before the deadline of
    /// `wait`.
    ///
    /// A reader waits for its own end's close only: after the writer's close the clone in
    /// progress still reads what was committed, and ends its read, and the waiting clone then
    /// finds end of stream (a refusal checks `READER_BUSY` before `WRITER_CLOSED`, so
    /// stopping at `WRITER_CLOSED` would spin). A writer's refusal checks both closes first.
    ///
    /// Every release of either flag is a `SeqCst` read-modify-write followed by an
    /// activation of *read ready* (`activate_after_seqcst`), and this condition reads the
    /// state word, so the wake-up is not lost (`stream-events`' futex docs).
    fn wait_turn(&self, busy: usize, closed: usize, wait: Wait) -> bool {
        let cond = || {
            let s = self.load();
            s & busy == 0 || s & closed != 0
        };
        match wait.deadline() {
            None => {
                self.read_ready.wait_until(cond);
                true
            }
            Some(deadline) => self.read_ready.wait_until_deadline(cond, deadline),
        }
    }

    /// [`wait_turn`](Self::wait_turn) for the writer end.
    pub(crate) fn wait_writer_turn(&self, wait: Wait) -> bool {
        self.wait_turn(WRITER_BUSY, CLOSED_ANY, wait)
    }

    /// [`wait_writer_turn`](Self::wait_writer_turn) from async code: `Ready` once the writer
    /// end is free or closed; otherwise registers `cx`'s waker in `registration` (one used
    /// for this event only) and returns `Pending`. The same condition and wake-up as the
    /// blocking wait: the activation of *read ready* after every release of `WRITER_BUSY`.
    pub(crate) fn poll_writer_turn(
        &self,
        registration: &mut B::Registration,
        cx: &mut Context<'_>,
    ) -> Poll<()>
    where
        B: AsyncBackend,
    {
        self.read_ready.poll_until(
            registration,
            || {
                let s = self.load();
                s & WRITER_BUSY == 0 || s & CLOSED_ANY != 0
            },
            cx,
        )
    }

    /// [`wait_turn`](Self::wait_turn) for the reader end.
    pub(crate) fn wait_reader_turn(&self, wait: Wait) -> bool {
        self.wait_turn(READER_BUSY, READER_CLOSED, wait)
    }

    #[inline]
    fn load(&self) -> usize {
        // ORDERING: Acquire: every phase change is a Release RMW; acquiring it gives this side
        // the fields (and buffer) that the phase hands to it.
        self.state
            .load(ord("state-load-acquire", Ordering::Acquire))
    }

    /// `active_instances` right now (reader handles in the low half, writer handles in the
    /// high half); for tests and diagnostics.
    pub fn active_instances(&self) -> usize {
        // ORDERING: Relaxed: a snapshot for diagnostics, not used to decide anything.
        self.active_instances.load(Ordering::Relaxed)
    }

    /// The header's inline word (8 bytes, 8-aligned), which a reader may lend as a
    /// one-element buffer for an element that fits ([`inline_fits`]).
    pub(crate) fn inline_slot(&self) -> *mut c_void {
        self.inline.get().cast()
    }

    /// `ready_size`, read by the side that owns it in the current phase.
    #[inline(always)]
    fn ready_size_get(&self) -> isize {
        // ORDERING: Relaxed: the phase gives the word to the caller, and the state word's
        // Release/Acquire transitions order every other access before this one.
        self.ready_size.load(Ordering::Relaxed) as isize
    }

    /// `ready_size`, written by the side that owns it in the current phase.
    #[inline(always)]
    fn ready_size_set(&self, value: isize) {
        // ORDERING: Relaxed, as `ready_size_get`: the next state transition publishes it.
        self.ready_size.store(value as usize, Ordering::Relaxed);
    }

    /// `read_size`, read by a side that owns it or may read it in the current phase.
    #[inline(always)]
    fn read_size_get(&self) -> usize {
        // ORDERING: Relaxed, as `ready_size_get`.
        self.read_size.load(Ordering::Relaxed)
    }

    /// [`active_instances`](Self::active_instances) with Acquire: when it counts one handle of
    /// an end and the caller holds that handle, every use of the end by handles released
    /// before happens before what the caller does next.
    pub(crate) fn active_instances_acquire(&self) -> usize {
        // ORDERING: Acquire pairs with the Release (AcqRel) decrement of each handle's release:
        // the count we read was written by the last of them, or by a later RMW on the word
        // (a writer handle's retain or release, or a reader retain that only a handle we
        // would know of could make), which continues the release sequence.
        self.active_instances.load(Ordering::Acquire)
    }
}

impl<B: Backend> RawStream<B> {
    /// Formats one end of the stream as its handle's `Debug` shows it: `name { backend,
    /// closed, <other end>_closed, busy, handles }`, the facts a user can act on (is this
    /// end or the other closed, is an operation in progress, how many handles share the end).
    pub fn fmt_end(&self, f: &mut fmt::Formatter<'_>, name: &str, reader_end: bool) -> fmt::Result {
        // ORDERING: Relaxed: a snapshot for display.
        let s = self.state.load(Ordering::Relaxed);
        let active = self.active_instances();
        let (closed, other, busy, one) = if reader_end {
            (READER_CLOSED, WRITER_CLOSED, READER_BUSY, ACTIVE_READER_ONE)
        } else {
            (WRITER_CLOSED, READER_CLOSED, WRITER_BUSY, ACTIVE_WRITER_ONE)
        };
        f.debug_struct(name)
            .field("backend", &B::NAME)
            .field("closed", &(s & closed != 0))
            .field(
                if reader_end {
                    "writer_closed"
                } else {
                    "reader_closed"
                },
                &(s & other != 0),
            )
            .field("busy", &(s & busy != 0))
            .field(
                "handles",
                &((active >> one.trailing_zeros()) & ACTIVE_READER_MASK),
            )
            .finish()
    }
}

impl<B: Backend> fmt::Debug for RawStream<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ORDERING: Relaxed: a snapshot for display.
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawStream")
            .field("backend", &B::NAME)
            .field("phase", &["IDLE", "LENT", "WRITING", "DONE"][phase(s)])
            .field("writer_closed", &(s & WRITER_CLOSED != 0))
            .field("reader_closed", &(s & READER_CLOSED != 0))
            .field("writer_busy", &(s & WRITER_BUSY != 0))
            .field("reader_busy", &(s & READER_BUSY != 0))
            .field("active_instances", &self.active_instances())
            .finish_non_exhaustive()
    }
}
