//! Handle counting of [`RawStream`]: `active_instances` counts reader handles in its low half
//! and writer handles in its high half. The last handle of an end closes the end and ends an
//! operation its owner left pending; the last handle of all frees the allocation.

use core::ptr::NonNull;

use stream_abi::{ACTIVE_MAX_PER_END, ACTIVE_READER_MASK, ACTIVE_READER_ONE, ACTIVE_WRITER_ONE};
use stream_events::Backend;

use super::{RawStream, Shared, TooManyHandles};
use crate::state::{
    phase, READER_BUSY, READER_CLOSED, READ_ORPHANED, WRITER_BUSY, WRITER_CLOSED, WRITING,
};
use crate::sync::{ord, Ordering};

impl<B: Backend> RawStream<B> {
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
    /// ends a read left pending by its owner, which may wait for a writer that holds the
    /// buffer; a read handed over by a dropped Rust reader, `READ_ORPHANED`, is left to the
    /// writer); the last handle of all frees the header.
    ///
    /// # Safety
    ///
    /// The caller gives up a reader handle of `this` (and does not use `this` afterwards).
    /// If it is the last reader handle and a read is pending (and not handed over), the
    /// caller owns that read.
    pub unsafe fn release_reader(this: NonNull<Self>) {
        let shared = this.cast::<Shared<B, ()>>();
        // SAFETY: forwarded from the caller; a header from `create_stream` is a
        // `Shared<B, ()>` (same address, same layout), freed as it was created once the last
        // handle is gone.
        unsafe {
            if release(shared, ACTIVE_READER_ONE, true) {
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
            if release(shared, ACTIVE_WRITER_ONE, true) {
                free(shared);
            }
        }
    }

    /// Closes one end on behalf of its last handle and, with `end_pending`, ends an
    /// operation its owner left. (Without: the releasing handle is known to hold none, so an
    /// operation in progress belongs to someone acting for the end, and is left to finish.)
    ///
    /// # Safety
    ///
    /// With `end_pending`, the caller owns the end's pending operation, if any.
    pub(crate) unsafe fn close_end(&self, reader: bool, end_pending: bool) {
        let s = self.load();
        if reader {
            if s & READER_CLOSED == 0 {
                self.close_read();
            }
            // An orphaned read (`READ_ORPHANED`) is nobody's to end here: its reader handed it
            // to the writer, whose commit or return ends it (and it may have ended already:
            // then READER_BUSY is clear too, since no other reader handle is left to read).
            if end_pending && s & READER_BUSY != 0 && s & READ_ORPHANED == 0 {
                // SAFETY: the caller owns the read: end it so the writer cannot write into a
                // buffer that is about to be freed by its owner.
                unsafe { self.end_read() };
            }
        } else {
            if !end_pending {
                // Nothing of ours to end.
            } else if phase(s) == WRITING {
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
pub(super) unsafe fn release<B: Backend, X>(
    this: NonNull<Shared<B, X>>,
    one: usize,
    end_pending: bool,
) -> bool {
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
            unsafe { header.close_end(one == ACTIVE_READER_ONE, end_pending) };
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
pub(super) unsafe fn free<B: Backend, X>(this: NonNull<Shared<B, X>>) {
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
pub(super) fn check_unshared<B: Backend>(header: &mut RawStream<B>) {
    header.read_addr.with_mut(|_| ());
    header.read_size.with_mut(|_| ());
    header.ready_size.with_mut(|_| ());
    header.open_read.with_mut(|_| ());
    header.state.with_mut(|_| ());
    header.active_instances.with_mut(|_| ());
}
