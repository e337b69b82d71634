//! Native streams: one writer hands elements to one reader with no queue in between.
//!
//! The reader lends a buffer; the writer writes elements straight into it and commits a count;
//! the reader takes the count. Each element is copied once, from the writer's hands into the
//! reader's memory. The shared state is the [`stream_abi::StreamHeader`] layout, so the same
//! stream object can be used from C through the low-level API of [`RawStream`].
//!
//! # Usage
//!
//! ```
//! use std::mem::MaybeUninit;
//!
//! let (mut writer, mut reader) = stream_core::stream::<String>();
//! let t = std::thread::spawn(move || {
//!     let mut items = vec!["a".to_string(), "b".to_string()];
//!     while !items.is_empty() {
//!         writer.write(&mut items).unwrap();
//!     }
//!     // Dropping the writer closes the stream.
//! });
//! let mut got = Vec::new();
//! while reader.read_append(&mut got, 8).is_ok() {}
//! assert_eq!(got, ["a", "b"]);
//! t.join().unwrap();
//! ```
//!
//! # Behaviour
//!
//! * **End of stream is sticky.** Elements committed before the writer closed are delivered
//!   first; after that every read returns [`ReadError::Closed`] at once, without lending a
//!   buffer.
//! * **A closed reader is not an idle reader.** When the reader end closes (or its last
//!   handle drops), a waiting writer wakes and its write fails with `Closed`, giving the
//!   elements back (they stay in the caller's `Vec`, or come back in the error's
//!   `into_inner`).
//! * **Cancelling a read** (a timeout, a `try_read` that finds nobody, a reader dropped
//!   mid-read, [`RawStream::cancel_read`]): if the writer has not taken the buffer, the reader
//!   gets it back at once with 0 elements; if the writer holds it, the cancel waits for the
//!   writer's commit and returns the count delivered. The writer never blocks while it holds
//!   a buffer, so that wait is as long as the writer's copy (or as long as the user holds a
//!   [`Loan`]). When a cancel returns, nothing refers to the buffer.
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
//! * **One operation at a time per end.** A second concurrent read (or write) through another
//!   handle of the same end fails with `Busy`; it is never undefined behaviour.
//! * `try_read` succeeds only if a writer is waiting to write (like a zero-capacity channel's
//!   `try_recv`); `try_write` only if the reader has lent a buffer.
//!
//! # Async code and event loops
//!
//! A [`Reader::read`] ends its read before it returns, because the caller's buffer is only
//! borrowed. Code that must return while a read is pending (a `poll` function, an event
//! loop) uses a [`BufferedReader`]: it owns the buffer it lends, so the lend can stay in
//! place between calls ([`BufferedReader::try_fill`], [`BufferedReader::poll_fill`]) and is
//! ended by its drop before the buffer is freed, even if the caller's future was leaked. A
//! writer never needs that: [`Writer::poll_loan`] and [`Writer::loan_async`] take a buffer
//! only when one is lent and hold nothing while pending. The `poll_` forms need an
//! [`AsyncBackend`](stream_events::AsyncBackend) (the `Listener` backend); the
//! `stream-async` crate builds `Future`, `Stream`, `AsyncRead` and `AsyncWrite` on them
//! without `unsafe` code.
//!
//! # Bulk transfers
//!
//! A stream lends one buffer at a time, so with [`Reader::read`] the writer waits while the
//! reader works on what it received. A [`ReadAhead`] owns two buffers and lends the second as
//! it hands out the first: the writer's copy into one overlaps the reader's work on the other.
//! Each element is still copied once, by the writer, into the reader's memory. Moving 64 KiB
//! blocks of bytes that the reader checks, this took the throughput from that of crossbeam
//! recycling blocks that the reader copies out (one buffer: 0.97x) to 1.27-1.30x of it,
//! level with crossbeam blocks checked in place (`cargo run --release -p benches --example
//! interleaved -- bulk`).
//!
//! # Features
//!
//! `spin`, `futex`, `listener` enable the event backends of `stream-events` (all by default).
//! [`stream`] uses [`DefaultBackend`]; [`stream_with`] names one.
//!
//! # Implementation notes
//!
//! All protocol state is in the `state` word (the one word the header adds to the design's
//! fields); every transition is one atomic read-modify-write on it. Bits:
//!
//! | bits | name            | meaning                                                     |
//! |------|-----------------|-------------------------------------------------------------|
//! | 0-1  | phase           | `IDLE` 0, `LENT` 1, `WRITING` 2, `DONE` 3                    |
//! | 2    | `WRITER_CLOSED` | writer end closed (sticky)                                  |
//! | 3    | `READER_CLOSED` | reader end closed (sticky)                                  |
//! | 4    | `WRITER_BUSY`   | a write is in progress (waiting for, or holding, a buffer)  |
//! | 5    | `READER_BUSY`   | a read is in progress (from before the lend to its end)     |
//! | 6    | `FUTURE_READER_WAITS` | futures only: the reader may wait on *read ready* (sticky) |
//! | 7    | `FUTURE_WRITER_GONE`  | futures only: the writer delivered and released its handle in one CAS; the reader frees |
//! | 8-9  | padded offset   | futures only: where the header sits in its `malloc` block, in 16-byte units (set at creation, never changed) |
//!
//! Who owns what in each phase:
//!
//! | phase     | `read_addr`/`read_size` | buffer        | `ready_size` | who may change the phase |
//! |-----------|-------------------------|---------------|--------------|--------------------------|
//! | `IDLE`    | reader (with `READER_BUSY`) | reader    | writer       | reader                   |
//! | `LENT`    | read-only for both      | nobody        | writer       | reader (CAS) or writer (CAS) |
//! | `WRITING` | writer                  | writer        | writer       | writer                   |
//! | `DONE`    | reader                  | reader        | reader       | reader                   |
//!
//! Transitions (each a Release or AcqRel RMW; the side that takes ownership acquires). Every
//! transition followed by an activation is `SeqCst`, so that the activation can be
//! [`Event::activate_after_seqcst`](stream_events::Event::activate_after_seqcst): with nobody
//! parked, the futex backend then only reads its event word instead of writing it, and the
//! cache line of the header stays with the side that is working on it.
//!
//! | from → to | by | how | then activates |
//! |-----------|----|-----|----------------|
//! | `IDLE` → `IDLE`+`READER_BUSY` | reader | CAS, fails with `Busy`/`Closed` | – |
//! | `IDLE` → `LENT` | reader, after storing the buffer | `fetch_xor` | write ready |
//! | `LENT` → `WRITING`+`WRITER_BUSY` | writer | CAS (needs no closed flag) | – |
//! | `WRITING` → `DONE` (−`WRITER_BUSY`) | writer, after `ready_size` = n | `fetch_xor` | read ready |
//! | `WRITING` → `LENT` (−`WRITER_BUSY`) | writer returning a loan | `fetch_xor` | read ready |
//! | `DONE` → `IDLE` (−`READER_BUSY`) | reader, after taking `ready_size` | `fetch_xor` | – |
//! | `DONE` → `LENT` (keeps `READER_BUSY`) | reader relending, after taking `ready_size` and storing the next buffer | CAS (needs no closed flag) | write ready |
//! | `LENT` → `IDLE` (−`READER_BUSY`) | reader cancelling | CAS (fails if the writer took it) | – |
//! | + `WRITER_BUSY` | writer starting a wait | CAS | – |
//! | − `WRITER_BUSY` | writer giving up | `fetch_and` | read ready |
//! | + `WRITER_CLOSED` / `READER_CLOSED` | close or last handle | `fetch_or` | both |
//!
//! The phase bits move by `fetch_xor` wherever only one side may move them (the other side
//! only sets flags meanwhile), and by CAS where both may (`LENT`). A cancelling reader that
//! finds `WRITING` waits on *read ready* for the writer's commit or return. A reader wait ends
//! on `DONE` or a closed flag; a writer wait ends on `LENT` or a closed flag, and the writer's
//! take CAS fails if a closed flag appeared, so a writer never takes a buffer from a closed
//! reader.
//!
//! `active_instances` counts reader handles in its low half and writer handles in its high
//! half. The last handle of an end closes the end *before* it gives up its count (so the
//! header is still alive while it closes), and ends an operation its owner left pending; the
//! handle that brings the whole word to zero frees the header (Release decrements, Acquire
//! on the last, as `Arc`).
//!
//! The reader end's only handle, inside `&mut self`, lends with one CAS (IDLE → LENT |
//! `READER_BUSY`, after storing the buffer fields), where a shared end needs two (take
//! `READER_BUSY`, then lend): with no other reader handle (an Acquire count of one, which
//! orders a dropped clone's last use of the fields before ours) nobody else can touch the
//! fields in IDLE.
//!
//! [`ReadAhead`] ends each read and lends its other buffer in one CAS (`DONE` → `LENT`,
//! keeping `READER_BUSY`): in `DONE` the reader owns `ready_size` and the buffer fields, so it
//! takes the count, stores the next buffer and moves the phase, where ending the read and
//! starting the next take two or three RMWs. The reader end is never free in between, so the
//! relend needs no unique handle. The CAS fails only if a closed flag appeared; the read then
//! ends as usual (`DONE` → `IDLE`) with nothing lent.
//!
//! The header's last word, tail padding in the `StreamHeader` layout, is an *inline word*: a
//! one-element buffer in the header's own cache line. [`Reader::recv`] of an element of at
//! most 8 bytes (and 8-byte alignment), by the only reader handle, lends it instead of a slot
//! on its stack, so that the element travels with the state instead of in a cache line of
//! its own: this halved the round trip of `stream_round_trip` (one element each way). It is
//! a lent buffer like any other, under the same ownership rules; only the only reader handle
//! may lend it, because the element is moved out after the read ended and the end is free
//! again. A future whose slot fits keeps its slot there ([`Shared::create_padded`]).
//!
//! `read_addr` and `read_size` are cleared at the commit, not at the take, so that a returned
//! loan leaves the buffer lent and `finish_writing` can check a count against the capacity.
//! `ready_size` carries counts; end of stream is the `WRITER_CLOSED` bit, which
//! [`RawStream::read_amount`] reports as [`stream_abi::CLOSED`].

mod buffered;
mod error;
mod raw;
mod read_ahead;
mod reader;
mod state;
mod sync;
mod writer;

use core::ptr::NonNull;

pub use buffered::BufferedReader;
pub use error::{
    ReadError, ReadTimeoutError, TryReadError, TryWriteError, WriteError, WriteTimeoutError,
};
pub use raw::{RawStream, Shared, StartReadError, StartWriteError, TooManyHandles};
pub use read_ahead::ReadAhead;
pub use reader::Reader;
pub use stream_events::{Backend, DefaultBackend};
pub use writer::{Loan, LoanAsync, Writer};

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
