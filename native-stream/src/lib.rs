//! Zero-copy streams and one-element futures between one writer and one reader.
//!
//! A native stream has no queue. The reader lends a buffer; the writer writes elements straight
//! into it and commits a count; the reader takes the count. Each element is copied once, from
//! the writer's hands into the reader's memory. A future is the same structure for one value,
//! written once.
//!
//! This crate is the one dependency for all of it. It re-exports the layered crates, which
//! also work alone:
//!
//! | for                                        | here                          | crate           |
//! |--------------------------------------------|-------------------------------|-----------------|
//! | a blocking stream between two threads      | [`stream`], [`Writer`], [`Reader`], [`ReadAhead`] | `stream-core` |
//! | one value, written once                    | [`future`]                    | `stream-future` |
//! | streams and futures from async code        | [`aio`] (feature `aio`)       | `stream-async`  |
//! | how a side waits                           | [`Spin`], [`Futex`], [`Listener`], [`events`] | `stream-events` |
//! | the `#[repr(C)]` header and the raw protocol, for C interop | [`abi`], [`raw`] | `stream-abi`, `stream-core` |
//!
//! # Examples
//!
//! A stream: the writer's `send` waits until the reader lends a buffer; dropping the writer
//! ends the stream.
//!
//! ```
//! let (mut writer, mut reader) = native_stream::stream::<u64>();
//! let producer = std::thread::spawn(move || {
//!     for i in 1..=100 {
//!         writer.send(i).unwrap();
//!     }
//! });
//! let mut sum = 0;
//! while let Ok(i) = reader.recv() {
//!     sum += i;
//! }
//! producer.join().unwrap();
//! assert_eq!(sum, 5050);
//! ```
//!
//! A future: the write never blocks; if the reader is gone, the value comes back.
//!
//! ```
//! let (writer, reader) = native_stream::future::future::<String>();
//! let t = std::thread::spawn(move || writer.write("done".to_string()).unwrap());
//! assert_eq!(reader.read().unwrap(), "done");
//! t.join().unwrap();
//! ```
//!
//! # Guarantees
//!
//! * End of stream is sticky: committed elements first, then every read returns `Closed`.
//! * A dropped reader is seen by the writer as closed, not idle: a waiting write wakes and
//!   gives its elements back.
//! * Each element moves exactly once and is dropped exactly once.
//! * Everything the writer did before a commit is visible to the reader after its read.
//!
//! The [`Reader`] and [`Writer`] docs give every case. The design notes are in
//! `docs/design.md` of the repository.
//!
//! # Features
//!
//! Each feature is the feature of the same name in the layered crates. All are on by default;
//! every combination builds.
//!
//! * `spin`, `listener`: the [`Spin`] and [`Listener`] backends. [`Futex`] is always there
//!   (its `futex` feature is kept and changes nothing), and [`DefaultBackend`] is `Futex` in
//!   every build: enabling a feature anywhere in a build adds a backend, never changes a
//!   type or removes a method.
//! * `aio`: the [`aio`] module (the `stream-async` crate). It turns on `listener`, the
//!   backend that wakes tasks.
//! * `tokio` (off by default): tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for the
//!   `aio` byte reader and writer (feature `tokio` of `stream-async`); turns on `aio`.
//!
// Without a feature, its item does not exist: its links point to the list above.
#![cfg_attr(not(feature = "spin"), doc = "[`Spin`]: #features")]
#![cfg_attr(
    not(all(feature = "listener", not(stream_loom))),
    doc = "[`Listener`]: #features"
)]
#![cfg_attr(not(feature = "aio"), doc = "[`aio`]: #features")]

pub use stream_core::{
    stream, stream_with, BatchWriter, BufferedReader, IntoIter, Iter, Loan, LoanAsync, ReadAhead,
    ReadError, ReadTimeoutError, Reader, TryReadError, TryWriteError, WriteError,
    WriteTimeoutError, Writer,
};
#[cfg(all(feature = "listener", not(stream_loom)))]
pub use stream_events::Listener;
#[cfg(feature = "spin")]
pub use stream_events::Spin;
pub use stream_events::{AsyncBackend, Backend, DefaultBackend, Futex};

pub mod future {
    //! One-element futures: a value written once and read once (the `stream-future` crate).
    //!
    //! [`future`] makes a [`FutureWriter`] and a [`FutureReader`]. The write never blocks,
    //! also before the reader waits; if the reader is gone, the error gives the value back.
    //! Dropping the writer without writing closes the future: the read fails with
    //! [`ReadError`]. To await a reader, use `aio::future` (feature `aio`).
    //!
    //! # Examples
    //!
    //! ```
    //! use native_stream::future;
    //!
    //! let (writer, reader) = future::future::<u64>();
    //! drop(reader);
    //! let err = writer.write(7).unwrap_err();
    //! assert_eq!(err.into_inner(), 7); // the reader was gone: the value comes back
    //! ```

    pub use stream_future::*;
}

#[cfg(feature = "aio")]
pub mod aio {
    //! Streams and futures from async code, on any executor (the `stream-async` crate).
    //!
    //! The name is short for "async I/O": `async` is a keyword. A pending operation registers
    //! the task's waker and returns `Pending`; the other side's next action wakes it. The
    //! handles use the [`Listener`] backend, the one that wakes tasks. Read and write futures
    //! are cancel-safe, except [`AsyncWriter::send`], which owns its value.
    //!
    //! # Examples
    //!
    //! ```
    //! use futures_lite::{future::block_on, StreamExt};
    //! use native_stream::aio;
    //!
    //! let (mut writer, reader) = aio::stream::<u32>(64); // the reader's buffer: 64 elements
    //! let t = std::thread::spawn(move || {
    //!     block_on(async move {
    //!         for i in 1..=4 {
    //!             writer.send(i).await.unwrap();
    //!         }
    //!     }) // the writer is dropped here: end of stream
    //! });
    //! let all: Vec<u32> = block_on(reader.into_elements().collect()); // one item per element
    //! assert_eq!(all, [1, 2, 3, 4]);
    //! t.join().unwrap();
    //! ```

    pub use stream_async::*;
}

pub mod events {
    //! The two events of a stream, *read ready* and *write ready*, and their backends (the
    //! `stream-events` crate).
    //!
    //! A backend is a type parameter, so several can live in one binary: name one with
    //! [`stream_with`](crate::stream_with) or [`future_with`](crate::future::future_with).

    pub use stream_events::*;
}

pub mod abi {
    //! The `#[repr(C)]` stream header shared with C, and the sentinel values of its count
    //! (the `stream-abi` crate).
    //!
    //! C code includes `stream-ffi/include/native_stream_ffi.h`, which includes the C form of
    //! this layout, `stream-abi/include/native_stream.h`.

    pub use stream_abi::*;
}

pub mod raw {
    //! The low-level protocol on the stream header: lend, take, commit and cancel by hand, as
    //! C code does (part of the `stream-core` crate).
    //!
    //! Every handle's header is reachable with [`Reader::raw`](crate::Reader::raw) and
    //! [`Writer::raw`](crate::Writer::raw). Most of [`RawStream`] is `unsafe`: the safe
    //! handles at the crate root are the way to use a stream from Rust.

    pub use stream_core::{RawStream, Shared, StartReadError, StartWriteError, TooManyHandles};
}

/// Every Rust block of the README, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
