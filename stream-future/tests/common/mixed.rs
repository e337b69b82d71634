//! The header-level sequences that stream-ffi documents for a Rust future (C code acting for
//! the future's writer end through the stream functions on its header), shared by the mixed
//! matrix on threads (`tests/mixed.rs`, also under Miri) and by its loom models
//! (`tests/loom.rs`).

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use stream_core::{RawStream, StartReadError, StartWriteError};
use stream_events::Backend;

/// A value that counts its drops; `.0` says who wrote it.
#[derive(Debug)]
pub struct Counted(pub u8, pub Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

/// Who wrote a value: the header-level ("C") sequence, or the safe Rust writer.
pub const BY_HEADER: u8 = 1;
pub const BY_RUST: u8 = 2;

/// A sequence of stream functions on the future's header, as C code would call them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOps {
    /// `start_writing`, write the value, `finish_writing(1)`, `close_write`.
    WriteClose,
    /// `start_writing`, write the value, `finish_writing(1)` (the end stays open).
    Write,
    /// `start_writing`, then `finish_writing(0)`: the slot goes back untouched.
    TakeReturn,
    /// `finish_writing(CLOSED)`: close the writer end without a value.
    CloseWrite,
    /// `close_read`: close the reader end.
    CloseRead,
    /// `start_reading` (a zero-size probe) and, if it lent, `cancel_read`: fails with `Busy`
    /// while the future's slot is lent. Acts for the reader end, so only after the Rust
    /// reader's operations, never beside them.
    ProbeRead,
}

/// The sequences that may run beside the Rust handles' operations.
pub const CONCURRENT_OPS: [HeaderOps; 5] = [
    HeaderOps::WriteClose,
    HeaderOps::Write,
    HeaderOps::TakeReturn,
    HeaderOps::CloseWrite,
    HeaderOps::CloseRead,
];

/// Runs `ops` on `raw` (a `FutureReader<Counted, _>::raw()`), writing `Counted(BY_HEADER)`
/// when the sequence writes. Returns whether a value was delivered. The value is dropped
/// here when the sequence could not take the slot.
///
/// The caller keeps the allocation alive until this returns (the future's reader handle).
pub fn run_header_ops<B: Backend>(
    raw: &RawStream<B>,
    ops: HeaderOps,
    drops: &Arc<AtomicUsize>,
) -> bool {
    match ops {
        HeaderOps::WriteClose | HeaderOps::Write => {
            let value = Counted(BY_HEADER, drops.clone());
            // SAFETY: we act for the future's writer end (whose handle the test keeps alive
            // or releases without a write of its own in progress) and end the write below.
            match unsafe { raw.start_writing() } {
                Ok((addr, capacity)) => {
                    assert_eq!(capacity, 1);
                    // SAFETY: the slot is ours (WRITING) and holds one `Counted`.
                    unsafe { addr.cast::<Counted>().write(value) };
                    // SAFETY: one element initialised.
                    assert!(unsafe { raw.finish_writing(1) });
                    if ops == HeaderOps::WriteClose {
                        // SAFETY: `CLOSED` needs no buffer.
                        assert!(unsafe { raw.finish_writing(stream_abi::CLOSED) });
                    }
                    true
                }
                Err(StartWriteError::Closed | StartWriteError::Busy | StartWriteError::Blocked) => {
                    drop(value);
                    false
                }
            }
        }
        HeaderOps::TakeReturn => {
            // SAFETY: as above; nothing is written, the buffer goes back at once.
            if unsafe { raw.start_writing() }.is_ok() {
                // SAFETY: we hold the buffer; 0 on a buffer with room returns it.
                assert!(unsafe { raw.finish_writing(0) });
            }
            false
        }
        HeaderOps::CloseWrite => {
            // SAFETY: `CLOSED` needs no buffer.
            assert!(unsafe { raw.finish_writing(stream_abi::CLOSED) });
            false
        }
        HeaderOps::CloseRead => {
            raw.close_read();
            false
        }
        HeaderOps::ProbeRead => {
            let probe = core::ptr::NonNull::<Counted>::dangling().as_ptr();
            // SAFETY: a zero-size lend of an aligned address; it is ended below before
            // returning.
            match unsafe { raw.start_reading(probe.cast(), 0) } {
                // SAFETY: ours, pending; a zero-size buffer takes no element.
                Ok(()) => assert_eq!(unsafe { raw.cancel_read() }, 0),
                Err(e) => assert!(matches!(e, StartReadError::Busy | StartReadError::Closed)),
            }
            false
        }
    }
}

/// A header pointer to hand to another thread (the test keeps the header alive meanwhile).
#[derive(Debug, Clone, Copy)]
pub struct HeaderPtr<B: Backend>(pub *const RawStream<B>);

// SAFETY: `RawStream` is `Sync`; the pointer is only dereferenced while a handle that the
// test keeps keeps the header alive.
unsafe impl<B: Backend> Send for HeaderPtr<B> {}

impl<B: Backend> HeaderPtr<B> {
    /// The header.
    ///
    /// # Safety
    ///
    /// The header is alive for `'a`.
    pub unsafe fn get<'a>(self) -> &'a RawStream<B> {
        // SAFETY: by the caller.
        unsafe { &*self.0 }
    }
}
