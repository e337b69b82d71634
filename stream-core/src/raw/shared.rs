//! [`Shared`]: a stream header followed by extra data (a future's slot) in one allocation,
//! created with `Box` and freed by the last handle.

use core::fmt;
use core::ptr::NonNull;

use stream_abi::{ACTIVE_READER_ONE, ACTIVE_WRITER_ONE};
use stream_events::Backend;

use super::handles::{free, release};
use super::RawStream;

/// A stream header followed, in the same allocation, by `extra` (for example the slot of a
/// one-element future). [`RawStream::create_stream`] is `Shared<B, ()>`.
#[repr(C)]
pub struct Shared<B: Backend, X> {
    pub(super) header: RawStream<B>,
    pub(super) extra: X,
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
            if release(this, ACTIVE_READER_ONE, true) {
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
            if release(this, ACTIVE_WRITER_ONE, true) {
                free(this);
            }
        }
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
}

impl<B: Backend, X> fmt::Debug for Shared<B, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}
