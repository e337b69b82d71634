//! The reader's own ring: a [`Reader`] that reads through `std::io` or an iterator keeps a
//! ring lent open (`open_ring.rs`), so that the writer's small writes land in it without a
//! rendezvous each; its other reads then take from the ring too.
//!
//! The ring is kept while the reader is the only handle of its end: a reader end with clones
//! lends and ends one read at a time, so that the clones take turns. When a clone appears,
//! the ring's lend ends once the ring is empty.

use core::mem::MaybeUninit;

use stream_events::Backend;

use crate::error::{Kind, ReadError};
use crate::open_ring::OpenRing;
use crate::raw::{RawStream, Wait};
use crate::reader::Reader;

/// Bytes of the ring a reader lends for itself (rounded to whole elements, at least 64).
const RING_BYTES: usize = 64 * 1024;

impl<T, B: Backend> Reader<T, B> {
    /// Whether reads take from the ring: it holds elements, or (with `open`, for the reads
    /// that start one) this is the only reader handle. With clones, an empty ring's lend is
    /// ended, waiting while the writer holds it.
    pub(crate) fn use_ring(&mut self, open: bool) -> bool {
        // Held elements are read first, whoever else reads: answered without the handle count,
        // which lives on the header's line. A load of it for every element took that line from
        // a writer that changes it twice a `send` (docs/bench.md, 2026-12-07).
        if self.ring.as_ref().is_some_and(|ring| ring.len() > 0) {
            return true;
        }
        // SAFETY: our handle keeps the header alive; the reference does not outlive `self`.
        let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
        let unique = self.is_unique();
        let ring = match (&mut self.ring, unique && open) {
            (Some(ring), _) => ring,
            (None, true) => self.ring.insert(Box::new(OpenRing::new(
                (RING_BYTES / core::mem::size_of::<T>().max(1)).max(64),
            ))),
            (None, false) => return false,
        };
        if unique {
            return true;
        }
        ring.end(raw);
        ring.len() > 0
    }

    /// Waits as `wait` says until the ring holds an element; the error is what the read
    /// reports (end of stream once the ring is empty and an end closed).
    pub(crate) fn ring_fill(&mut self, wait: Wait) -> Result<&mut OpenRing<T>, Kind> {
        // SAFETY: our handle keeps the header alive; the reference does not outlive `self`.
        let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
        let ring = self.ring.as_mut().expect("ring_fill without a ring");
        loop {
            if ring.len() > 0 {
                return Ok(ring);
            }
            if !ring.is_lent() {
                ring.lend(raw).map_err(|e| match e {
                    ReadError::Busy => Kind::Busy,
                    _ => Kind::Closed,
                })?;
            }
            if wait == Wait::Block && ring.lingering() {
                // A streaming writer: pause before the look (`OpenRing::wait` looks after its
                // pause and waits if it found nothing), rather than look at once and take the
                // header's line from the writer in the middle of its batch.
                ring.wait(raw, Wait::Block);
                continue;
            }
            if ring.refresh(raw) > 0 {
                return Ok(ring);
            }
            if raw.is_write_closed() || raw.is_read_closed() {
                // What was published before the close is visible now: look once more.
                if ring.refresh(raw) > 0 {
                    return Ok(ring);
                }
                // A writer that held the ring may publish before it gives it back: what the
                // end finds is read first.
                ring.end(raw);
                if ring.len() > 0 {
                    return Ok(ring);
                }
                return Err(Kind::Closed);
            }
            match wait {
                Wait::Try => return Err(Kind::Empty),
                Wait::Block => {
                    ring.wait(raw, Wait::Block);
                }
                Wait::Until(_) => {
                    if !ring.wait(raw, wait) && ring.refresh(raw) == 0 {
                        return Err(Kind::Timeout);
                    }
                }
            }
        }
    }

    /// [`read_uninit`](Reader::read_uninit) from the ring: moves up to `buf.len()` elements
    /// out of it.
    pub(crate) fn ring_read(
        &mut self,
        buf: &mut [MaybeUninit<T>],
        wait: Wait,
    ) -> Result<usize, Kind> {
        // SAFETY: as in `use_ring`.
        let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
        let ring = self.ring_fill(wait)?;
        Ok(ring.move_into(raw, buf))
    }

    /// Moves one element out of the ring, waiting as `wait` says.
    pub(crate) fn ring_recv(&mut self, wait: Wait) -> Result<T, Kind> {
        // SAFETY: as in `use_ring`.
        let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
        let ring = self.ring_fill(wait)?;
        Ok(ring.pop(raw).expect("a filled ring holds an element"))
    }

    /// Ends the ring's lend (waiting while the writer holds it), moves the elements it holds
    /// to the end of `out` and frees it: the reader reads without a ring from then on.
    pub(crate) fn drain_ring(&mut self, out: &mut Vec<T>) {
        if let Some(mut ring) = self.ring.take() {
            // SAFETY: as in `use_ring`.
            let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
            ring.end(raw);
            ring.append_to(raw, out, usize::MAX);
            // SAFETY: called once; the ring is gone afterwards (empty and not lent).
            unsafe { ring.release(raw) };
        }
    }

    /// Ends the ring's lend and frees it with the elements it holds (the reader's drop).
    pub(crate) fn release_ring(&mut self) {
        if let Some(mut ring) = self.ring.take() {
            // SAFETY: as in `use_ring`.
            let raw: &RawStream<B> = unsafe { self.as_ptr().as_ref() };
            // SAFETY: called once, from the drop; the ring is gone afterwards.
            unsafe { ring.release(raw) };
        }
    }
}
