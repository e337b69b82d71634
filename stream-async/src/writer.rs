//! The async writing end.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_lite::AsyncWrite;
use stream_core::{BatchWriter, Loan, LoanAsync, WriteError, Writer};
use stream_events::{AsyncBackend, DefaultBackend};

use crate::{Closed, NotUnique};

/// The writing end of a stream, for async code.
///
/// A write waits (without blocking the thread) for the reader to lend a buffer, then writes
/// into it and commits in the same poll: a write never holds a buffer between polls. For a
/// [`Sink`](futures_sink::Sink) of elements, see [`into_sink`](Self::into_sink) (one
/// hand-off per element) and [`into_buf_sink`](Self::into_buf_sink) (batches until a flush),
/// and the crate docs, "Sink".
///
/// The writer is not a `Sink` itself, and its own methods do not take the names of the
/// traits a byte writer implements: on an `AsyncWriter<u8>`, `write`, `write_all`, `flush`
/// and `close` are those of the `AsyncWriteExt` in scope (futures' or, with the `tokio`
/// feature, tokio's). The inherent [`close`](Self::close) agrees with them: it resolves to
/// `io::Result<()>`.
pub struct AsyncWriter<T, B: AsyncBackend = DefaultBackend> {
    pub(crate) writer: BatchWriter<T, B>,
    pub(crate) registration: B::Registration,
}

// Nothing in an `AsyncWriter` is pinned: elements are moved in by value.
impl<T, B: AsyncBackend> Unpin for AsyncWriter<T, B> {}

impl<T, B: AsyncBackend> AsyncWriter<T, B> {
    /// Wraps `writer`.
    ///
    /// # Errors
    ///
    /// [`NotUnique`], giving the writer back, when another handle of the writer end exists.
    pub fn new(writer: Writer<T, B>) -> Result<Self, NotUnique<Writer<T, B>>> {
        if !writer.is_unique() {
            return Err(NotUnique(writer));
        }
        Ok(Self {
            writer: BatchWriter::new(writer),
            registration: Default::default(),
        })
    }

    /// Takes the elements given to a sink of this writer ([`into_sink`](Self::into_sink),
    /// [`into_buf_sink`](Self::into_buf_sink)) that were never delivered, oldest first: a
    /// commit found the reader dropped while the writer held its buffer, so nobody will
    /// read them; the sink reported them as [`WriteError::Closed`]. Empty otherwise.
    pub fn take_undelivered(&mut self) -> Vec<T> {
        self.writer.take_undelivered()
    }

    /// Returns the blocking writer inside.
    pub fn into_inner(self) -> Writer<T, B> {
        self.writer.into_inner()
    }

    /// Polls for the next lent buffer (see [`Writer::poll_loan`]).
    ///
    /// # Errors
    ///
    /// [`WriteError::Closed`] when the reader end (or this end) is closed.
    pub fn poll_loan(&mut self, cx: &mut Context<'_>) -> Poll<Result<Loan<'_, T, B>, WriteError>> {
        self.writer
            .writer_mut()
            .poll_loan(&mut self.registration, cx)
    }

    /// Waits for the reader to lend a buffer and resolves to a [`Loan`] of it: fill it and
    /// commit, or drop it to give it back. Commit or drop it before the next `.await` (a
    /// reader that cancels its read waits for the loan to end).
    ///
    /// Cancel-safe: nothing is taken until it resolves.
    pub fn loan(&mut self) -> LoanAsync<'_, T, B> {
        self.writer.writer_mut().loan_async()
    }

    /// Moves as many elements from the front of `items` as the next lent buffer holds;
    /// resolves to how many (the rest stay in `items`, in order). An empty `items` resolves
    /// to `Ok(0)` at once.
    ///
    /// Cancel-safe: elements leave `items` only when it resolves.
    pub fn write_vec<'a>(&'a mut self, items: &'a mut Vec<T>) -> WriteFuture<'a, T, B> {
        self.writer.commit();
        WriteFuture {
            writer: self,
            items,
        }
    }

    /// Copies as many elements of `items` as the next lent buffer holds; resolves to how
    /// many. An empty `items` resolves to `Ok(0)` at once.
    ///
    /// Cancel-safe: nothing is written unless it resolves.
    pub fn write_slice<'a>(&'a mut self, items: &'a [T]) -> WriteSliceFuture<'a, T, B>
    where
        T: Copy,
    {
        self.writer.commit();
        WriteSliceFuture {
            writer: self,
            items,
        }
    }

    /// Sends one element. On error the element comes back in the [`WriteError`].
    ///
    /// Not cancel-safe: the future owns the element, and dropping it drops the element (which
    /// was never in the stream). Use [`write_vec`](Self::write_vec) with a `Vec` to keep elements
    /// across cancellation.
    pub fn send(&mut self, value: T) -> SendFuture<'_, T, B> {
        self.writer.commit();
        SendFuture {
            writer: self,
            value: Some(value),
        }
    }

    /// Closes the writer end at once: the reader reads what was committed, then end of
    /// stream. The same name as on every other handle (`Writer::close`, `Reader::close`,
    /// `AsyncReader::close`); dropping the writer closes the end too.
    ///
    /// The end is closed by the call itself. It returns a future that is already complete
    /// (`Ok(())`), so that the `AsyncWriteExt::close` idiom, `writer.close().await?`, works
    /// the same whether this method or `AsyncWriteExt::close` is found (the latter through
    /// `&mut`): both resolve to `io::Result<()>`, and both close (a byte writer holds nothing
    /// to flush). Ignoring the future is fine.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, mut reader) = stream_async::stream::<u8>(4);
    /// let _ = writer.close(); // closed now
    /// futures_lite::future::block_on(async {
    ///     writer.close().await.unwrap(); // closing twice is a no-op
    ///     assert!(reader.recv().await.is_err()); // end of stream
    /// });
    /// ```
    pub fn close(&self) -> CloseDone {
        self.writer.writer().close();
        CloseDone(())
    }

    /// The old name of [`close`](Self::close).
    #[deprecated(note = "use `close`, the name every handle uses")]
    pub fn close_write(&self) {
        self.writer.writer().close();
    }

    /// Resolves once either end is closed: writes fail from then on (for example, the reader
    /// was dropped). Cancel-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = stream_async::stream::<u8>(4);
    /// std::thread::spawn(move || drop(reader));
    /// futures_lite::future::block_on(writer.closed());
    /// assert!(writer.is_closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, B> {
        Closed::new(self.writer.writer().raw())
    }

    /// Whether writes fail because an end is closed.
    pub fn is_closed(&self) -> bool {
        self.writer.writer().is_closed()
    }
}

/// What [`AsyncWriter::close`] returns: the end is closed already; awaiting this gives
/// `Ok(())` at once (for the `writer.close().await?` idiom of `AsyncWriteExt::close`).
#[derive(Debug)]
pub struct CloseDone(());

impl Future for CloseDone {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl<T, B: AsyncBackend> fmt::Debug for AsyncWriter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncWriter")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

/// A count of elements a loan delivered from a non-empty source, or `Closed` for 0: the
/// reader was dropped while the loan was held, and nothing was delivered.
fn delivered(n: usize) -> Result<usize, WriteError> {
    match n {
        0 => Err(WriteError::Closed(())),
        n => Ok(n),
    }
}

/// The future of [`AsyncWriter::write_vec`].
#[must_use = "futures do nothing unless polled"]
pub struct WriteFuture<'a, T, B: AsyncBackend> {
    writer: &'a mut AsyncWriter<T, B>,
    items: &'a mut Vec<T>,
}

impl<T, B: AsyncBackend> Future for WriteFuture<'_, T, B> {
    type Output = Result<usize, WriteError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.items.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // 0 for non-empty items: the reader was dropped while we held its buffer; the
        // elements stayed in `items`.
        this.writer
            .poll_loan(cx)
            .map(|r| r.and_then(|loan| delivered(loan.move_from_vec(this.items))))
    }
}

impl<T, B: AsyncBackend> fmt::Debug for WriteFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFuture")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncWriter::write_slice`].
#[must_use = "futures do nothing unless polled"]
pub struct WriteSliceFuture<'a, T, B: AsyncBackend> {
    writer: &'a mut AsyncWriter<T, B>,
    items: &'a [T],
}

impl<T: Copy, B: AsyncBackend> Future for WriteSliceFuture<'_, T, B> {
    type Output = Result<usize, WriteError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.items.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.writer
            .poll_loan(cx)
            .map(|r| r.and_then(|loan| delivered(loan.copy_from_slice(this.items))))
    }
}

impl<T, B: AsyncBackend> fmt::Debug for WriteSliceFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteSliceFuture")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncWriter::send`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T, B: AsyncBackend> {
    writer: &'a mut AsyncWriter<T, B>,
    value: Option<T>,
}

// The value is never pinned: it is moved into the stream by value.
impl<T, B: AsyncBackend> Unpin for SendFuture<'_, T, B> {}

impl<T, B: AsyncBackend> Future for SendFuture<'_, T, B> {
    type Output = Result<(), WriteError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ready = this.writer.poll_loan(cx);
        let value = match &ready {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(_) => this
                .value
                .take()
                .expect("SendFuture polled after completion"),
        };
        Poll::Ready(match ready {
            // Given back if the reader was dropped while we held its buffer.
            Poll::Ready(Ok(loan)) => loan.commit_one(value).map_err(WriteError::Closed),
            Poll::Ready(Err(e)) => Err(e.map(|()| value)),
            Poll::Pending => unreachable!(),
        })
    }
}

impl<T, B: AsyncBackend> fmt::Debug for SendFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}

/// Bytes: a write waits for a lent buffer and copies as much as fits (so `poll_write`
/// returns only once the bytes are the reader's); `poll_flush` has nothing to do;
/// `poll_close` closes the writer end. A closed reader end is `BrokenPipe` for a write
/// (nothing written).
impl<B: AsyncBackend> AsyncWrite for AsyncWriter<u8, B> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.poll_loan(cx)
            .map(|r| r.and_then(|loan| delivered(loan.copy_from_slice(buf))))
            .map_err(io::Error::from)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // `BrokenPipe` only when the held bytes were not delivered (the reader was dropped
        // while we held its buffer); `take_undelivered` gives them back.
        Poll::Ready(self.get_mut().flush_sink().map_err(io::Error::from))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = this.flush_sink();
        this.writer.writer().close();
        Poll::Ready(flushed.map_err(io::Error::from))
    }
}
