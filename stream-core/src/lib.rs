//! Native streams: one writer hands elements to one reader with no queue in between.
//!
//! The reader lends a buffer; the writer writes elements straight into it and commits a count;
//! the reader takes the count. Each element is copied once, from the writer's hands into the
//! reader's memory. Use it for a stream of elements between two threads; the `native-stream`
//! crate re-exports it with the futures, the async layer and the backends.
//!
//! [`stream`] makes a [`Writer`] and a [`Reader`]. Both block: the writer waits for a lent
//! buffer, the reader for the writer's commit.
//!
//! | to                            | writer                                          | reader |
//! |-------------------------------|-------------------------------------------------|--------|
//! | move one element              | [`send`](Writer::send)                          | [`recv`](Reader::recv) |
//! | move a batch                  | [`write_vec`](Writer::write_vec) (from a `Vec`), [`write_slice`](Writer::write_slice) | [`read_append`](Reader::read_append), [`read_init`](Reader::read_init), [`read_uninit`](Reader::read_uninit) |
//! | write in place (zero copy)    | [`loan`](Writer::loan), then fill the [`Loan`]  | |
//! | batch single elements         | [`BatchWriter`]: push into the held buffer, flush | |
//! | move bulk data                | [`write_slice`](Writer::write_slice)            | [`ReadAhead`] |
//! | read from a `poll` function   |                                                 | [`BufferedReader`] |
//!
//! `read_uninit`, `recv`, `write_vec`, `write_slice`, `send` and `loan` also have a `try_`
//! form, which does not wait for the other side to arrive, and `_timeout` and `_deadline`
//! forms, which wait at most so long; `read_append` and `read_init` only block. The plain
//! names `read`, `write` and `flush` are left to `std::io` (byte streams are `Read` and
//! `Write`), so `writer.write(b"..")` and `reader.read(&mut [0u8; 64])` mean what they mean
//! on a file or a socket.
//!
//! # Examples
//!
//! ```
//! let (mut writer, mut reader) = stream_core::stream::<String>();
//! let t = std::thread::spawn(move || {
//!     let mut items = vec!["a".to_string(), "b".to_string()];
//!     while !items.is_empty() {
//!         writer.write_vec(&mut items).unwrap();
//!     }
//!     // Dropping the writer closes the stream.
//! });
//! let mut got = Vec::new();
//! while reader.read_append(&mut got, 8).is_ok() {}
//! assert_eq!(got, ["a", "b"]);
//! t.join().unwrap();
//! ```
//!
//! # Guarantees
//!
//! * **End of stream is sticky.** Elements committed before the writer closed are delivered
//!   first; after that every read returns [`ReadError::Closed`] at once, without lending a
//!   buffer.
//! * **A closed reader is not an idle reader.** When the reader end closes (or its last
//!   handle drops), a waiting writer wakes and its write fails with `Closed`, giving the
//!   elements back (they stay in the caller's `Vec`, or come back in the error's
//!   `into_inner`).
//! * **Cancelling a read** (a timeout, a `try_read` that finds nobody,
//!   [`BufferedReader::cancel`], [`RawStream::cancel_read`]): if the writer has not taken the
//!   buffer, the reader gets it back at once with 0 elements; if the writer holds it, the
//!   cancel waits for the writer's commit and returns the count delivered. The writer never
//!   blocks while it holds a buffer, so that wait is as long as the writer's copy (or as long
//!   as the user holds a [`Loan`], or a [`BatchWriter`] holds pushed elements). When a cancel
//!   returns, nothing refers to the buffer.
//! * **No drop waits for the other side.** A [`BufferedReader`] or [`ReadAhead`] (or a
//!   [`Reader`] with its ring lent) dropped while the writer holds its ring hands the lend and
//!   the ring to the stream: the writer's commit (or return) drops what was published and
//!   not read and frees the ring. A commit that finds its reader gone this way before the
//!   reader consumed any of it reports the elements not delivered: [`Writer::send`] gives
//!   the element back, a [`BatchWriter`] keeps them for
//!   [`take_undelivered`](BatchWriter::take_undelivered).
//! * **Cancelling a write** (a [`Loan`] dropped without commit, or committed with 0): the
//!   buffer goes back to the stream and the reader's read stays pending; the reader is not
//!   woken with a result.
//! * **Closing twice is a no-op.** Every blocked caller on either side wakes after a close;
//!   operations on a closed end return `Closed` at once. A close happens-before the other
//!   side's observation of it: what the closing thread did before closing is visible to the
//!   thread that got `Closed`.
//! * **Zero lengths are readiness probes.** A read with an empty buffer returns `Ok(0)` once a
//!   writer is ready to write (the writer answers it and keeps waiting for a real buffer); a
//!   write of nothing returns `Ok(0)` once the reader has lent a buffer (which stays lent).
//! * **Elements move exactly once.** An element is owned by the writer until its commit and by
//!   the reader's buffer after; each is dropped exactly once, whether delivered, given back or
//!   never sent. Elements written into a loan that is dropped uncommitted are forgotten (the
//!   buffer is `MaybeUninit`); the safe fillers never leave any.
//! * **Happens-before.** Everything the writer did before a commit is visible to the reader
//!   after its read returns.
//! * **One operation at a time per end; clones take turns.** A blocking or timed read (or
//!   write) through another handle of the same end waits until the operation in progress
//!   ends (timed forms honour their deadline; `Writer::loan_async` too); the `try_` forms
//!   fail with `Busy` instead, as does `Writer::poll_loan`. It is never undefined behaviour. Writer clones behave as
//!   an mpsc `Sender` (whole `send`s and `write_slice`s interleave, none lost), reader clones
//!   as a work queue (each element goes to one of them, in stream order per read).
//! * `try_read` succeeds only if a writer is waiting to write (like a zero-capacity channel's
//!   `try_recv`); `try_write` only if the reader has lent a buffer.
//!
//! # Async code and event loops
//!
//! A [`Reader::read_uninit`] ends its read before it returns, because the caller's buffer is only
//! borrowed. Code that must return while a read is pending (a `poll` function, an event
//! loop) uses a [`BufferedReader`]: it owns the buffer it lends, so the lend can stay in
//! place between calls ([`BufferedReader::try_fill`], [`BufferedReader::poll_fill`]) and is
//! ended by its drop before the buffer is freed, even if the caller's future was leaked. A
//! writer never needs that: [`Writer::poll_loan`] and [`Writer::loan_async`] take a buffer
//! only when one is lent and hold nothing while pending. The `poll_` forms need an
//! [`AsyncBackend`] (the default [`Futex`] backend, or `Listener`); the
//! `stream-async` crate builds `Future`, `Stream`, `AsyncRead` and `AsyncWrite` on them
//! without `unsafe` code.
//!
//! # Bulk transfers and small writes
//!
//! A reader that owns its memory lends it *open*: a ring lent once, which the writer keeps
//! writing into, commit after commit, while the reader consumes what was published
//! (`docs/design.md`, "The open lend"). So the writer runs up to a ring ahead of a reader
//! that is busy or asleep, and a small write (one `send`, one `writeln!`) costs no
//! rendezvous with the reader. [`ReadAhead`] lends a ring of four chunks and hands out a
//! chunk at a time; [`BufferedReader`] (and so `stream-async`'s reader) lends its buffer as
//! the ring; a [`Reader`]'s `io::Read` and iteration keep a ring lent while it is the only
//! reader handle. [`Reader::read_uninit`] into a caller's buffer lends that buffer alone and
//! ends the lend before it returns, as before. Each element is still copied once, by the
//! writer, into the reader's memory. `cargo xtask bench` measures it against crossbeam,
//! rtrb, pipes and channels; the README's performance table and `docs/performance.md` of
//! the repository have the figures.
//!
//! # C and the low-level API
//!
//! The shared state is the [`stream_abi::StreamHeader`] layout, so the same stream object can
//! be used from C through the low-level API of [`RawStream`] (every handle's header is
//! [`Reader::raw`] or [`Writer::raw`]); the `stream-ffi` crate exports it.
//!
//! # Features
//!
//! `spin` and `listener` add the `Spin` and `Listener` backends of `stream-events` (both by
//! default); [`Futex`] is always built, and its `futex` feature changes nothing.
//! [`stream`] uses [`DefaultBackend`], which is `Futex` in every build, and the handle types
//! default to it (`Reader<u8>` is `Reader<u8, Futex>`); [`stream_with`] names another. So
//! features are additive: enabling one anywhere in a build adds a backend and never changes a
//! type or removes a method. The default backend wakes `Waker`s too, so the handles of
//! [`stream`] serve blocking and async code alike.
//!
//! # Implementation notes
//!
//! The design notes are in `docs/design.md` of the repository, section "stream-core": the
//! bits of the `state` word, who owns which field in each phase, every transition, the
//! handle count, the inline word and the open lend.

mod batch;
mod buffered;
mod error;
mod io;
mod iter;
mod loan;
mod open_ring;
mod raw;
mod read_ahead;
mod reader;
mod reader_ring;
mod state;
mod sync;
mod writer;

use core::ptr::NonNull;

pub use batch::BatchWriter;
pub use buffered::BufferedReader;
pub use error::{
    ReadError, ReadTimeoutError, TryReadError, TryWriteError, WriteError, WriteTimeoutError,
};
pub use iter::{IntoIter, Iter};
pub use loan::Loan;
pub use raw::{
    FutureReservation, PaddedBlock, RawStream, Shared, StartReadError, StartWriteError,
    TooManyHandles,
};
pub use read_ahead::ReadAhead;
pub use reader::Reader;
#[cfg(all(feature = "listener", not(stream_loom)))]
pub use stream_events::Listener;
#[cfg(feature = "spin")]
pub use stream_events::Spin;
pub use stream_events::{AsyncBackend, Backend, DefaultBackend, Futex};
pub use writer::{LoanAsync, Writer};

/// Creates a stream of `T` with the [`DefaultBackend`] events.
///
/// # Examples
///
/// ```
/// let (mut writer, mut reader) = stream_core::stream::<u8>();
/// std::thread::spawn(move || writer.send(7).unwrap());
/// assert_eq!(reader.recv(), Ok(7));
/// ```
pub fn stream<T>() -> (Writer<T, DefaultBackend>, Reader<T, DefaultBackend>) {
    stream_with::<T, DefaultBackend>()
}

/// Creates a stream of `T` with the events of backend `B`.
///
/// # Examples
///
/// ```
/// use stream_events::Spin;
/// let (mut writer, mut reader) = stream_core::stream_with::<u8, Spin>();
/// drop(writer);
/// assert_eq!(reader.recv(), Err(stream_core::ReadError::Closed));
/// ```
pub fn stream_with<T, B: Backend>() -> (Writer<T, B>, Reader<T, B>) {
    let raw: NonNull<RawStream<B>> = RawStream::create_stream();
    // SAFETY: `create_stream` counted one writer and one reader handle; each goes to one
    // wrapper, and the stream carries `T`s from here on.
    unsafe { (Writer::from_raw(raw), Reader::from_raw(raw)) }
}
