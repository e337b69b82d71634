//! Native streams and futures from async Rust, on any executor.
//!
//! The blocking handles of `stream-core` and `stream-future` wait by spinning and parking the
//! thread. Here the same streams are used from async code: a pending operation registers the
//! task's [`Waker`](core::task::Waker) with the stream's event and returns `Pending`; the other
//! side's next action on the stream (a lend, a commit, a close) wakes it. Nothing here knows
//! about an executor: it works under `futures_lite::future::block_on`, tokio, async-executor or
//! any other. The `native-stream` crate re-exports this crate as its `aio` module.
//!
//! Every type here is generic over an [`AsyncBackend`] (a backend that wakes `Waker`s) and
//! defaults to the [`DefaultBackend`] ([`Futex`]), the backend of the blocking handles that
//! name none: a stream made by `stream_core::stream` can have a blocking end on one thread and
//! an async end on another, and a blocking `FutureReader<T>` is awaited as it is. The
//! [`Listener`] backend (event-listener) is the other one. The first poll of a wait may spin for up to
//! [`SPIN_BUDGET`](stream_events::SPIN_BUDGET) (16 µs) before it registers, as the blocking
//! waits do, but only while spins pay: after a few spins that saw nothing (always the case
//! when both tasks run on one thread, as on tokio's `current_thread` runtime) a wait registers
//! at once, with one short probe every 32 waits ([`SpinHistory`](stream_events::SpinHistory)).
//!
//! # What is here
//!
//! * [`stream`] makes a stream of `T` with an [`AsyncWriter`] and an [`AsyncReader`]; or wrap
//!   the handles of a [`stream_core::stream_with`] stream with [`AsyncWriter::new`] and
//!   [`AsyncReader::new`] (they must be the only handle of their end).
//! * [`AsyncReader`]: [`fill`](AsyncReader::fill), [`recv`](AsyncReader::recv),
//!   [`read_append`](AsyncReader::read_append); a [`Stream`](futures_lite::Stream) of
//!   elements from [`elements`](AsyncReader::elements) (borrowing) or
//!   [`into_elements`](AsyncReader::into_elements) (owning); for bytes,
//!   [`AsyncRead`](futures_lite::AsyncRead) and [`AsyncBufRead`](futures_lite::AsyncBufRead).
//! * [`AsyncWriter`]: [`loan`](AsyncWriter::loan), [`write_vec`](AsyncWriter::write_vec),
//!   [`write_slice`](AsyncWriter::write_slice), [`send`](AsyncWriter::send); a
//!   [`Sink`](futures_sink::Sink) of elements from [`into_sink`](AsyncWriter::into_sink)
//!   or [`into_buf_sink`](AsyncWriter::into_buf_sink) (see [Sink](#sink)); for bytes,
//!   [`AsyncWrite`](futures_lite::AsyncWrite), so `futures_lite::io::copy` works.
//! * Method names leave the traits alone: the handles are not `Stream` or `Sink` themselves,
//!   so on a byte reader or writer `read`, `take`, `write`, `flush` and `close` are those of
//!   the `AsyncReadExt`/`AsyncWriteExt` in scope, without ambiguity; the batch forms have
//!   names of their own (`write_vec`, `write_slice`, `read_append`).
//! * [`future`] makes a one-element future whose reader, an [`AsyncFutureReader`], is a
//!   `Future` itself: `reader.await`, `block_on(reader)`, `&mut reader` in a `select!`.
//!   Awaiting it gives [`FutureReadError`] when the writer left without a value.
//! * The stream handles ([`AsyncReader`], [`AsyncWriter`]) close their end with `close`, and
//!   their `closed()` resolves once either end is closed. The future handles have no
//!   `close`: dropping one closes its end (the writer's
//!   [`is_closed`](stream_future::FutureWriter::is_closed) tells whether the reader left).
//! * No drop and no poll blocks the thread: a reader dropped while the writer holds its
//!   buffer hands the buffer to the stream, and the writer's commit frees it.
//!
//! # Example
//!
//! ```
//! use futures_lite::{future, StreamExt};
//!
//! let (mut writer, reader) = stream_async::stream::<u32>(64);
//! let t = std::thread::spawn(move || {
//!     future::block_on(async {
//!         writer.write_slice(&[1, 2, 3]).await.unwrap();
//!         writer.send(4).await.unwrap();
//!     })
//! });
//! let all: Vec<u32> = future::block_on(reader.into_elements().collect());
//! assert_eq!(all, [1, 2, 3, 4]);
//! t.join().unwrap();
//! ```
//!
//! # The reader's buffer
//!
//! An async read cannot lend the caller's buffer: its future may be dropped, or leaked, while
//! the buffer is lent. So an [`AsyncReader`] owns its buffer (a [`BufferedReader`], allocated
//! once with the capacity given to [`stream`]): it lends that, and elements are taken from it.
//! Each element is still written once by the writer, into the reader's memory; the byte
//! interfaces copy it once more into the caller's buffer, as any buffered reader does.
//!
//! # Stream items
//!
//! The [`Stream`](futures_lite::Stream) of an [`AsyncReader`]'s
//! [`elements`](AsyncReader::elements) (or [`into_elements`](AsyncReader::into_elements))
//! yields **one element** per item,
//! as a channel receiver does, so that the `StreamExt` combinators see elements. Batching
//! happens underneath: one lend brings up to the buffer's capacity of elements, and the
//! following items are taken from the buffer without touching the stream. For batches, use
//! [`fill`](AsyncReader::fill) with [`buffer`](AsyncReader::buffer) and
//! [`consume`](AsyncReader::consume), or [`read_append`](AsyncReader::read_append).
//!
//! # Sink
//!
//! An [`AsyncWriter`] becomes a [`Sink`](futures_sink::Sink) of elements in one of two ways:
//!
//! * [`into_sink`](AsyncWriter::into_sink) ([`ElementSink`]) delivers each element in
//!   `start_send`, as a channel's sender does: `SinkExt::feed` of a request, then awaiting
//!   the reply, works. One hand-off per element.
//! * [`into_buf_sink`](AsyncWriter::into_buf_sink) ([`BufSink`]) puts each element straight
//!   into the buffer the reader lent and keeps that buffer between polls: it is committed
//!   (the reader sees its elements) when it is full or at `poll_flush`, as a `BufWriter`
//!   holds bytes until its flush. So `SinkExt::feed` batches elements into the reader's
//!   buffer, and `SinkExt::send`, which flushes, delivers each element on its own
//!   (`send_all` flushes whenever its stream is pending, and at its end). **Flush before
//!   awaiting anything that the reader's side answers**: a fed element is not delivered
//!   before, so that wait would never end.
//!
//! `poll_ready` reports a closed reader as [`WriteError::Closed`] before an element is handed
//! over. Elements given to `start_send` were accepted: they are never lost or dropped twice.
//! The sinks' [`into_inner`](BufSink::into_inner), [`get_mut`](BufSink::get_mut) and **drop
//! commit held elements**, so they keep their order and reach the reader (which drops them
//! if it closed without reading them). `SinkExt::close` flushes, then closes.
//!
//! While a [`BufSink`] holds elements it holds the reader's buffer as a [`Loan`] would:
//! the reader sees nothing of it yet, and a reader that cancels its read
//! ([`AsyncReader::cancel`]) waits for the commit. A reader that is dropped does not wait:
//! it leaves the buffer to the writer, whose commit then finds nobody to deliver to.
//!
//! `poll_flush` (and `poll_close`, and an [`ElementSink`]'s `start_send`) report
//! [`WriteError::Closed`] only when the held elements were **not delivered**: the reader was
//! dropped while the writer held its buffer. They are given back by
//! [`take_undelivered`](BufSink::take_undelivered), so that a producer that sends them
//! elsewhere sends each once. A reader end that was only closed ([`AsyncReader::close`])
//! still reads what its pending read received: that flush is `Ok`.
//!
//! # Cancellation
//!
//! Dropping a future of this crate at any poll point is safe and loses no element that was
//! still the caller's:
//!
//! * A read future (`fill`, `recv`, `read_append`) leaves the buffer lent when it resolves or
//!   is dropped, as a channel's receiver leaves its queue: the writer goes on writing into the
//!   free part of the buffer (as far as the reader last published its reads: every quarter of
//!   the buffer, and before it waits) while the reader does other work, and what it delivered
//!   is there for the next read. Nothing is lost and nothing waits: every read operation is
//!   **cancel-safe** in the tokio sense. The reader's drop ends the lend without waiting;
//!   [`AsyncReader::cancel`] ends it too, but waits while the writer holds the buffer (a copy,
//!   a [`Loan`], a [`BufSink`] with unflushed elements: on one thread, that wait never ends),
//!   where [`AsyncReader::try_cancel`] does not.
//! * A write future holds nothing while it waits: the elements stay with the caller (in the
//!   `Vec` or slice) until the future resolves. [`write_vec`](AsyncWriter::write_vec),
//!   [`write_slice`](AsyncWriter::write_slice) and [`loan`](AsyncWriter::loan) are
//!   cancel-safe. [`send`](AsyncWriter::send) owns its value: a dropped `send` future drops
//!   it undelivered (it was never in the stream), so `send` is not cancel-safe. The same
//!   holds for the futures of `SinkExt` that own an element not yet given to `start_send`;
//!   elements given to it stay with the sink (see [Sink](#sink)).
//! * The [`ReadFuture`] of an awaited [`FutureReader`] owns the reader: dropping it drops a
//!   value already written, as dropping the reader would (see its docs).
//! * A [`Loan`] is not a future: commit or drop it before the next `.await`, because a reader
//!   that cancels its read waits for the loan to end.
//!
//! Polling the reader's [`elements`](AsyncReader::elements), through `AsyncRead`/`AsyncBufRead` or with
//! [`poll_fill`](AsyncReader::poll_fill) keeps the buffer lent between polls in the same way.
//!
//! # Guarantees
//!
//! Those of `stream-core` and `stream-future`, and the cancellation rules above. A poll never
//! wakes itself; a wake-up can be spurious, after which the poll checks again.
//!
//! `#![forbid(unsafe_code)]`: everything unsafe (lending the owned buffer, taking a loan
//! whose lifetime outlives one poll, keeping a taken buffer between polls) is in
//! `stream-core`'s safe API ([`BufferedReader`],
//! [`BatchWriter`](stream_core::BatchWriter),
//! [`Writer::poll_loan`](stream_core::Writer::poll_loan),
//! [`Writer::loan_async`](stream_core::Writer::loan_async)) and `stream-future`'s
//! [`FutureReader::poll_read`](stream_future::FutureReader::poll_read).
//!
//! # Features
//!
//! * `tokio` (off by default): tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for
//!   [`AsyncReader<u8>`](AsyncReader) and [`AsyncWriter<u8>`](AsyncWriter), beside the
//!   `futures-io` ones, so `tokio::io::copy` works without a compat layer. As tokio's own
//!   I/O types, they spend tokio's cooperative budget (`tokio::task::coop`): after a task's
//!   budget of reads and writes, the next returns `Pending` and wakes the task at once, so a
//!   writer whose reader keeps up does not starve the tasks on its worker. Turns on tokio's
//!   `rt` feature.
//!
//! The crate turns on the `listener` feature of `stream-core`, `stream-future` and
//! `stream-events`, so the [`Listener`] backend is there to name; its handles default to
//! the [`DefaultBackend`].
//!
//! The design notes (wake-ups and the adaptive spin, why the reader owns its buffer) are in
//! `docs/design.md` of the repository, section "stream-async".
#![forbid(unsafe_code)]

mod closed;
mod elements;
mod reader;
mod sink;
#[cfg(feature = "tokio")]
mod tokio_io;
mod writer;

pub use closed::Closed;
pub use elements::{Elements, IntoElements};
pub use reader::{AsyncReader, FillFuture, ReadAppendFuture, RecvFuture};
pub use sink::{BufSink, ElementSink};
pub use stream_core::{BufferedReader, Loan, LoanAsync, ReadError, WriteError};
pub use stream_events::{AsyncBackend, DefaultBackend, Futex, Listener};
/// The errors of a future: awaiting an [`AsyncFutureReader`] gives `FutureReadError`, a
/// failed [`FutureWriter::write`] gives `FutureWriteError` (with the value).
pub use stream_future::{
    FutureReader, FutureWriter, ReadError as FutureReadError, ReadFuture,
    WriteError as FutureWriteError,
};
pub use writer::{AsyncWriter, CloseDone, SendFuture, WriteFuture, WriteSliceFuture};

/// The reading end of a one-element future in async code, a `Future` itself (`stream-future`'s
/// [`ReadFuture`]): `reader.await`, `block_on(reader)`, or `&mut reader` in a `select!` (it
/// is `Unpin`; a lost select leaves it readable). Resolves to the value, or
/// [`FutureReadError`] when the writer was dropped without writing; polled again after that,
/// `Err` (the value is read once). [`into_inner`](ReadFuture::into_inner) gives the blocking
/// reader back.
///
/// # Examples
///
/// ```
/// let (writer, reader) = stream_async::future::<u64>();
/// std::thread::spawn(move || writer.write(7).unwrap());
/// assert_eq!(futures_lite::future::block_on(reader), Ok(7));
/// ```
pub type AsyncFutureReader<T, B = DefaultBackend> = ReadFuture<T, B>;

/// Why a handle could not be made async: it is not the only handle of its end (another
/// handle could start an operation on the end while an async one is pending). The handle
/// comes back with [`into_inner`](Self::into_inner).
pub struct NotUnique<H>(pub H);

impl<H> NotUnique<H> {
    /// The handle that was not wrapped.
    pub fn into_inner(self) -> H {
        self.0
    }
}

impl<H> core::fmt::Debug for NotUnique<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NotUnique(..)")
    }
}

impl<H> core::fmt::Display for NotUnique<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the handle is not the only handle of its end")
    }
}

impl<H> std::error::Error for NotUnique<H> {}

/// Creates a stream of `T` for async code, with a reader buffer of `capacity` elements (at
/// least 1).
///
/// # Examples
///
/// ```
/// let (mut writer, mut reader) = stream_async::stream::<String>(8);
/// futures_lite::future::block_on(async {
///     let sent = async {
///         writer.send("hello".to_string()).await.unwrap();
///         drop(writer); // end of stream
///     };
///     let received = async {
///         let first = reader.recv().await;
///         (first, reader.recv().await)
///     };
///     let ((), (first, second)) = futures_lite::future::zip(sent, received).await;
///     assert_eq!(first.unwrap(), "hello");
///     assert!(second.is_err()); // end of stream
/// });
/// ```
pub fn stream<T>(capacity: usize) -> (AsyncWriter<T>, AsyncReader<T>) {
    let (writer, reader) = stream_core::stream::<T>();
    (
        AsyncWriter::new(writer).unwrap_or_else(|_| unreachable!("a new writer is unique")),
        AsyncReader::new(reader, capacity)
            .unwrap_or_else(|_| unreachable!("a new reader is unique")),
    )
}

/// Creates a one-element future of `T` whose reader is a `Future`.
///
/// # Examples
///
/// ```
/// let (writer, reader) = stream_async::future::<u64>();
/// std::thread::spawn(move || writer.write(7).unwrap());
/// assert_eq!(futures_lite::future::block_on(reader), Ok(7));
/// ```
pub fn future<T>() -> (FutureWriter<T>, AsyncFutureReader<T>) {
    let (writer, reader) = stream_future::future::<T>();
    (writer, core::future::IntoFuture::into_future(reader))
}
