//! The C interface of native streams and futures.
//!
//! This crate builds a `cdylib` and a `staticlib` (and an `rlib`) exporting the design's
//! functions under the prefixes `native_stream_` (streams and events) and `native_future_`
//! (futures). The C declarations are in `include/native_stream_ffi.h`, which includes the
//! layout header of `stream-abi` (`native_stream.h`); `wit/native-stream.wit` describes the
//! same interface in WIT. Tests keep the three function lists equal (`tests/exports.rs` parses
//! the WIT, `tests/c_programs.rs` lists the `cdylib`'s symbols) and compile the headers as
//! C11, C++11 and C++17 (`tests/headers.rs`).
//!
//! # Handles
//!
//! A handle is a pointer to the stream header (`native_stream_header *`), the
//! [`stream_abi::StreamHeader`] layout that `stream-core`'s `RawStream` has (asserted there).
//! Handles are counted per end in `active_instances`: `create` returns one reader and one
//! writer handle on the same pointer; `clone_reader`/`clone_writer` add one,
//! `release_reader`/`release_writer` give one up. The last handle of an end closes the end;
//! the last handle of all frees the stream. A caller keeps track of which end it holds.
//!
//! Streams created here and streams created by `stream_core::stream_with::<T, Futex>()` are
//! the same object: a C writer can act on the header of a Rust `Reader` (`reader.raw()`) and
//! the reverse, as long as it holds a counted handle (`RawStream::retain_writer` on the Rust
//! side, released with `native_stream_release_writer`) or the Rust handle keeps the stream
//! alive. The element type is the caller's: the C API deals in `void *` buffers and element
//! counts and never looks into a buffer, so reader and writer agree on the element size (and
//! on the element type, for a Rust peer) out of band.
//!
//! # Backend
//!
//! Every export interprets the header with the [`Futex`](stream_events::Futex) event backend,
//! the default backend of `stream-core`, so a Rust stream made with `stream_core::stream()`
//! can be handed to C without naming a backend. It fits a C library: its event word is a
//! plain integer (no allocation, nothing to free), an activation with nobody asleep is one
//! atomic add and no syscall, and a waiter sleeps in the kernel after a short spin instead of
//! burning a core (`Spin`) or allocating a waiter list (`Listener`). C has no `Waker`s, so the
//! async capability of `Listener` buys nothing here. A stream made with another backend must
//! not be passed to this library.
//!
//! # Status codes
//!
//! Every export returns an `int32_t` status, except `create` (a pointer, null on failure) and
//! the event getters (a pointer, null for a null handle). Predicates return 1 or 0. Counts and
//! addresses come back through out-parameters.
//!
//! | code | name                   | meaning                                                 |
//! |------|------------------------|---------------------------------------------------------|
//! | 0    | `OK`                   | done                                                    |
//! | -1   | `ERR_NULL`             | a handle, out-parameter or (non-empty) buffer was null  |
//! | -2   | `ERR_CLOSED`           | end closed / end of stream; also a second close         |
//! | -3   | `ERR_BUSY`             | another read (write) is in progress on the end          |
//! | -4   | `ERR_WOULD_BLOCK`      | nothing to do yet: a non-blocking call, or a timeout 0  |
//! | -5   | `ERR_TIMEOUT`          | a positive timeout passed before the condition held     |
//! | -6   | `ERR_INVALID`          | count above the lent capacity or negative, wrong size   |
//! | -7   | `ERR_NOT_PENDING`      | no read pending / no buffer taken                       |
//! | -8   | `ERR_RELEASED`         | every handle of the end the call acts for was released  |
//! | -9   | `ERR_TOO_MANY_HANDLES` | the end's half of `active_instances` is full            |
//! | -10  | `ERR_PANIC`            | a panic inside the library was caught                   |
//!
//! No error changes the stream, except that the operations that close do close. Every export
//! body runs under [`std::panic::catch_unwind`]: no panic crosses the boundary, and no misuse
//! that the library can see aborts the process (only running out of memory for a header
//! does, as in Rust).
//!
//! One rule per situation:
//!
//! * **Timeouts** (`native_stream_wait_read`, `native_stream_wait_writable`,
//!   `native_stream_event_wait`, `native_future_read`), in nanoseconds: a negative timeout
//!   waits until the condition holds; 0 checks once and does not wait, and a check that finds
//!   nothing ready returns `ERR_WOULD_BLOCK` (as the non-blocking calls do); a positive
//!   timeout that passes first returns `ERR_TIMEOUT`. Either way the operation stays as it
//!   was: wait again, or give up (`native_stream_cancel_read` for a pending read).
//! * **Null pointers**: a null handle or out-parameter is `ERR_NULL`; so is a null buffer,
//!   except where the size is 0 and the pointer would only be copied from or to: a zero-size
//!   future is written and read with a null `value`/`out`. A zero-count
//!   `native_stream_start_reading` (a readiness probe) still needs a non-null, aligned
//!   address, because the writer receives it as a buffer address.
//! * **Released ends**: a call that acts for an end (`start_reading`, `read_amount`,
//!   `wait_read`, `cancel_read`, `start_writing`, `finish_writing`, `native_future_read`,
//!   `native_future_write`, and the clones and releases) returns `ERR_RELEASED` once every
//!   handle of that end is released, while the other end keeps the header alive. The closes,
//!   `native_stream_wait_writable` and the predicates report the end as closed, as they do
//!   for any closed end.
//! * **Out-parameters** are written only on `OK`, except `native_stream_wait_read`'s
//!   `*amount`, which is `NATIVE_STREAM_BLOCKED` after `ERR_WOULD_BLOCK` or `ERR_TIMEOUT`.
//!
//! # Misuse that cannot be detected
//!
//! * **A handle used after its last release**, or any pointer that is not a stream: the
//!   memory is freed (or never was a stream), and any check would itself read freed memory.
//!   Handles are bare header pointers so that C and Rust share one object with no
//!   indirection; a registry of live streams would cost a global lock on every call and
//!   still be fooled when the allocator reuses the address.
//! * **Acting for an end one does not hold** while that end has other handles
//!   (`active_instances` counts handles, not holders): releasing a reader handle one never
//!   had is detected only when the reader count is already zero (`ERR_RELEASED`).
//! * **Releasing with the wrong family**: `native_stream_release_*` on a future (or
//!   `native_future_*` on a plain stream or on a Rust `stream_future` future) frees the
//!   allocation with the wrong layout. Nothing in the header records what the allocation
//!   around it is; the stream operations themselves (`start_writing`, `read_amount`, ...)
//!   are fine on a future's header.
//! * **Retaining or releasing the handles of a future created by Rust**
//!   (`stream_future::future_with`) from C, with `native_stream_clone_*`/`release_*` or
//!   `native_future_*`: its allocation is of another family (the Rust future's own block,
//!   which its last Rust handle frees), so C may only act on its header with the stream
//!   operations while a Rust handle keeps it alive.
//! * **C acting for a Rust handle that is used or dropped meanwhile**: C code that acts for
//!   a Rust `Reader`, `Writer` or future handle (on `reader.raw()` and the like, without a
//!   counted handle of its own) must have that Rust handle kept alive and unused until its
//!   sequence (`start_writing` ... `finish_writing` ... `close_write`, or `start_reading` ...
//!   the read's end) is over: the Rust handle does not know what C started in its name, and
//!   dropping it ends the end's operations, or frees the stream, under C's feet.
//! * **Lending another buffer on a future's header** after its slot's read was ended through
//!   the stream functions: `native_future_write` sees the foreign buffer and refuses it
//!   (`ERR_INVALID`, see its docs), but if a stream writer commits exactly one element into
//!   it, `native_future_read` takes that count as the slot's and copies the slot's bytes.
//! * **`read_amount`/`cancel_read` by a handle that did not start the pending read**: one
//!   read at a time per end is enforced (`ERR_BUSY` on a second `start_reading`), but who
//!   started it is not recorded.
//! * **`finish_writing` without a taken buffer** is detected when no writer holds one
//!   (`ERR_NOT_PENDING`: the phase is not "writing"); with several writer handles, a buffer
//!   taken by *another* handle is not told apart from one's own: who took it is not
//!   recorded.
//! * **A buffer freed or too small** for the lent count: the library never dereferences it,
//!   the peer does.
//! * **A future's element size that differs from the Rust peer's `T`**, and a stream made with
//!   a backend other than `Futex`.
//! * **A condition callback that unwinds** (a C++ exception) through `native_stream_event_wait`.
//! * **`cancel_read` on the thread that holds the taken buffer**: the cancel waits for the
//!   writer to commit or return it (a writer never blocks while it holds one), so it waits
//!   forever when the writer is the cancelling thread itself.
//!
//! # Events and event loops
//!
//! `native_stream_read_ready_event`/`write_ready_event` return a pointer to the event word;
//! `native_stream_event_activate` wakes its waiters and `native_stream_event_wait` blocks
//! until a condition callback returns non-zero or a timeout passes (the timeout rule above).
//! `native_stream_wait_read` and `native_stream_wait_writable` are the two waits a reader
//! and a writer need, with the conditions built in.
//!
//! To plug a stream into the caller's own event loop (poll/epoll/kqueue, a GUI loop):
//!
//! 1. **Poll**: every non-blocking call is cheap (one atomic load or RMW, no syscall):
//!    `native_stream_read_amount` returns `NATIVE_STREAM_BLOCKED` while a read is pending,
//!    `native_stream_start_writing` returns `ERR_WOULD_BLOCK` while no buffer is lent, and
//!    `native_stream_is_ready_to_write`/`native_future_is_ready` are predicates. Call them
//!    on each turn of the loop, or after any wake-up of it.
//! 2. **Bridge thread**: for a loop that sleeps on file descriptors, run a thread that
//!    calls `native_stream_wait_read` (or `native_stream_event_wait` with the loop's
//!    condition) and then writes to the loop's `eventfd`/pipe; the loop then polls as in 1.
//!
//! The futex backend keeps no file descriptor, so there is none to hand out directly.
//!
//! # Futures
//!
//! `native_future_create(size, align)` makes a future of one element of `size` bytes whose
//! slot lives with the header (`stream_core::Shared`) and is lent at creation:
//! `native_future_write` never blocks and closes the writer *end* in the same step (the
//! reader sees the value, then the end), `native_future_read` waits with a timeout. A size of
//! 0 is allowed: such a future carries only the fact that it was written, and is written and
//! read with null pointers.
//!
//! Writing closes the end, not the handle: like every handle, the writer handle is given up
//! only by `native_future_release_writer`, and the future is freed when both its reader and
//! its writer handles are released. The full sequence is
//!
//! ```c
//! native_stream_header *f = native_future_create(sizeof(v), alignof(v));
//! native_future_write(f, &v, sizeof(v));    /* writer side */
//! native_future_release_writer(f);
//! native_future_read(f, &out, sizeof(out), -1); /* reader side */
//! native_future_release_reader(f);
//! ```
//!
//! The `native_future_*` functions work only on futures created by `native_future_create`
//! (the slot's size is stored with it). A Rust `stream_future::FutureReader<T, Futex>` can be
//! written from C with the stream functions on its header (`start_writing`, copy `sizeof(T)`
//! bytes, `finish_writing(1)`, `close_write`) once its Rust writer has called
//! `FutureWriter::allow_raw_writes`, and while that Rust handle keeps it alive. Until then the
//! writer end is the Rust writer's alone: `native_stream_start_writing` returns `ERR_BUSY` and
//! changes nothing.
//!
//! # Features
//!
//! None. The library always uses the `Futex` backend of `stream-events`.
#![warn(clippy::missing_safety_doc)]

mod event;
mod future;
mod open;
mod status;
mod stream;

pub use event::{native_stream_event_activate, native_stream_event_wait, NativeStreamCondition};
pub use future::{
    native_future_clone_reader, native_future_clone_writer, native_future_create,
    native_future_is_ready, native_future_read, native_future_read_ready_event,
    native_future_release_reader, native_future_release_writer, native_future_write,
};
pub use open::{
    native_stream_end_open, native_stream_open_consume, native_stream_open_readable,
    native_stream_start_reading_open, native_stream_wait_open,
};
pub use status::{
    NATIVE_STREAM_ERR_BUSY, NATIVE_STREAM_ERR_CLOSED, NATIVE_STREAM_ERR_INVALID,
    NATIVE_STREAM_ERR_NOT_PENDING, NATIVE_STREAM_ERR_NULL, NATIVE_STREAM_ERR_PANIC,
    NATIVE_STREAM_ERR_RELEASED, NATIVE_STREAM_ERR_TIMEOUT, NATIVE_STREAM_ERR_TOO_MANY_HANDLES,
    NATIVE_STREAM_ERR_WOULD_BLOCK, NATIVE_STREAM_OK, STATUS_CODES,
};
pub use stream::{
    native_stream_cancel_read, native_stream_clone_reader, native_stream_clone_writer,
    native_stream_close_read, native_stream_close_write, native_stream_create,
    native_stream_finish_writing, native_stream_is_read_closed, native_stream_is_read_pending,
    native_stream_is_ready_to_write, native_stream_is_write_closed, native_stream_read_amount,
    native_stream_read_ready_event, native_stream_release_reader, native_stream_release_writer,
    native_stream_start_reading, native_stream_start_writing, native_stream_wait_read,
    native_stream_wait_writable, native_stream_write_ready_event,
};
