//! [`Closed`]: the future of `AsyncWriter::closed` and `AsyncReader::closed`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use stream_core::RawStream;
use stream_events::AsyncBackend;

/// Resolves once either end of the stream is closed (explicitly or by its last handle's
/// drop): from then on writes fail, and reads end once the delivered elements are taken.
/// Returned by [`AsyncWriter::closed`](crate::AsyncWriter::closed) and
/// [`AsyncReader::closed`](crate::AsyncReader::closed). Cancel-safe: dropping it changes
/// nothing.
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, B: AsyncBackend> {
    raw: &'a RawStream<B>,
    registration: B::Registration,
}

impl<'a, B: AsyncBackend> Closed<'a, B> {
    pub(crate) fn new(raw: &'a RawStream<B>) -> Self {
        Self {
            raw,
            registration: Default::default(),
        }
    }
}

impl<B: AsyncBackend> Unpin for Closed<'_, B> {}

impl<B: AsyncBackend> Future for Closed<'_, B> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let raw = this.raw;
        // The first close of either end activates both events; the read-ready one is the
        // one no handle of this crate keeps a registration on while idle.
        raw.read_ready_event().poll_until(
            &mut this.registration,
            || raw.is_read_closed() || raw.is_write_closed(),
            cx,
        )
    }
}

impl<B: AsyncBackend> fmt::Debug for Closed<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}
