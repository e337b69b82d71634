//! The element streams of an [`AsyncReader`]: [`Elements`] borrows it, [`IntoElements`] owns
//! it. The reader itself is not a `Stream`, so that on a byte reader the method names of
//! `AsyncReadExt` (`take`, `read`, ...) resolve without ambiguity when `StreamExt` is in scope.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_lite::Stream;
use stream_events::AsyncBackend;

use crate::AsyncReader;

impl<T, B: AsyncBackend> AsyncReader<T, B> {
    /// A [`Stream`] of the elements, one per item, borrowing the reader; see the
    /// [crate docs](crate#stream-items). It ends at end of stream or when the reader end is
    /// closed.
    ///
    /// Dropping it (or a `next()` future of it) leaves a read it started pending, as a poll
    /// of [`poll_fill`](Self::poll_fill) does: the next operation of the reader continues it,
    /// and nothing delivered is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// let (mut writer, mut reader) = stream_async::stream::<u32>(8);
    /// let t = std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///     writer.write_slice(&[1, 2, 3]).await.unwrap();
    /// }));
    /// futures_lite::future::block_on(async {
    ///     let firsts: Vec<u32> = reader.elements().take(2).collect().await;
    ///     assert_eq!(firsts, [1, 2]);
    ///     assert_eq!(reader.recv().await, Ok(3)); // the reader is still ours
    /// });
    /// t.join().unwrap();
    /// ```
    pub fn elements(&mut self) -> Elements<'_, T, B> {
        Elements { reader: self }
    }

    /// A [`Stream`] of the elements, one per item, owning the reader (for `forward`,
    /// `collect` and what must be `'static`); [`IntoElements::into_inner`] gives the reader
    /// back.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// let (mut writer, reader) = stream_async::stream::<u32>(8);
    /// let t = std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///     writer.write_slice(&[1, 2, 3]).await.unwrap();
    /// }));
    /// let all: Vec<u32> = futures_lite::future::block_on(reader.into_elements().collect());
    /// assert_eq!(all, [1, 2, 3]);
    /// t.join().unwrap();
    /// ```
    pub fn into_elements(self) -> IntoElements<T, B> {
        IntoElements { reader: self }
    }

    /// The next element: at once if one is buffered, else a fill; `None` at the end.
    fn poll_next_element(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(value) = self.pop() {
            return Poll::Ready(Some(value));
        }
        match self.poll_fill(cx) {
            Poll::Ready(Ok(_)) => Poll::Ready(self.pop()),
            // `Closed` ends the stream. `Busy` cannot happen: the reader was the only handle
            // of its end when it was wrapped, and no `&Reader` to clone is handed out.
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The elements of an [`AsyncReader`], one per item, borrowing it: see
/// [`AsyncReader::elements`].
#[must_use = "streams do nothing unless polled"]
pub struct Elements<'a, T, B: AsyncBackend> {
    reader: &'a mut AsyncReader<T, B>,
}

impl<T, B: AsyncBackend> Stream for Elements<'_, T, B> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().reader.poll_next_element(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.reader.buffer().len(), None)
    }
}

impl<T, B: AsyncBackend> fmt::Debug for Elements<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elements")
            .field("reader", &self.reader)
            .finish()
    }
}

/// The elements of an [`AsyncReader`], one per item, owning it: see
/// [`AsyncReader::into_elements`].
#[must_use = "streams do nothing unless polled"]
pub struct IntoElements<T, B: AsyncBackend = stream_events::DefaultBackend> {
    reader: AsyncReader<T, B>,
}

impl<T, B: AsyncBackend> IntoElements<T, B> {
    /// The reader, with what it buffered and a read it left pending.
    pub fn into_inner(self) -> AsyncReader<T, B> {
        self.reader
    }

    /// The reader, borrowed.
    pub fn get_ref(&self) -> &AsyncReader<T, B> {
        &self.reader
    }

    /// The reader, borrowed mutably (its elements are the stream's next items).
    pub fn get_mut(&mut self) -> &mut AsyncReader<T, B> {
        &mut self.reader
    }
}

impl<T, B: AsyncBackend> Stream for IntoElements<T, B> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().reader.poll_next_element(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.reader.buffer().len(), None)
    }
}

impl<T, B: AsyncBackend> fmt::Debug for IntoElements<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoElements")
            .field("reader", &self.reader)
            .finish()
    }
}
