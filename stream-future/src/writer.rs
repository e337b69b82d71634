//! The writing end's operations: [`FutureWriter::write`] (the reserved path and, once raw
//! writes are allowed, the claiming one), [`FutureWriter::allow_raw_writes`], and its drop.

use core::mem::ManuallyDrop;
use core::ptr::NonNull;

use stream_core::{RawStream, Shared};
use stream_events::Backend;

use crate::{FutureWriter, Slot, WriteError};

impl<T, B: Backend> FutureWriter<T, B> {
    pub(crate) fn header(&self) -> &RawStream<B> {
        // SAFETY: our handle keeps the allocation (from `create_padded`) alive.
        unsafe { Shared::header_of(self.block.shared()) }
    }

    fn slot(&self) -> &Slot<T> {
        // SAFETY: our handle keeps the allocation (from `create_padded`) alive.
        unsafe { Shared::extra_of(self.block.shared()) }
    }

    /// Writes the value and closes the future. Never blocks.
    ///
    /// # Errors
    ///
    /// [`WriteError`] with the value when the reader is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = stream_future::future::<Vec<u8>>();
    /// drop(reader);
    /// let back = writer.write(vec![1, 2]).unwrap_err().into_inner();
    /// assert_eq!(back, [1, 2]);
    /// ```
    #[inline]
    pub fn write(self, value: T) -> Result<(), WriteError<T>> {
        // The handle is released below, by the delivery itself or explicitly: no `Drop`.
        let this = ManuallyDrop::new(self);
        let ptr = this.block.shared();
        let header = this.header();
        if let Some(reservation) = header.future_reservation() {
            // The writer end is ours alone since creation: the slot is ours to write.
            // SAFETY: the reservation gives us the slot until the delivery below; the reader
            // reads it only after seeing DONE.
            this.slot().with_mut(|p| unsafe { (*p).write(value) });
            // SAFETY: we hold the reservation (seen in `reservation`) and wrote one element;
            // the allocation came from `create_padded`.
            return match unsafe { Shared::deliver_reserved_future(ptr, reservation) } {
                // Delivered and released: nothing of the allocation is touched again.
                Ok(true) => Ok(()),
                Ok(false) => {
                    // SAFETY: our handle, released once (`Drop` does not run).
                    unsafe { release_writer(ptr) };
                    Ok(())
                }
                Err(_) => {
                    // An end closed: nothing was delivered, the value is still ours.
                    // SAFETY: written above and never read by the reader (no DONE).
                    let value = this.slot().with(|p| unsafe { (*p).assume_init_read() });
                    // SAFETY: we hold the reservation and took the value back; then our
                    // handle, released once.
                    unsafe {
                        header.release_future_reservation();
                        release_writer(ptr);
                    }
                    Err(WriteError(value))
                }
            };
        }
        Self::write_claiming(this, value)
    }

    /// `write` once the reservation was given up ([`allow_raw_writes`](Self::allow_raw_writes)):
    /// takes the slot before writing it. Out of line: not the usual path.
    #[cold]
    #[inline(never)]
    fn write_claiming(this: ManuallyDrop<Self>, value: T) -> Result<(), WriteError<T>> {
        let ptr = this.block.shared();
        let header = this.header();
        let slot = this.slot().with_mut(|p| p.cast::<core::ffi::c_void>());
        // Claim the slot first (LENT -> WRITING), then write it: if the value was delivered
        // already (through the stream functions on the header), an end is closed, or another
        // writer holds the slot, the claim fails and the slot is left as it is.
        // SAFETY: we act for our writer handle and end the write below (delivered, or the
        // slot returned) before releasing the handle.
        match unsafe { header.start_writing() } {
            Ok((addr, 1)) if addr == slot => {}
            Ok(_) => {
                // A buffer that is not our slot: lent through the stream functions by someone
                // acting for the reader end. Not ours to fill: hand it back untouched.
                // SAFETY: we hold it, and write nothing into it.
                unsafe { header.finish_writing(0) };
                // SAFETY: our handle, released once (`Drop` does not run); no write is in
                // progress any more.
                unsafe { release_writer(ptr) };
                return Err(WriteError(value));
            }
            Err(_) => {
                // SAFETY: as above.
                unsafe { release_writer(ptr) };
                return Err(WriteError(value));
            }
        }
        // SAFETY: phase WRITING is ours: the slot is this writer's until the delivery below;
        // the reader reads it only after seeing DONE.
        this.slot().with_mut(|p| unsafe { (*p).write(value) });
        // SAFETY: we hold the slot (our `start_writing`), one element written into it, ours is
        // the future's only writer handle; the reader frees the allocation with `free_padded`
        // when the delivery releases our handle.
        match unsafe { Shared::deliver_future(ptr, 1) } {
            // Delivered and released: the reader may already have freed the allocation, so
            // nothing of it is touched again.
            Ok(true) => Ok(()),
            Ok(false) => {
                // SAFETY: our handle, released once (`Drop` does not run); no write is in
                // progress.
                unsafe { release_writer(ptr) };
                Ok(())
            }
            Err(_) => {
                // The reader closed while we held the slot: nothing was delivered, and the
                // slot is still ours (WRITING): take the value back, then return the slot.
                // SAFETY: written above, never read by the reader.
                let value = this.slot().with(|p| unsafe { (*p).assume_init_read() });
                // SAFETY: we hold the slot; returning it ends the write (the slot's bytes are
                // now moved-from and never read: the reader's cancel reclaims it untouched).
                unsafe { header.finish_writing(0) };
                // SAFETY: our handle, released once; no write in progress any more.
                unsafe { release_writer(ptr) };
                Err(WriteError(value))
            }
        }
    }

    /// Lets code acting for this writer through the stream functions on the header (C code:
    /// `start_writing`, copy, `finish_writing(1)`, `close_write`) take the slot. Until this is
    /// called, the writer end is this handle's alone: such a `start_writing` gets `Busy` and
    /// changes nothing, and [`write`](Self::write) is the value and one compare-and-swap.
    /// Afterwards `write` takes the slot first, as a raw writer does, and gives its value
    /// back if the slot was taken or the value delivered already. Keep this handle alive (and
    /// do not drop it) until the raw writer's sequence has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, reader) = stream_future::future::<u64>();
    /// writer.allow_raw_writes();
    /// let raw = reader.raw();
    /// // SAFETY: acting for `writer`, which stays alive; the slot holds one `u64`.
    /// unsafe {
    ///     let (addr, capacity) = raw.start_writing().unwrap();
    ///     assert_eq!(capacity, 1);
    ///     addr.cast::<u64>().write(7);
    ///     assert!(raw.finish_writing(1));
    /// }
    /// assert_eq!(writer.write(8).unwrap_err().into_inner(), 8);
    /// assert_eq!(reader.read(), Ok(7));
    /// ```
    pub fn allow_raw_writes(&mut self) {
        // SAFETY: we are the future's writer handle and wrote nothing into the slot.
        unsafe { self.header().release_future_reservation() };
    }

    /// Whether the reader is gone (a write would fail).
    pub fn is_closed(&self) -> bool {
        self.header().is_read_closed()
    }
}

impl<T, B: Backend> Drop for FutureWriter<T, B> {
    /// Releases the writer; without a write, the reader sees the future closed.
    fn drop(&mut self) {
        // SAFETY: we are the future's writer handle and wrote nothing into the slot; then our
        // handle, released once; no write of ours is in progress.
        unsafe {
            self.header().release_future_reservation();
            release_writer(self.block.shared());
        }
    }
}

/// Releases a writer handle (out of line: not on the fast path of `write`).
///
/// # Safety
///
/// The caller gives up its writer handle of `shared`, which came from `future_with`
/// (`create_padded`), and has no write in progress.
#[inline(never)]
unsafe fn release_writer<T, B: Backend>(shared: NonNull<Shared<B, Slot<T>>>) {
    // A reader dropped while a raw writer held the slot left its read pending; if we are the
    // last handle, a value that writer committed is ours to drop.
    // SAFETY: forwarded from the caller; the closure runs only for the last handle, before
    // the free, on a value committed and never read.
    unsafe {
        Shared::release_writer_padded_dropping_abandoned(shared, || {
            Shared::extra_of(shared).with_mut(|p| (*p).assume_init_drop())
        })
    };
}
