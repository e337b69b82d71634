//! The async reading end.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_lite::{AsyncBufRead, AsyncRead};
use stream_core::{BufferedReader, ReadError, Reader};
use stream_events::{AsyncBackend, DefaultBackend};

use crate::{Closed, NotUnique};

/// The reading end of a stream, for async code.
///
/// It owns a buffer (a [`BufferedReader`]) that it lends to the writer; elements arrive there
/// and are taken from its front. See the [crate docs](crate) for why, and for what dropping a
/// future does.
pub struct AsyncReader<T, B: AsyncBackend = DefaultBackend> {
    inner: BufferedReader<T, B>,
    registration: B::Registration,
}

// Nothing in an `AsyncReader` is pinned: the elements live on the heap, behind the buffer's
// pointer, and are moved out only by value.
impl<T, B: AsyncBackend> Unpin for AsyncReader<T, B> {}

impl<T, B: AsyncBackend> AsyncReader<T, B> {
    /// Wraps `reader` with a buffer of `capacity` elements (at least 1, allocated once).
    ///
    /// # Errors
    ///
    /// [`NotUnique`], giving the reader back, when another handle of the reader end exists:
    /// it could start a read while ours is pending.
    pub fn new(reader: Reader<T, B>, capacity: usize) -> Result<Self, NotUnique<Reader<T, B>>> {
        if !reader.is_unique() {
            return Err(NotUnique(reader));
        }
        Ok(Self {
            inner: BufferedReader::new(reader, capacity),
            registration: Default::default(),
        })
    }

    /// Whether the buffer is lent (a read is pending): from the first read until
    /// [`cancel`](Self::cancel), the end of the stream or a close.
    pub fn is_pending(&self) -> bool {
        self.inner.is_pending()
    }

    /// Returns the buffered reader inside (a pending read stays pending, and is ended by its
    /// drop as usual).
    pub fn into_inner(self) -> BufferedReader<T, B> {
        self.inner
    }

    /// Polls for elements: `Ready(Ok(n))` once `n > 0` are buffered (at once if some are),
    /// `Ready(Err(ReadError::Closed))` at end of stream or when the reader end is closed;
    /// otherwise lends the buffer, registers the waker and returns `Pending`.
    ///
    /// Once lent, the buffer stays lent across polls, whatever they return, until
    /// [`cancel`](Self::cancel), the reader's drop, the end of the stream or a close of the
    /// reader end.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, ReadError>> {
        self.inner.poll_fill(&mut self.registration, cx)
    }

    /// Waits until elements are buffered; resolves to how many are (at least 1), or to
    /// [`ReadError::Closed`] at end of stream. Use them with [`buffer`](Self::buffer),
    /// [`consume`](Self::consume) and [`pop`](Self::pop).
    ///
    /// Cancel-safe: what was delivered stays buffered, and the buffer stays lent after the
    /// future resolves or is dropped, so the writer goes on writing into it (see the [crate
    /// docs](crate#cancellation)).
    pub fn fill(&mut self) -> FillFuture<'_, T, B> {
        FillFuture { reader: self }
    }

    /// Receives one element; resolves to [`ReadError::Closed`] at end of stream.
    ///
    /// Cancel-safe: what was delivered stays buffered for the next read (as for
    /// [`fill`](Self::fill)).
    pub fn recv(&mut self) -> RecvFuture<'_, T, B> {
        RecvFuture {
            fill: FillFuture { reader: self },
        }
    }

    /// Moves up to `max` elements (at least one, unless `max` is 0) to the end of `vec`;
    /// resolves to how many, or to [`ReadError::Closed`] at end of stream.
    ///
    /// Cancel-safe: nothing is moved into `vec` unless it resolves, and what was delivered
    /// stays buffered.
    pub fn read_append<'a>(
        &'a mut self,
        vec: &'a mut Vec<T>,
        max: usize,
    ) -> ReadAppendFuture<'a, T, B> {
        ReadAppendFuture {
            fill: FillFuture { reader: self },
            vec,
            max,
        }
    }

    /// The buffered elements, oldest first.
    pub fn buffer(&self) -> &[T] {
        self.inner.buffer()
    }

    /// The buffered elements, mutably.
    pub fn buffer_mut(&mut self) -> &mut [T] {
        self.inner.buffer_mut()
    }

    /// Drops the first `n` buffered elements.
    ///
    /// # Panics
    ///
    /// If fewer than `n` are buffered.
    pub fn consume(&mut self, n: usize) {
        self.inner.consume(n);
    }

    /// Takes the first buffered element, without waiting.
    pub fn pop(&mut self) -> Option<T> {
        self.inner.pop()
    }

    /// Ends the lend that reads leave in place (every read future, [`elements`](Self::elements)
    /// item, `AsyncRead` or `poll_fill` poll leaves the buffer lent) and returns how many
    /// elements are buffered. A reader that stops reading for good may call it so that the
    /// writer's next write waits instead of filling the buffer.
    ///
    /// Waits while the writer holds the buffer: for the length of a copy, or for as long as
    /// a [`Loan`] of it or a [`BufSink`](crate::BufSink) with unflushed elements in it is
    /// kept. On one thread with such a writer, that wait never ends: use
    /// [`try_cancel`](Self::try_cancel) there.
    ///
    /// [`Loan`]: stream_core::Loan
    pub fn cancel(&mut self) -> usize {
        self.inner.cancel()
    }

    /// [`cancel`](Self::cancel) without the wait: returns whether the buffer is not lent any
    /// more, and changes nothing while the writer holds it.
    pub fn try_cancel(&mut self) -> bool {
        self.inner.try_cancel()
    }

    /// Closes the reader end: the writer's writes fail from now on. Elements already
    /// buffered can still be taken; a pending read ends with what was delivered.
    pub fn close(&self) {
        self.inner.reader().close();
    }

    /// Whether the reader end is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.reader().is_closed()
    }

    /// Resolves once either end is closed: for example the writer was dropped, so the stream
    /// ends once the buffered and delivered elements are taken. Cancel-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = stream_async::stream::<u8>(4);
    /// std::thread::spawn(move || drop(writer));
    /// futures_lite::future::block_on(reader.closed());
    /// assert!(reader.is_write_closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, B> {
        Closed::new(self.inner.reader().raw())
    }

    /// Whether the writer end is closed (end of stream once the buffer is empty).
    pub fn is_write_closed(&self) -> bool {
        self.inner.reader().is_write_closed()
    }
}

impl<T, B: AsyncBackend> fmt::Debug for AsyncReader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncReader")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of [`AsyncReader::fill`].
#[must_use = "futures do nothing unless polled"]
pub struct FillFuture<'a, T, B: AsyncBackend> {
    reader: &'a mut AsyncReader<T, B>,
}

impl<T, B: AsyncBackend> Future for FillFuture<'_, T, B> {
    type Output = Result<usize, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().reader.poll_fill(cx)
    }
}

impl<T, B: AsyncBackend> fmt::Debug for FillFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FillFuture").finish_non_exhaustive()
    }
}

/// The future of [`AsyncReader::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T, B: AsyncBackend> {
    fill: FillFuture<'a, T, B>,
}

impl<T, B: AsyncBackend> Future for RecvFuture<'_, T, B> {
    type Output = Result<T, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reader = &mut *self.get_mut().fill.reader;
        if let Some(value) = reader.pop() {
            return Poll::Ready(Ok(value));
        }
        reader
            .poll_fill(cx)
            .map_ok(|_| reader.pop().expect("a fill buffers elements"))
    }
}

impl<T, B: AsyncBackend> fmt::Debug for RecvFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// The future of [`AsyncReader::read_append`].
#[must_use = "futures do nothing unless polled"]
pub struct ReadAppendFuture<'a, T, B: AsyncBackend> {
    fill: FillFuture<'a, T, B>,
    vec: &'a mut Vec<T>,
    max: usize,
}

impl<T, B: AsyncBackend> Future for ReadAppendFuture<'_, T, B> {
    type Output = Result<usize, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.max == 0 {
            return Poll::Ready(Ok(0));
        }
        let reader = &mut *this.fill.reader;
        reader
            .poll_fill(cx)
            .map_ok(|_| reader.inner.drain_into(this.vec, this.max))
    }
}

impl<T, B: AsyncBackend> fmt::Debug for ReadAppendFuture<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadAppendFuture")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

fn io_error(e: ReadError) -> io::Error {
    io::Error::other(e)
}

/// Bytes: a read copies buffered bytes into the caller's buffer (the first read lends the
/// reader's own buffer, which stays lent). End of stream, or a closed reader end, reads 0.
///
/// A read that empties the reader's buffer hands the freed room back to the writer before it
/// returns, without waiting: the writer refills it while the caller works on the bytes it
/// just read (read-ahead, as a `BufReader` reads ahead). [`AsyncReader::cancel`] or the
/// reader's drop ends the lend.
impl<B: AsyncBackend> AsyncRead for AsyncReader<u8, B> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match this.poll_fill(cx) {
            Poll::Ready(Ok(_)) => {
                let n = this.buffer().len().min(buf.len());
                buf[..n].copy_from_slice(&this.buffer()[..n]);
                this.consume(n);
                if this.buffer().is_empty() {
                    // Publish the freed room now (and lend, should the lend have ended) rather
                    // than at the next read, so that the writer's copy overlaps the caller's
                    // work. `Empty` (the usual answer) leaves the read pending; a count is
                    // buffered for the next read; `Closed` and `Busy` change nothing, and the
                    // next read reports them.
                    let _ = this.inner.try_fill();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(ReadError::Closed)) => Poll::Ready(Ok(0)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_error(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Bytes in place: `poll_fill_buf` returns the reader's own buffer (empty at end of stream).
impl<B: AsyncBackend> AsyncBufRead for AsyncReader<u8, B> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        match this.poll_fill(cx) {
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(this.buffer())),
            Poll::Ready(Err(ReadError::Closed)) => Poll::Ready(Ok(&[])),
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_error(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume(amt);
    }
}
