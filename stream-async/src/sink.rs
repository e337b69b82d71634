//! The `futures_sink::Sink` adapters of an [`AsyncWriter`]: [`ElementSink`] commits each
//! element as it is handed over, [`BufSink`] batches elements into the reader's buffer until
//! a flush. Both keep the buffer the reader lent between polls (stream-core's `BatchWriter`).
//! The writer itself is not a `Sink`, so that on a byte writer `flush` and `close` are
//! `AsyncWriteExt`'s, without ambiguity.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_sink::Sink;
use stream_core::WriteError;
use stream_events::{AsyncBackend, DefaultBackend};

use crate::AsyncWriter;

impl<T, B: AsyncBackend> AsyncWriter<T, B> {
    /// A [`Sink`] that delivers each element as it is handed over (committed in
    /// `start_send`), as a channel's sender does: `SinkExt::feed` of a request, then awaiting
    /// the reply, works. Each element is one hand-off to the reader; for batches of elements
    /// in one hand-off, see [`into_buf_sink`](Self::into_buf_sink).
    /// [`ElementSink::into_inner`] gives the writer back.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::{SinkExt, StreamExt};
    ///
    /// let (writer, reader) = stream_async::stream::<u32>(64);
    /// let t = std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///     let mut sink = writer.into_sink();
    ///     sink.send_all(&mut futures::stream::iter(1..=3).map(Ok)).await.unwrap();
    ///     sink.feed(4).await.unwrap(); // delivered already: no flush needed
    /// })); // the drop closes the writer end
    /// let all: Vec<u32> = futures_lite::future::block_on(reader.into_elements().collect());
    /// assert_eq!(all, [1, 2, 3, 4]);
    /// t.join().unwrap();
    /// ```
    pub fn into_sink(self) -> ElementSink<T, B> {
        ElementSink { writer: self }
    }

    /// A [`Sink`] that batches: elements go into the buffer the reader lent, and the reader
    /// sees them when that buffer is full or at `poll_flush` (`SinkExt::flush`, `send`,
    /// `send_all`, `close`), as bytes written to a `BufWriter` wait for its flush. Several
    /// elements are one hand-off. **Flush before awaiting anything the reader's side
    /// answers** (a reply, a barrier): fed elements are not delivered until then, and the
    /// wait would never end. [`BufSink::into_inner`] gives the writer back.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::{SinkExt, StreamExt};
    ///
    /// let (writer, reader) = stream_async::stream::<u32>(64);
    /// let t = std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///     let mut sink = writer.into_buf_sink();
    ///     for i in 1..=3 {
    ///         sink.feed(i).await.unwrap(); // into the reader's buffer, not committed yet
    ///     }
    ///     sink.flush().await.unwrap(); // the reader gets 1, 2, 3 in one batch
    ///     sink.send(4).await.unwrap(); // fed and flushed
    /// })); // the drop closes the writer end
    /// let all: Vec<u32> = futures_lite::future::block_on(reader.into_elements().collect());
    /// assert_eq!(all, [1, 2, 3, 4]);
    /// t.join().unwrap();
    /// ```
    pub fn into_buf_sink(self) -> BufSink<T, B> {
        BufSink { writer: self }
    }

    /// `Sink::poll_ready` of both sinks: a held buffer with room, or a new one.
    fn poll_ready_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        self.writer
            .poll_hold(&mut self.registration, cx)
            .map_ok(|_room| ())
    }

    /// `Sink::start_send` of both sinks: the element goes into the held buffer.
    fn start_send_sink(&mut self, item: T) -> Result<(), WriteError> {
        match self.writer.push(item) {
            Ok(()) => Ok(()),
            Err(item) => {
                // Not accepted: the element is the caller's, and dropped here, once.
                drop(item);
                if self.writer.writer().is_closed() {
                    Err(WriteError::Closed(()))
                } else {
                    Err(WriteError::Busy(()))
                }
            }
        }
    }

    /// `poll_close` of both sinks: flush, then close the writer end.
    fn close_sink(&mut self) -> Result<(), WriteError> {
        let flushed = self.flush_sink();
        self.writer.writer().close();
        flushed
    }

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

/// The [`Sink`] of [`AsyncWriter::into_sink`]: each element is delivered in its
/// `start_send`.
///
/// * `poll_ready`: waits for the reader to lend a buffer (registering the waker, holding
///   nothing while `Pending`). [`WriteError::Closed`] once either end is closed.
/// * `start_send`: puts the element into the buffer and commits it: the reader sees it when
///   `start_send` returns (`SinkExt::feed` resolves after it). [`WriteError::Closed`] if the
///   reader was dropped meanwhile: the element is then kept for
///   [`take_undelivered`](Self::take_undelivered). Without a successful `poll_ready` before
///   it, the element is dropped and the error is [`WriteError::Closed`] when an end is
///   closed, [`WriteError::Busy`] otherwise.
/// * `poll_flush`: nothing to do, `Ready(Ok)`.
/// * `poll_close`: closes the writer end.
///
/// The cost of delivering each element on its own is one commit (and one wake-up of a
/// waiting reader) per element, as [`AsyncWriter::send`]; `docs/design.md` of the repository
/// has the numbers. [`BufSink`] batches instead.
pub struct ElementSink<T, B: AsyncBackend = DefaultBackend> {
    writer: AsyncWriter<T, B>,
}

/// The [`Sink`] of [`AsyncWriter::into_buf_sink`]: elements are batched into the reader's
/// buffer and delivered when it is full or at a flush.
///
/// * `poll_ready`: `Ready(Ok)` at once while a held buffer has room; otherwise waits for the
///   reader to lend one (registering the waker, holding nothing while `Pending`).
///   [`WriteError::Closed`] once either end is closed: held elements are committed first
///   (a reader that closed but is alive may still read them; if it was dropped they are
///   kept for [`take_undelivered`](Self::take_undelivered)).
/// * `start_send`: puts the element into the next slot of the held buffer, and commits the
///   buffer if that filled it. Without a successful `poll_ready` before it, the element is
///   dropped and the error is [`WriteError::Closed`] when an end is closed,
///   [`WriteError::Busy`] otherwise.
/// * `poll_flush`: commits the held elements and is `Ready` at once: a commit never waits.
///   [`WriteError::Closed`] only when none of them was delivered: the reader was dropped
///   while the writer held its buffer, and they are given back by
///   [`take_undelivered`](Self::take_undelivered). A reader end that was closed but not
///   dropped still reads what its pending read received: `Ok`.
/// * `poll_close`: flushes, then closes the writer end; the result is the flush's.
///
/// Held elements are never lost: [`into_inner`](Self::into_inner) and the drop commit them.
/// While they are held the reader sees nothing of them, and a reader that cancels its read
/// ([`AsyncReader::cancel`](crate::AsyncReader::cancel)) waits for the commit.
pub struct BufSink<T, B: AsyncBackend = DefaultBackend> {
    writer: AsyncWriter<T, B>,
}

macro_rules! sink_accessors {
    ($sink:ident) => {
        impl<T, B: AsyncBackend> $sink<T, B> {
            /// Gives the writer back, after committing the elements held.
            pub fn into_inner(mut self) -> AsyncWriter<T, B> {
                self.writer.writer.commit();
                self.writer
            }

            /// The writer, for [`closed`](AsyncWriter::closed) and the predicates.
            pub fn get_ref(&self) -> &AsyncWriter<T, B> {
                &self.writer
            }

            /// The writer, after committing the elements held: its other writes come after
            /// them.
            pub fn get_mut(&mut self) -> &mut AsyncWriter<T, B> {
                self.writer.writer.commit();
                &mut self.writer
            }

            /// Takes the elements handed over that were never delivered, oldest first: a
            /// commit found the reader dropped while the writer held its buffer (see
            /// [`AsyncWriter::take_undelivered`]).
            pub fn take_undelivered(&mut self) -> Vec<T> {
                self.writer.take_undelivered()
            }
        }

        impl<T, B: AsyncBackend> fmt::Debug for $sink<T, B> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($sink))
                    .field("writer", &self.writer)
                    .finish()
            }
        }
    };
}

sink_accessors!(ElementSink);
sink_accessors!(BufSink);

impl<T, B: AsyncBackend> Sink<T> for ElementSink<T, B> {
    type Error = WriteError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        self.get_mut().writer.poll_ready_sink(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), WriteError> {
        let writer = &mut self.get_mut().writer;
        let lost = writer.writer.undelivered().len();
        writer.start_send_sink(item)?;
        // Delivered now (a full buffer was committed by the push already).
        writer.writer.commit();
        if writer.writer.undelivered().len() > lost {
            Err(WriteError::Closed(()))
        } else {
            Ok(())
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        Poll::Ready(self.get_mut().writer.flush_sink())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        Poll::Ready(self.get_mut().writer.close_sink())
    }
}

impl<T, B: AsyncBackend> Sink<T> for BufSink<T, B> {
    type Error = WriteError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        self.get_mut().writer.poll_ready_sink(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), WriteError> {
        self.get_mut().writer.start_send_sink(item)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        Poll::Ready(self.get_mut().writer.flush_sink())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WriteError>> {
        Poll::Ready(self.get_mut().writer.close_sink())
    }
}
