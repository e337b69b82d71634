//! `futures_sink::Sink` for [`AsyncWriter`]: elements go one at a time into the buffer the
//! reader lent, which the writer keeps between polls (stream-core's `BatchWriter`).

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_sink::Sink;
use stream_core::WriteError;
use stream_events::AsyncBackend;

use crate::AsyncWriter;

/// Elements go straight into the buffer the reader lent, one per `start_send`; the writer
/// keeps that buffer between polls and commits it when it is full or at `poll_flush`. So
/// `SinkExt::feed` batches elements into the reader's buffer, and `SinkExt::send` (which
/// flushes) delivers each element on its own. The crate docs, "Sink", have the rules.
///
/// * `poll_ready`: `Ready(Ok)` at once while a held buffer has room; otherwise waits for the
///   reader to lend one (registering the waker, holding nothing while `Pending`).
///   [`WriteError::Closed`] once either end is closed: held elements are committed first
///   (a reader that closed but is alive may still read them; if it was dropped they are
///   kept for [`take_undelivered`](AsyncWriter::take_undelivered)).
/// * `start_send`: puts the element into the next slot of the held buffer, and commits the
///   buffer if that filled it. Without a successful `poll_ready` before it there is no
///   buffer to put it in: the element is dropped and the error is [`WriteError::Closed`]
///   when an end is closed, [`WriteError::Busy`] otherwise (the writer was not ready for an
///   element). `Sink` cannot give the element back from `start_send`, which is why
///   `poll_ready` reports a closed reader before an element is handed over.
/// * `poll_flush`: commits the held elements (a partly filled buffer with its count) and is
///   `Ready` at once: a commit never waits. [`WriteError::Closed`] only when none of them
///   was delivered: the reader was dropped while the writer held its buffer, so nobody will
///   read them, and they are given back by
///   [`take_undelivered`](AsyncWriter::take_undelivered). A reader end that was closed but
///   not dropped still reads what its pending read received: `Ok`.
/// * `poll_close`: flushes, then closes the writer end; the result is the flush's.
impl<T, B: AsyncBackend> Sink<T> for AsyncWriter<T, B> {
    type Error = WriteError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        let this = self.get_mut();
        this.writer
            .poll_hold(&mut this.registration, cx)
            .map_ok(|_room| ())
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), WriteError> {
        let this = self.get_mut();
        match this.writer.push(item) {
            Ok(()) => Ok(()),
            Err(item) => {
                // Not accepted: the element is the caller's, and dropped here, once.
                drop(item);
                if this.writer.writer().is_closed() {
                    Err(WriteError::Closed(()))
                } else {
                    Err(WriteError::Busy(()))
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        Poll::Ready(self.get_mut().flush_sink())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        let this = self.get_mut();
        let flushed = this.flush_sink();
        this.writer.writer().close();
        Poll::Ready(flushed)
    }
}

impl<T, B: AsyncBackend> AsyncWriter<T, B> {
    /// Commits the held elements: `Closed` only if there were some and none was delivered
    /// (the reader was dropped while we held its buffer; they wait in `take_undelivered`).
    pub(crate) fn flush_sink(&mut self) -> Result<(), WriteError> {
        let pushed = self.writer.pushed();
        // A commit delivers all its elements or none.
        if pushed > 0 && self.writer.commit() == 0 {
            Err(WriteError::Closed(()))
        } else {
            Ok(())
        }
    }
}
