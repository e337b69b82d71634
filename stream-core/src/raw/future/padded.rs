//! The padded allocation of a one-element future ([`Shared::create_padded`]): the header at a
//! 64-byte boundary inside a block from the allocator's plain path, its offset kept in bits of
//! the state word, and the slot in the header's inline word when it fits.

use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use stream_abi::{ACTIVE_READER_ONE, ACTIVE_WRITER_ONE, BLOCKED};
use stream_events::Backend;

#[cfg(stream_loom)]
use super::super::handles::check_unshared;
use super::super::handles::release;
use super::super::{inline_fits, RawStream, Shared};
use crate::sync::Ordering;

// loom's allocation functions track leaks: a model that leaves a future's allocation behind
// fails.
#[cfg(stream_loom)]
use loom::alloc::{alloc, dealloc};
#[cfg(not(stream_loom))]
use std::alloc::{alloc, dealloc};

/// The alignment that [`Shared::create_padded`] asks of the global allocator: what `malloc`
/// gives on the usual 64-bit targets, so that the request takes the allocator's plain path.
const PLAIN_ALIGN: usize = 16;

/// Padded allocations only (state bits, set at creation and never changed): where the header
/// is in the block, in units of [`PLAIN_ALIGN`] bytes from its start.
pub(super) const PADDED_OFFSET_SHIFT: usize = 8;

/// Mask of the padded offset bits (after the shift): offsets below 64 bytes in 16-byte units.
pub(super) const PADDED_OFFSET_MASK: usize = 0b11;

impl<B: Backend, X> Shared<B, X> {
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
    /// An `extra` aligned above the header's 64 bytes (a future of an over-aligned element)
    /// cannot be placed by a 16-byte-aligned block with an offset of at most 48 bytes: its
    /// block is asked for with the alignment of `Self`, and the header sits at its start
    /// (offset 0).
    ///
    /// The block does not hold a whole `Self`: never make a `&Shared` of it (no
    /// [`header`](Self::header), [`extra`](Self::extra)); use
    /// [`header_of`](Self::header_of) and [`extra_of`](Self::extra_of). Release the handles
    /// with [`release_reader_padded`](Self::release_reader_padded) and
    /// [`release_writer_padded`](Self::release_writer_padded), or free it with
    /// [`free_padded`](Self::free_padded); never with the functions for `create`.
    pub fn create_padded(extra: X) -> NonNull<Self> {
        // SAFETY: `init_at` writes every field but `inline`, each once.
        unsafe {
            Self::create_padded_with(extra, |header, bits, _| {
                RawStream::init_at(header, bits, core::ptr::null_mut(), 0, BLOCKED);
            })
        }
        .shared()
    }

    /// [`create_padded`](Self::create_padded) for a future made by Rust, with its slot `extra`
    /// lent and the writer end reserved, as [`RawStream::lend_reserved_unshared`] after
    /// `create_padded` leaves it, but with every header word written once: the future's
    /// creation is one allocation and seven stores. `slot` gives the address to lend: that of
    /// the value inside `extra` (called once, with `extra` in place, before any handle exists).
    ///
    /// Returns the block as a [`PaddedBlock`], whose [`shared`](PaddedBlock::shared) is what
    /// `create_padded` returns: its handles keep it so that the reader's fast path
    /// ([`take_released_future`](Self::take_released_future)) frees it without reading the
    /// offset.
    pub fn create_padded_reserved(
        extra: X,
        slot: impl FnOnce(&X) -> *mut c_void,
    ) -> PaddedBlock<B, X> {
        // SAFETY: `init_reserved_at` writes every field but `inline` (which holds `extra`
        // when it fits, written before), each once.
        unsafe {
            Self::create_padded_with(extra, |header, bits, extra| {
                // SAFETY: `extra` was written at its place, which the block keeps alive; the
                // reference ends before the handles exist.
                let addr = slot(&*extra);
                RawStream::init_reserved_at(header, bits, addr);
            })
        }
    }

    /// The allocation of `create_padded`: `extra` is written at its place first, then
    /// `init` initialises the header (given its place, the offset bits for `state`, and the
    /// place of `extra`).
    ///
    /// # Safety
    ///
    /// `init` initialises every field of the header except `inline` (which it must not
    /// write when `extra` lives there, [`INLINE`](Self::INLINE)); it may read `extra`.
    #[inline(always)]
    unsafe fn create_padded_with(
        extra: X,
        init: impl FnOnce(*mut RawStream<B>, usize, *mut X),
    ) -> PaddedBlock<B, X> {
        const {
            assert!(PLAIN_ALIGN >= core::mem::size_of::<usize>());
            assert!(PLAIN_ALIGN.is_power_of_two());
            assert!(core::mem::align_of::<RawStream<B>>() > PLAIN_ALIGN);
        }
        const {
            // Every offset below the header's alignment fits the state bits.
            assert!(core::mem::align_of::<RawStream<B>>() / PLAIN_ALIGN <= PADDED_OFFSET_MASK + 1);
        }
        let layout = Self::padded_layout();
        // SAFETY: the layout's size is not zero: it holds a header.
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let offset = Self::padded_offset(base as usize);
        let bits = (offset / PLAIN_ALIGN) << PADDED_OFFSET_SHIFT;
        // The header ends at most `align - PLAIN_ALIGN + size_of::<RawStream<B>>()` bytes
        // into the block, and an `extra` outside it at most `offset_of!(Self, extra) +
        // size_of::<X>()` past the header (`padded_layout` adds the largest offset).
        // SAFETY: so the header and `extra` lie in the block, aligned (the header at an
        // alignment boundary; `extra` in the inline word, whose alignment is at least its
        // own, or at its offset in `Self`); `init` initialises the header around `extra`
        // (the caller's contract).
        unsafe {
            let this = base.add(offset).cast::<Self>();
            let extra_place = Self::extra_ptr(this);
            extra_place.write(extra);
            init(core::ptr::addr_of_mut!((*this).header), bits, extra_place);
            PaddedBlock {
                base: NonNull::new_unchecked(base),
                _shared: PhantomData,
            }
        }
    }

    /// Where the header sits in a block that starts at address `base`: the distance to the
    /// next boundary of the header's alignment. The block is `PLAIN_ALIGN`-aligned, so the
    /// offset is a multiple of it, below the header's alignment (it fits the state bits:
    /// asserted in `create_padded_with`); an over-aligned block is aligned for `Self`
    /// already, so its offset is 0. Only the address is used: no pointer is made from it.
    #[inline(always)]
    fn padded_offset(base: usize) -> usize {
        let align = core::mem::align_of::<Self>();
        (align - (base & (align - 1))) & (align - 1)
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

    /// Whether `extra` is aligned above the header (64 bytes): its block then has the
    /// alignment of `Self`, and the header sits at its start.
    const OVER_ALIGNED: bool =
        core::mem::align_of::<Self>() > core::mem::align_of::<RawStream<B>>();

    /// The block of [`create_padded`](Self::create_padded).
    fn padded_layout() -> std::alloc::Layout {
        let (block_align, largest_offset) = if Self::OVER_ALIGNED {
            (core::mem::align_of::<Self>(), 0)
        } else {
            (PLAIN_ALIGN, core::mem::align_of::<Self>() - PLAIN_ALIGN)
        };
        let end = if Self::INLINE {
            core::mem::size_of::<RawStream<B>>()
        } else {
            core::mem::offset_of!(Self, extra) + core::mem::size_of::<X>()
        };
        std::alloc::Layout::from_size_align(largest_offset + end, block_align)
            .expect("future too large")
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

    /// Releases one reader handle of a [`create_padded`](Self::create_padded) allocation: see
    /// [`RawStream::release_reader`].
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_reader`]; `this` came from `create_padded`.
    pub unsafe fn release_reader_padded(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the padded block.
        unsafe {
            if release(this, ACTIVE_READER_ONE, true) {
                free_padded(this);
            }
        }
    }

    /// Releases one reader handle of a [`create_padded`](Self::create_padded) allocation
    /// without ending its pending read, which a writer holds at this moment (phase WRITING):
    /// the last reader handle only closes the reader end, and the read stays pending. So a
    /// reader's drop never waits for a writer that holds the slot. A value committed into the
    /// slot afterwards is dropped by whichever handle is released last, here (`drop_value`)
    /// or in [`release_writer_padded_dropping_abandoned`](Self::release_writer_padded_dropping_abandoned).
    ///
    /// # Safety
    ///
    /// As for [`release_reader_padded`](Self::release_reader_padded), except that the caller
    /// gives up its pending read instead of owning it, and never touches the slot again
    /// except through `drop_value`, which drops the slot's value (run at most once, only
    /// when the slot holds a value nobody took).
    pub unsafe fn release_reader_padded_leaving_read(
        this: NonNull<Self>,
        drop_value: impl FnOnce(),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { release_dropping_abandoned(this, ACTIVE_READER_ONE, false, drop_value) }
    }

    /// [`release_writer_padded`](Self::release_writer_padded), and if this is the last handle
    /// and the reader left a read pending into which a value was committed (see
    /// [`release_reader_padded_leaving_read`](Self::release_reader_padded_leaving_read)),
    /// drops that value with `drop_value` before the free.
    ///
    /// # Safety
    ///
    /// As for `release_writer_padded`; `drop_value` drops the slot's value (run at most once,
    /// only when the slot holds a value nobody took).
    pub unsafe fn release_writer_padded_dropping_abandoned(
        this: NonNull<Self>,
        drop_value: impl FnOnce(),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { release_dropping_abandoned(this, ACTIVE_WRITER_ONE, false, drop_value) }
    }

    /// Releases one writer handle of a [`create_padded`](Self::create_padded) allocation: see
    /// [`RawStream::release_writer`], except that the last writer handle only closes the
    /// writer end: the releasing handle holds no buffer and no wait (a future's writer ends
    /// its write before it releases), so a buffer taken meanwhile by someone acting for the
    /// writer end through the stream functions is theirs to finish, not returned under them.
    ///
    /// # Safety
    ///
    /// As for [`RawStream::release_writer`]; `this` came from `create_padded`; the caller has
    /// no write in progress.
    pub unsafe fn release_writer_padded(this: NonNull<Self>) {
        // SAFETY: forwarded from the caller; the last handle frees the padded block.
        unsafe {
            if release(this, ACTIVE_WRITER_ONE, false) {
                free_padded(this);
            }
        }
    }

    /// The reader's fast path of a future: if the writer delivered and released its handle in
    /// that step ([`RawStream::future_writer_released`] would return `Some(true)`), lets `take`
    /// move the value out of `extra`, frees the block, and returns what `take` returned;
    /// otherwise changes nothing and returns `None`. One load of the state word; the free
    /// does not depend on its value (the block's start is `block`'s), so it need not wait
    /// for that load, which, right after the writer's CAS on this thread, waits for the CAS.
    ///
    /// # Safety
    ///
    /// `block` came from [`create_padded_reserved`](Self::create_padded_reserved); the
    /// caller is its reader handle, the only one, owns the pending read, and does not use
    /// `block` after a `Some` (it is freed). `take` leaves `extra` fit to be dropped (it moves
    /// the value out of a `MaybeUninit`).
    #[inline]
    pub unsafe fn take_released_future<R>(
        block: PaddedBlock<B, X>,
        take: impl FnOnce(&X) -> R,
    ) -> Option<R> {
        let this = block.shared();
        // SAFETY: the caller's reader handle keeps the block alive.
        let header = unsafe { Self::header_of(this) };
        if !super::is_released_untaken(header.load()) {
            return None;
        }
        // Acquire (`load`) paired with the writer's Release delivery: its uses of the header
        // and the slot happen before ours, and it uses neither any more: we are alone.
        // SAFETY: `extra` is alive (our handle) and initialised; nobody else uses it.
        let r = take(unsafe { Self::extra_of(this) });
        // SAFETY: the writer's handle is gone (released in its delivery, before our Acquire
        // load), ours is the last, not used after this; `block` is this header's block.
        unsafe { free_block(this, block.base) };
        Some(r)
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

    /// [`free_padded`](Self::free_padded) for a block kept as a [`PaddedBlock`]: the same,
    /// without reading the offset from the header.
    ///
    /// # Safety
    ///
    /// As for `free_padded`, `block` being the block of `this`.
    #[inline]
    pub unsafe fn free_padded_block(block: PaddedBlock<B, X>) {
        // SAFETY: forwarded from the caller; `block.base` is the start of the block of its
        // `shared()`.
        unsafe { free_block(block.shared(), block.base) }
    }
}

/// Releases one handle (`one`); the last handle drops a value left in a read that its reader
/// gave up ([`RawStream::take_abandoned_value`], `drop_value`), then frees the allocation,
/// also if that drop panics.
///
/// # Safety
///
/// As for `release`; `this` came from `create_padded`; `drop_value` drops the slot's value.
unsafe fn release_dropping_abandoned<B: Backend, X>(
    this: NonNull<Shared<B, X>>,
    one: usize,
    end_pending: bool,
    drop_value: impl FnOnce(),
) {
    /// Frees the block when dropped: after the value's drop, even if it panics.
    struct Free<B: Backend, X>(NonNull<Shared<B, X>>);
    impl<B: Backend, X> Drop for Free<B, X> {
        fn drop(&mut self) {
            // SAFETY: the last handle was released (`release` returned true) and the
            // allocation came from `create_padded`.
            unsafe { free_padded(self.0) };
        }
    }
    // SAFETY: forwarded from the caller.
    if unsafe { release(this, one, end_pending) } {
        let _free = Free(this);
        // SAFETY: the last handle is gone: nobody else uses the header; it lives until
        // `_free` drops.
        if unsafe { Shared::header_of(this).take_abandoned_value() } {
            drop_value();
        }
    }
}

/// Frees an allocation from [`Shared::create_padded`].
///
/// # Safety
///
/// No handle is left (or the caller owns every one: see [`Shared::free_padded`]); `this` came
/// from `Shared::create_padded`.
#[inline]
unsafe fn free_padded<B: Backend, X>(this: NonNull<Shared<B, X>>) {
    // SAFETY: by the caller the header is alive and ours alone.
    let state = unsafe { &(*this.as_ptr()).header.state };
    // ORDERING: Relaxed: the caller's handles (or its Acquire of the writer's release) already
    // order every other use of the header before this; the offset bits never change.
    let offset =
        (state.load(Ordering::Relaxed) >> PADDED_OFFSET_SHIFT & PADDED_OFFSET_MASK) * PLAIN_ALIGN;
    // SAFETY: `this` is `offset` bytes into the block, so the start is in bounds, with the
    // block's provenance.
    let base = unsafe { NonNull::new_unchecked(this.as_ptr().cast::<u8>().sub(offset)) };
    // SAFETY: forwarded from the caller; `base` is the start of the block of `this`.
    unsafe { free_block(this, base) }
}

/// Drops header and `extra` of the padded block that starts at `base` and frees it.
///
/// # Safety
///
/// As for [`free_padded`]; `base` is the start of the block of `this`.
#[inline]
unsafe fn free_block<B: Backend, X>(this: NonNull<Shared<B, X>>, base: NonNull<u8>) {
    let layout = Shared::<B, X>::padded_layout();
    let this = this.as_ptr();
    #[cfg(stream_loom)]
    // SAFETY: by the caller, nothing else refers to the allocation any more.
    check_unshared(unsafe { &mut (*this).header });
    // SAFETY: by the caller, header and `extra` are ours alone and initialised (by
    // `create_padded`), and dropped once, here, field by field (the block holds no whole
    // `Shared`); then the block goes back with the layout it was allocated with.
    unsafe {
        core::ptr::drop_in_place(Shared::extra_ptr(this));
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*this).header));
        dealloc(base.as_ptr(), layout);
    }
}

/// A block from [`Shared::create_padded_reserved`] as a future's handles keep it: the start of
/// the block. The header's place follows from its address alone
/// ([`shared`](Self::shared), arithmetic, no load), and the reader's fast path frees the block
/// with it ([`Shared::take_released_future`]) without reading the offset from the header.
/// A copy of a pointer: it owns nothing, the handles that hold it do.
pub struct PaddedBlock<B: Backend, X> {
    base: NonNull<u8>,
    _shared: PhantomData<NonNull<Shared<B, X>>>,
}

impl<B: Backend, X> PaddedBlock<B, X> {
    /// The block's `Shared` (what [`Shared::create_padded`] returns): for
    /// [`Shared::header_of`], [`Shared::extra_of`] and the other functions of a padded block.
    #[inline(always)]
    pub fn shared(self) -> NonNull<Shared<B, X>> {
        let offset = Shared::<B, X>::padded_offset(self.base.as_ptr() as usize);
        // SAFETY: `create_padded_with` placed the header `offset` bytes into the block (the
        // same computation on the same address), so this is in bounds, with the block's
        // provenance, and not null.
        unsafe { NonNull::new_unchecked(self.base.as_ptr().add(offset).cast()) }
    }
}

impl<B: Backend, X> Clone for PaddedBlock<B, X> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: Backend, X> Copy for PaddedBlock<B, X> {}

impl<B: Backend, X> fmt::Debug for PaddedBlock<B, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PaddedBlock").field(&self.base).finish()
    }
}
