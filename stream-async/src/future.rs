//! [`AsyncFutureReader`]: a future's reader that is itself a `Future`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use stream_events::{AsyncBackend, Listener};
use stream_future::{FutureReader, ReadError};

/// The reading end of a one-element future, awaitable as it is: `reader.await`,
/// `block_on(reader)`, or `&mut reader` in a `select!` (it is `Unpin`). Resolves to the value,
/// or [`FutureReadError`](crate::FutureReadError) when the writer was dropped without writing.
///
/// Polling it again after it resolved returns `Ready(Err(..))`: the value is read once.
/// Dropping it at any point drops the reader (a value already written is dropped with it;
/// the writer's write then fails and gives its value back). A `select!` that polls `&mut
/// reader` and takes another branch leaves the reader in place for a later poll.
///
/// # Examples
///
/// ```
/// let (writer, reader) = stream_async::future::<u64>();
/// std::thread::spawn(move || writer.write(7).unwrap());
/// assert_eq!(futures_lite::future::block_on(reader), Ok(7));
/// ```
pub struct AsyncFutureReader<T, B: AsyncBackend = Listener> {
    reader: FutureReader<T, B>,
    registration: B::Registration,
}

impl<T, B: AsyncBackend> AsyncFutureReader<T, B> {
    /// Wraps `reader`.
    pub fn new(reader: FutureReader<T, B>) -> Self {
        Self {
            reader,
            registration: Default::default(),
        }
    }

    /// The blocking reader inside (its `try_read`, `read_timeout`, `raw`).
    pub fn into_inner(self) -> FutureReader<T, B> {
        self.reader
    }

    /// Whether the value can be read now or the future is closed (a poll would not wait).
    pub fn is_ready(&self) -> bool {
        self.reader.is_ready()
    }
}

impl<T, B: AsyncBackend> Unpin for AsyncFutureReader<T, B> {}

impl<T, B: AsyncBackend> Future for AsyncFutureReader<T, B> {
    type Output = Result<T, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.reader.poll_read(&mut this.registration, cx)
    }
}

impl<T, B: AsyncBackend> From<FutureReader<T, B>> for AsyncFutureReader<T, B> {
    fn from(reader: FutureReader<T, B>) -> Self {
        Self::new(reader)
    }
}

impl<T, B: AsyncBackend> fmt::Debug for AsyncFutureReader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFutureReader")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}
