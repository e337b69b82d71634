//! The stream header and the design's low-level functions on it.
//!
//! [`RawStream`] is the shared header (one allocation per stream). Its methods are the
//! operations a C or C++ component calls: they take raw buffers and are `unsafe` where the
//! caller must keep a buffer alive or be the owner of the operation in progress. The safe
//! [`Reader`](crate::Reader) and [`Writer`](crate::Writer) are built on them.

use core::ffi::c_void;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use std::time::Instant;

use stream_abi::{
    ACTIVE_MAX_PER_END, ACTIVE_READER_MASK, ACTIVE_READER_ONE, ACTIVE_WRITER_ONE, BLOCKED, CLOSED,
};
use stream_events::{Backend, Event};

use crate::state::{
    phase, CLOSED_ANY, DONE, IDLE, LENT, PHASE, READER_BUSY, READER_CLOSED, WRITER_BUSY,
    WRITER_CLOSED, WRITING,
};
use crate::sync::{ord, AtomicUsize, Ordering, UnsafeCell};

// loom's allocation functions track leaks: a model that leaves a future's allocation behind
// fails.
#[cfg(stream_loom)]
use loom::alloc::{alloc, dealloc};
#[cfg(not(stream_loom))]
use std::alloc::{alloc, dealloc};

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
    read_size: UnsafeCell<usize>,
    ready_size: UnsafeCell<isize>,
    active_instances: AtomicUsize,
    state: AtomicUsize,
    /// The word of the `StreamHeader` layout after `state` (its tail padding there): a
    /// one-word buffer in the header's own cache line. A one-element future whose slot fits
    /// keeps its slot here ([`Shared::create_padded`]). Accessed only through raw pointers,
    /// under the ownership rules of a lent buffer.
    inline: core::cell::UnsafeCell<MaybeUninit<u64>>,
}

// The header is shared by the threads of both ends by design. The raw pointer in `read_addr`
// is only an address handed from reader to writer; the buffer behind it is accessed under
// the same phase rules as the fields.
// SAFETY: the atomics are `Sync`; each `UnsafeCell` field is accessed only by the side that
// owns it in the current phase of `state` (crate docs, "Implementation notes"), and phases
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

/// Future only (state bit): the reader may be waiting on *read ready*
/// ([`RawStream::announce_future_wait`]). Set by the reader only; sticky.
const FUTURE_READER_WAITS: usize = 1 << 6;

/// Future only (state bit): the writer delivered and released its handle in the same CAS
/// ([`Shared::deliver_future`]) without decrementing `active_instances`; it touches the
/// header no more, and the reader frees the allocation. Set with DONE; sticky.
const FUTURE_WRITER_GONE: usize = 1 << 7;

/// Whether a `T` fits the header's inline word (8 bytes, 8-aligned).
pub(crate) const fn inline_fits<T>() -> bool {
    core::mem::size_of::<T>() <= core::mem::size_of::<u64>()
        && core::mem::align_of::<T>() <= core::mem::align_of::<u64>()
}

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

/// The alignment that [`Shared::create_padded`] asks of the global allocator: what `malloc`
/// gives on the usual 64-bit targets, so that the request takes the allocator's plain path.
const PLAIN_ALIGN: usize = 16;

/// Padded allocations only (state bits, set at creation and never changed): where the header
/// is in the block, in units of [`PLAIN_ALIGN`] bytes from its start.
const PADDED_OFFSET_SHIFT: usize = 8;
/// Mask of the padded offset bits (after the shift): offsets below 64 bytes in 16-byte units.
const PADDED_OFFSET_MASK: usize = 0b11;

/// A stream header followed, in the same allocation, by `extra` (for example the slot of a
/// one-element future). [`RawStream::create_stream`] is `Shared<B, ()>`.
#[repr(C)]
pub struct Shared<B: Backend, X> {
    header: RawStream<B>,
    extra: X,
}

impl<B: Backend, X> Shared<B, X> {
    /// Creates a stream whose allocation also holds `extra`, with one reader handle and one
    /// writer handle. Release both ([`release_reader`](Self::release_reader),
    /// [`release_writer`](Self::release_writer)) to free it; `extra` is dropped then.
    pub fn create(extra: X) -> NonNull<Self> {
        let shared = Box::new(Self {
            header: RawStream::new(),
            extra,
        });
        NonNull::from(Box::leak(shared))
    }

    /// The stream header. (Not for a [`create_padded`](Self::create_padded) allocation: see
    /// [`header_of`](Self::header_of).)
    pub fn header(&self) -> &RawStream<B> {
        &self.header
    }

    /// The extra data. (Not for a [`create_padded`](Self::create_padded) allocation: see
    /// [`extra_of`](Self::extra_of).)
    pub fn extra(&self) -> &X {
        &self.extra
    }

    /// Releases one reader handle: see [`RawStream::release_reader`].
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_reader`]; `this` came from [`Shared::create`].
    pub unsafe fn release_reader(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the `Box` of `create`.
        unsafe {
            if release(this, ACTIVE_READER_ONE) {
                free(this);
            }
        }
    }

    /// Releases one writer handle: see [`RawStream::release_writer`].
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_writer`]; `this` came from [`Shared::create`].
    pub unsafe fn release_writer(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the `Box` of `create`.
        unsafe {
            if release(this, ACTIVE_WRITER_ONE) {
                free(this);
            }
        }
    }

    /// Like [`create`](Self::create), for one-element futures: the same header and `extra`,
    /// allocated through the global allocator's plain path instead of its over-aligned one,
    /// in a block no larger than needed.
    ///
    /// The header keeps its 64-byte alignment (the [`stream_abi::StreamHeader`] layout). The
    /// block is asked for with the alignment `malloc` gives anyway (16 bytes on 64-bit
    /// targets), and the header is placed at the first 64-byte boundary in it, at most 48
    /// bytes in; the offset is kept in bits of `state` that no transition changes, for the
    /// free. An `extra` of at most one `u64` in size and alignment lives in the header's last
    /// word (the tail padding of the `StreamHeader` layout), so that header and slot share one
    /// cache line and the block is at most 112 bytes; a larger one follows the header. glibc
    /// serves an over-aligned request by carving a larger chunk under the arena lock, with no
    /// thread cache, several times the cost of a plain `malloc`; and a small block (up to
    /// 120 bytes) is freed from another thread without the arena lock.
    ///
    /// The block does not hold a whole `Self`: never make a `&Shared` of it (no
    /// [`header`](Self::header), [`extra`](Self::extra)); use
    /// [`header_of`](Self::header_of) and [`extra_of`](Self::extra_of). Release the handles
    /// with [`release_reader_padded`](Self::release_reader_padded) and
    /// [`release_writer_padded`](Self::release_writer_padded), or free it with
    /// [`free_padded`](Self::free_padded); never with the functions for `create`.
    pub fn create_padded(extra: X) -> NonNull<Self> {
        const {
            assert!(PLAIN_ALIGN >= core::mem::size_of::<usize>());
            assert!(PLAIN_ALIGN.is_power_of_two());
            assert!(core::mem::align_of::<Self>() > PLAIN_ALIGN);
        }
        const {
            assert!(core::mem::align_of::<Self>() / PLAIN_ALIGN <= PADDED_OFFSET_MASK + 1);
        }
        let layout = Self::padded_layout();
        // SAFETY: the layout's size is not zero: it holds a header.
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // Only the address is used (no pointer is made from an integer): the distance to the
        // next boundary of the header's alignment. The block is `PLAIN_ALIGN`-aligned, so the
        // offset is a multiple of it, below the alignment (it fits the state bits: asserted).
        let align = core::mem::align_of::<Self>();
        let offset = (align - (base as usize & (align - 1))) & (align - 1);
        let header = RawStream::with_state((offset / PLAIN_ALIGN) << PADDED_OFFSET_SHIFT);
        // The header ends at most `align - PLAIN_ALIGN + size_of::<RawStream<B>>()` bytes
        // into the block, and an `extra` outside it at most `offset_of!(Self, extra) +
        // size_of::<X>()` past the header (`padded_layout` adds the largest offset).
        // SAFETY: so the header and `extra` lie in the block, aligned (the header at an
        // alignment boundary; `extra` in the inline word, whose alignment is at least its
        // own, or at its offset in `Self`).
        unsafe {
            let this = base.add(offset).cast::<Self>();
            core::ptr::addr_of_mut!((*this).header).write(header);
            Self::extra_ptr(this).write(extra);
            NonNull::new_unchecked(this)
        }
    }

    /// Whether `extra` of a padded allocation lives in the header's inline word.
    const INLINE: bool = inline_fits::<X>();

    /// Where `extra` lives in a padded block: the header's inline word if it fits
    /// ([`INLINE`](Self::INLINE)), else its place in `Self`, after the header.
    ///
    /// # Safety
    ///
    /// `this` is the `Shared` of a block from [`create_padded`](Self::create_padded) (the
    /// pointer may come before the header is written: only addresses are computed).
    unsafe fn extra_ptr(this: *mut Self) -> *mut X {
        if Self::INLINE {
            // SAFETY: by the caller, the header lies in the block; a place projection, no
            // reference.
            unsafe { core::ptr::addr_of_mut!((*this).header.inline).cast::<X>() }
        } else {
            // SAFETY: as above; `padded_layout` makes room for `extra` after the header.
            unsafe { core::ptr::addr_of_mut!((*this).extra) }
        }
    }

    /// The block of [`create_padded`](Self::create_padded).
    fn padded_layout() -> std::alloc::Layout {
        let largest_offset = core::mem::align_of::<Self>() - PLAIN_ALIGN;
        let end = if Self::INLINE {
            core::mem::size_of::<RawStream<B>>()
        } else {
            core::mem::offset_of!(Self, extra) + core::mem::size_of::<X>()
        };
        std::alloc::Layout::from_size_align(largest_offset + end, PLAIN_ALIGN)
            .expect("future too large")
    }

    /// The header of `this`, for a [`create_padded`](Self::create_padded) allocation (which
    /// must not be referenced as a whole `Shared`).
    ///
    /// # Safety
    ///
    /// `this` came from `create` or `create_padded` and stays alive for `'a`.
    pub unsafe fn header_of<'a>(this: NonNull<Self>) -> &'a RawStream<B> {
        // SAFETY: by the caller, the header is alive for 'a; the place projection makes no
        // reference to the whole `Shared`.
        unsafe { &(*this.as_ptr()).header }
    }

    /// The extra data of `this`, for a [`create_padded`](Self::create_padded) allocation
    /// (for one from [`create`](Self::create), use [`extra`](Self::extra): the two keep a
    /// small `extra` in different places).
    ///
    /// # Safety
    ///
    /// `this` came from `create_padded` and stays alive for `'a`.
    pub unsafe fn extra_of<'a>(this: NonNull<Self>) -> &'a X {
        // SAFETY: by the caller, the block is alive for 'a, and `extra` is where
        // `create_padded` put it; no reference to the whole `Shared` is made.
        unsafe { &*Self::extra_ptr(this.as_ptr()) }
    }

    /// For a [`create_padded`](Self::create_padded) block that this thread is about to read
    /// and free: hints the CPU to fetch the cache line just before the header, where the
    /// allocator keeps the block's size (the block starts at most 48 bytes before the header).
    /// `free` reads that word; on a block made on another thread it is a cache miss of its
    /// own, which this lets overlap with the miss on the header. Only a hint: it reads
    /// nothing in the program's sense, and does nothing off x86-64.
    #[inline(always)]
    pub fn prefetch_block_start(this: NonNull<Self>) {
        #[cfg(all(target_arch = "x86_64", not(miri), not(stream_loom)))]
        {
            let before = this.as_ptr().cast::<i8>().wrapping_sub(1);
            // SAFETY: a prefetch is a hint: it accesses no memory, whatever the address.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(before)
            };
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri), not(stream_loom))))]
        let _ = this;
    }

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

    /// Releases one reader handle of a [`create_padded`](Self::create_padded) allocation: see
    /// [`RawStream::release_reader`].
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_reader`]; `this` came from `create_padded`.
    pub unsafe fn release_reader_padded(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the padded block.
        unsafe {
            if release(this, ACTIVE_READER_ONE) {
                free_padded(this);
            }
        }
    }

    /// Releases one writer handle of a [`create_padded`](Self::create_padded) allocation: see
    /// [`RawStream::release_writer`].
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_writer`]; `this` came from `create_padded`.
    pub unsafe fn release_writer_padded(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the padded block.
        unsafe {
            if release(this, ACTIVE_WRITER_ONE) {
                free_padded(this);
            }
        }
    }

    /// Drops the `Shared` (header and `extra`) of a [`create_padded`](Self::create_padded)
    /// allocation and frees it, whatever `active_instances` says. For a future's reader once
    /// the writer has released its handle in its delivery
    /// ([`deliver_future`](Self::deliver_future) returned `Ok(true)`), which leaves the reader the only
    /// user of the allocation.
    ///
    /// # Safety
    ///
    /// `this` came from `create_padded`; no other thread uses it or will (every other handle
    /// is gone, and what they did happens before this call); the caller does not use it
    /// afterwards.
    pub unsafe fn free_padded(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller.
        unsafe { free_padded(this) }
    }
}

impl<B: Backend, X> fmt::Debug for Shared<B, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
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
            read_size: UnsafeCell::new(0),
            ready_size: UnsafeCell::new(BLOCKED),
            active_instances: AtomicUsize::new(ACTIVE_READER_ONE + ACTIVE_WRITER_ONE),
            state: AtomicUsize::new(state),
            inline: core::cell::UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Events and predicates
    // ---------------------------------------------------------------------------------------

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
        phase(s) == LENT && s & CLOSED_ANY == 0
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

    #[inline]
    fn load(&self) -> usize {
        // ORDERING: Acquire: every phase change is a Release RMW; acquiring it gives this side
        // the fields (and buffer) that the phase hands to it.
        self.state
            .load(ord("state-load-acquire", Ordering::Acquire))
    }

    // ---------------------------------------------------------------------------------------
    // Reader side
    // ---------------------------------------------------------------------------------------

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
    fn acquire_reader(&self, only_if_writer_waits: bool) -> Result<(), StartReadError> {
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

    /// Stores the buffer fields (`read_addr`, `read_size`); null and 0 clear them.
    ///
    /// # Safety
    ///
    /// The caller owns the fields in the current phase (crate docs, "Implementation notes").
    unsafe fn set_buffer(&self, addr: *mut c_void, size: usize) {
        // Counts travel in `ready_size`, an `isize` whose negative values are sentinels:
        // lend at most `isize::MAX` elements (only zero-sized elements get near it).
        let size = size.min(isize::MAX as usize);
        // SAFETY: forwarded from the caller.
        unsafe {
            self.read_addr.with_mut(|p| *p = addr);
            self.read_size.with_mut(|p| *p = size);
        }
    }

    /// Takes the committed count out of `ready_size`, leaving `BLOCKED`.
    ///
    /// # Safety
    ///
    /// Phase is DONE and the caller owns the read (so `ready_size` is its own).
    unsafe fn take_ready_size(&self) -> usize {
        // SAFETY: forwarded from the caller.
        let n = unsafe {
            self.ready_size
                .with_mut(|p| core::mem::replace(&mut *p, BLOCKED))
        };
        debug_assert!(n >= 0);
        n as usize
    }

    /// Whether a writer holds a taken buffer (between `start_writing` and `finish_writing`).
    pub fn is_writing(&self) -> bool {
        // ORDERING: Acquire, like every observation of the state.
        phase(self.load()) == WRITING
    }

    /// Whether a read is pending (started and not yet ended) on the reader end.
    pub fn is_read_pending(&self) -> bool {
        // ORDERING: Acquire, like every observation of the reader end's state.
        self.load() & READER_BUSY != 0
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
            // fields are cleared).
            match self.state.compare_exchange_weak(
                s,
                s & !PHASE,
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
        // ORDERING: Release hands the reader end (and the cleared fields) to the next reader's
        // Acquire in `acquire_reader`. IDLE | READER_BUSY -> IDLE.
        self.state
            .fetch_and(!READER_BUSY, ord("reclaim-release", Ordering::Release));
        true
    }

    /// Takes `ready_size` and moves DONE -> IDLE, releasing READER_BUSY.
    ///
    /// # Safety
    ///
    /// Phase is DONE and the caller owns the read.
    unsafe fn take_count(&self) -> usize {
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
        // follows its Acquire of our next lend. DONE | READER_BUSY -> IDLE.
        let prev = self.state.fetch_xor(
            DONE | READER_BUSY,
            ord("take-count-release", Ordering::Release),
        );
        debug_assert_eq!(
            prev & (PHASE | READER_BUSY),
            DONE | READER_BUSY,
            "take from {prev:#x}"
        );
    }

    /// Ends the pending read and, when a count was committed and neither end is closed, lends
    /// `addr`/`size` for the next read in the same step (DONE | `READER_BUSY` -> LENT |
    /// `READER_BUSY`, one CAS where [`end_read`](Self::end_read) and
    /// [`start_reading`](Self::start_reading) take two or three RMWs). Returns what `end_read`
    /// returns, and whether the new buffer is lent: then a read of it is pending, owned by the
    /// caller as after `start_reading`. Otherwise (no count, or a closed end) the read ends as
    /// `end_read` ends it and nothing is lent.
    ///
    /// The reader end is never free in between, so no other handle of it can start a read:
    /// the new read follows the old at once.
    ///
    /// # Safety
    ///
    /// The caller owns a pending read, and `addr` is valid for writes of `size` elements of
    /// the stream's element type until the new read ends (as for `start_reading`).
    pub(crate) unsafe fn end_read_and_lend(
        &self,
        addr: *mut c_void,
        size: usize,
    ) -> (Option<usize>, bool) {
        let mut s = self.load();
        if phase(s) != DONE || s & CLOSED_ANY != 0 {
            // SAFETY: forwarded from the caller.
            return (unsafe { self.end_read() }, false);
        }
        // SAFETY: phase DONE and we own the read: `ready_size` and the buffer fields are ours
        // (the writer's Release commit, which cleared the fields, happened before our Acquire
        // load of DONE), and stay ours while the phase is DONE, which only we can leave.
        let n = unsafe { self.take_ready_size() };
        // SAFETY: as above.
        unsafe { self.set_buffer(addr, size) };
        loop {
            // ORDERING: Release publishes the new fields, and orders our read of `ready_size`
            // and of the old buffer, before the writer's Acquire take of the new lend (as
            // `lend` and `take_count` do); SeqCst lets the activation skip its write when
            // nobody is parked. On failure we only look at the flags that changed: Acquire,
            // like every observation of the state. DONE | READER_BUSY -> LENT | READER_BUSY.
            match self.state.compare_exchange_weak(
                s,
                s ^ DONE ^ LENT,
                ord("relend-release", Ordering::SeqCst),
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.write_ready.activate_after_seqcst();
                    return (Some(n), true);
                }
                // The phase stays DONE (only we leave it); flags may change meanwhile: a
                // writer's WRITER_BUSY (its wait starting or ending), or a closed flag.
                Err(actual) => {
                    debug_assert_eq!(phase(actual), DONE, "relend from {actual:#x}");
                    if actual & CLOSED_ANY != 0 {
                        break;
                    }
                    s = actual;
                }
            }
        }
        // An end closed: end the read without lending, as `take_count` does.
        // SAFETY: still DONE with READER_BUSY held: the fields are ours.
        unsafe { self.set_buffer(core::ptr::null_mut(), 0) };
        self.release_done();
        (Some(n), false)
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

    // ---------------------------------------------------------------------------------------
    // Writer side
    // ---------------------------------------------------------------------------------------

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
                Ok(_) => return Ok(unsafe { self.lent_buffer() }),
                Err(actual) => s = actual,
            }
        }
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
                // SAFETY: phase WRITING is ours when `lent`.
                Ok(_) => return Ok(lent.then(|| unsafe { self.lent_buffer() })),
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
                phase(s) == LENT || s & CLOSED_ANY != 0
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
            if phase(s) == LENT {
                if !take {
                    return Ok(None);
                }
                // ORDERING: Acquire pairs with the reader's Release lend.
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
                    // SAFETY: phase WRITING is ours.
                    return Ok(Some(unsafe { self.lent_buffer() }));
                }
                // The reader reclaimed it or a flag changed: look again.
                continue;
            }
            if !ready {
                // SAFETY: forwarded: we hold WRITER_BUSY and no buffer.
                unsafe { self.release_writer_busy() };
                return Err(WaitWriteError::Timeout);
            }
        }
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
        unsafe { (self.read_addr.with(|p| *p), self.read_size.with(|p| *p)) }
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
        // SAFETY: the caller owns WRITING, so the size field is ours to read.
        let capacity = unsafe { self.read_size.with(|p| *p) };
        if count < 0 || count as usize > capacity {
            return false;
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            if count == 0 && capacity > 0 {
                self.return_buffer();
            } else {
                self.commit(count as usize, false);
            }
        }
        true
    }

    /// Commits `count` elements: WRITING -> DONE, releasing WRITER_BUSY unless `keep_busy`.
    ///
    /// # Safety
    ///
    /// The caller owns WRITING and initialised the first `count` elements of the buffer.
    pub(crate) unsafe fn commit(&self, count: usize, keep_busy: bool) {
        // SAFETY: in WRITING `ready_size` and the buffer fields are the writer's.
        unsafe {
            self.ready_size.with_mut(|p| *p = count as isize);
            self.set_buffer(core::ptr::null_mut(), 0);
        }
        let busy = if keep_busy { 0 } else { WRITER_BUSY };
        // ORDERING: Release publishes the elements and `ready_size` to the reader's Acquire
        // load of DONE; SeqCst (beyond Release) lets the activation below skip its write when
        // nobody is parked. WRITING | WRITER_BUSY -> DONE (| WRITER_BUSY if kept).
        let prev = self.state.fetch_xor(
            (WRITING ^ DONE) | busy,
            ord("commit-release", Ordering::SeqCst),
        );
        debug_assert_eq!(
            prev & (PHASE | WRITER_BUSY),
            WRITING | WRITER_BUSY,
            "commit from {prev:#x}"
        );
        self.read_ready.activate_after_seqcst();
    }

    /// Returns the held buffer: WRITING -> LENT, releasing WRITER_BUSY. The reader's read
    /// stays pending; *read ready* is activated only so that a reader that is cancelling (and
    /// waits for the writer to let go) can finish.
    ///
    /// # Safety
    ///
    /// The caller owns WRITING.
    pub(crate) unsafe fn return_buffer(&self) {
        // ORDERING: Release: whatever we wrote into the buffer happens before the reader's
        // Acquire reclaim of it; SeqCst (beyond Release) lets the activation below skip its
        // write when nobody is parked. WRITING | WRITER_BUSY -> LENT.
        let prev = self.state.fetch_xor(
            (WRITING ^ LENT) | WRITER_BUSY,
            ord("return-release", Ordering::SeqCst),
        );
        debug_assert_eq!(
            prev & (PHASE | WRITER_BUSY),
            WRITING | WRITER_BUSY,
            "return from {prev:#x}"
        );
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

    // ---------------------------------------------------------------------------------------
    // Handles
    // ---------------------------------------------------------------------------------------

    /// Counts one more reader handle.
    ///
    /// # Errors
    ///
    /// [`TooManyHandles`] when the reader half of `active_instances` is full.
    ///
    /// # Safety
    ///
    /// `this` is alive: the caller holds a reader handle.
    pub unsafe fn retain_reader(this: NonNull<Self>) -> Result<(), TooManyHandles> {
        // SAFETY: alive, by the caller's handle.
        unsafe { this.as_ref() }.retain(ACTIVE_READER_ONE)
    }

    /// Counts one more writer handle.
    ///
    /// # Errors
    ///
    /// [`TooManyHandles`] when the writer half of `active_instances` is full.
    ///
    /// # Safety
    ///
    /// `this` is alive: the caller holds a writer handle.
    pub unsafe fn retain_writer(this: NonNull<Self>) -> Result<(), TooManyHandles> {
        // SAFETY: alive, by the caller's handle.
        unsafe { this.as_ref() }.retain(ACTIVE_WRITER_ONE)
    }

    fn retain(&self, one: usize) -> Result<(), TooManyHandles> {
        let shift = one.trailing_zeros();
        // ORDERING: Relaxed: only a first guess for the CAS below.
        let mut cur = self.active_instances.load(Ordering::Relaxed);
        loop {
            if (cur >> shift) & ACTIVE_READER_MASK == ACTIVE_MAX_PER_END {
                return Err(TooManyHandles);
            }
            // ORDERING: Relaxed, as in `Arc::clone`: the caller's handle keeps the header
            // alive, and a new handle needs no synchronisation with anyone.
            match self.active_instances.compare_exchange_weak(
                cur,
                cur + one,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Releases one reader handle. The last reader handle closes the reader end first (and
    /// ends a read left pending by its owner); the last handle of all frees the header.
    ///
    /// # Safety
    ///
    /// The caller gives up a reader handle of `this` (and does not use `this` afterwards).
    /// If it is the last reader handle and a read is pending, the caller owns that read.
    pub unsafe fn release_reader(this: NonNull<Self>) {
        let shared = this.cast::<Shared<B, ()>>();
        // SAFETY: forwarded from the caller; a header from `create_stream` is a
        // `Shared<B, ()>` (same address, same layout), freed as it was created once the last
        // handle is gone.
        unsafe {
            if release(shared, ACTIVE_READER_ONE) {
                free(shared);
            }
        }
    }

    /// Releases one writer handle. The last writer handle closes the writer end first (and
    /// returns a buffer left taken by its owner); the last handle of all frees the header.
    ///
    /// # Safety
    ///
    /// The caller gives up a writer handle of `this` (and does not use `this` afterwards).
    /// If it is the last writer handle and a buffer is taken, the caller owns it.
    pub unsafe fn release_writer(this: NonNull<Self>) {
        let shared = this.cast::<Shared<B, ()>>();
        // SAFETY: as for `release_reader`.
        unsafe {
            if release(shared, ACTIVE_WRITER_ONE) {
                free(shared);
            }
        }
    }

    /// Closes one end on behalf of its last handle, ending an operation its owner left.
    ///
    /// # Safety
    ///
    /// The caller owns the end's pending operation, if any.
    pub(crate) unsafe fn close_end(&self, reader: bool) {
        let s = self.load();
        if reader {
            if s & READER_CLOSED == 0 {
                self.close_read();
            }
            if s & READER_BUSY != 0 {
                // SAFETY: the caller owns the read: end it so the writer cannot write into a
                // buffer that is about to be freed by its owner.
                unsafe { self.end_read() };
            }
        } else {
            if phase(s) == WRITING {
                // SAFETY: the caller owns the held buffer.
                unsafe { self.return_buffer() };
            } else if s & WRITER_BUSY != 0 {
                // SAFETY: the caller owns the waiting write (no buffer).
                unsafe { self.release_writer_busy() };
            }
            if s & WRITER_CLOSED == 0 {
                self.close_write();
            }
        }
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

/// Releases one handle (`one` is the reader or writer unit of `active_instances`). Returns
/// whether it was the last handle of all: the caller then frees the allocation (with the free
/// that matches how it was created).
///
/// # Safety
///
/// As for [`RawStream::release_reader`] / [`RawStream::release_writer`]; `this` came from
/// [`Shared::create`] or [`Shared::create_padded`].
#[must_use]
unsafe fn release<B: Backend, X>(this: NonNull<Shared<B, X>>, one: usize) -> bool {
    let shift = one.trailing_zeros();
    // SAFETY: our handle keeps the header alive until our decrement below. (No reference to
    // the whole `Shared`: a padded block does not hold one.)
    let header = unsafe { Shared::header_of(this) };
    // A Relaxed load here let the last writer see a stale WRITING and "return" a buffer that
    // another handle had already committed (found by loom at three preemptions).
    // ORDERING: Acquire pairs with the Release decrements of the other handles of our end:
    // what they did (a commit, a read's end) happens before our close, which reads the state.
    let mut cur = header
        .active_instances
        .load(ord("release-count-acquire", Ordering::Acquire));
    loop {
        let ours = (cur >> shift) & ACTIVE_READER_MASK;
        debug_assert!(ours > 0, "released more handles than were counted");
        if ours == 1 {
            // The last handle of this end: no other handle of it exists, so nobody else
            // can operate on this end. Close it while our count keeps the header alive.
            // SAFETY: forwarded from the caller.
            unsafe { header.close_end(one == ACTIVE_READER_ONE) };
            break;
        }
        // ORDERING: Release, as in `Arc::drop`: our uses of the header happen before
        // the free by whoever drops the count to zero (that thread acquires), and before the
        // close by the last handle of our end (its load above acquires). This path leaves at
        // least one handle of our end, so it never frees. On failure, Acquire as the load.
        match header.active_instances.compare_exchange_weak(
            cur,
            cur - one,
            ord("release-count-release", Ordering::Release),
            ord("release-count-acquire", Ordering::Acquire),
        ) {
            Ok(_) => return false,
            Err(actual) => cur = actual,
        }
    }
    // ORDERING: AcqRel: Release orders our uses (the close above) before the free;
    // Acquire, when we reach zero, orders every other handle's uses before our free.
    let prev = header
        .active_instances
        .fetch_sub(one, ord("release-count-acqrel", Ordering::AcqRel));
    // The count reached zero: no handle is left, so nothing else refers to the allocation.
    prev == one
}

/// Frees a stream allocation.
///
/// # Safety
///
/// No handle is left; `this` came from `Shared::create`.
unsafe fn free<B: Backend, X>(this: NonNull<Shared<B, X>>) {
    // SAFETY: by the caller, the allocation is ours alone and came from `Box::leak`.
    #[allow(unused_mut)]
    let mut shared = unsafe { Box::from_raw(this.as_ptr()) };
    #[cfg(stream_loom)]
    check_unshared(&mut shared.header);
    drop(shared);
}

/// loom does not see a race against a free: touch every cell of a header about to be freed so
/// that it checks that no other thread can still be using them.
#[cfg(stream_loom)]
fn check_unshared<B: Backend>(header: &mut RawStream<B>) {
    header.read_addr.with_mut(|_| ());
    header.read_size.with_mut(|_| ());
    header.ready_size.with_mut(|_| ());
    header.state.with_mut(|_| ());
    header.active_instances.with_mut(|_| ());
}

/// Frees an allocation from [`Shared::create_padded`].
///
/// # Safety
///
/// No handle is left (or the caller owns every one: see [`Shared::free_padded`]); `this` came
/// from `Shared::create_padded`.
#[inline]
unsafe fn free_padded<B: Backend, X>(this: NonNull<Shared<B, X>>) {
    let layout = Shared::<B, X>::padded_layout();
    let this = this.as_ptr();
    // SAFETY: by the caller the header is alive and ours alone.
    let state = unsafe { &(*this).header.state };
    // ORDERING: Relaxed: the caller's handles (or its Acquire of the writer's release) already
    // order every other use of the header before this; the offset bits never change.
    let offset =
        (state.load(Ordering::Relaxed) >> PADDED_OFFSET_SHIFT & PADDED_OFFSET_MASK) * PLAIN_ALIGN;
    // SAFETY: `this` is `offset` bytes into the block, so the start is in bounds, with the
    // block's provenance.
    let base = unsafe { this.cast::<u8>().sub(offset) };
    #[cfg(stream_loom)]
    // SAFETY: by the caller, nothing else refers to the allocation any more.
    check_unshared(unsafe { &mut (*this).header });
    // SAFETY: by the caller, header and `extra` are ours alone and initialised (by
    // `create_padded`), and dropped once, here, field by field (the block holds no whole
    // `Shared`); then the block goes back with the layout it was allocated with.
    unsafe {
        core::ptr::drop_in_place(Shared::extra_ptr(this));
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*this).header));
        dealloc(base, layout);
    }
}

/// Why a writer's wait for a buffer ended without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitWriteError {
    Closed,
    Timeout,
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
