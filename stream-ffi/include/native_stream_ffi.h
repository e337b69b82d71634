/*
 * native_stream_ffi.h - the C interface of native streams and futures (stream-ffi).
 *
 * Hand-written; tests/exports.rs checks that the function list equals wit/native-stream.wit,
 * tests/c_programs.rs that it equals the library's exports, and tests/headers.rs compiles it
 * as C11, C++11 and C++17 with -Wall -Wextra -Werror. The layout part is stream-abi's
 * native_stream.h (included below).
 *
 * Handles are `native_stream_header *`: create returns one reader and one writer handle on
 * the same pointer; clone_reader/clone_writer add one, release_reader/release_writer give one
 * up. Buffers are `void *` with counts in elements; the element size is agreed between the
 * two sides and never looked at by the library.
 *
 * Every function returns a status (NATIVE_STREAM_OK or a negative NATIVE_STREAM_ERR_*),
 * except create (NULL on failure) and the event getters (NULL for a NULL handle); the
 * predicates return 1 or 0. Out-parameters are written only on NATIVE_STREAM_OK (and
 * wait_read's *amount, which is NATIVE_STREAM_BLOCKED after WOULD_BLOCK or TIMEOUT).
 *
 * One rule per situation:
 *  - Timeouts (wait_read, wait_writable, event_wait, native_future_read) are in nanoseconds:
 *    negative waits until the condition holds; 0 checks once and does not wait, returning
 *    ERR_WOULD_BLOCK when nothing is ready; a positive timeout that passes first returns
 *    ERR_TIMEOUT. Either way nothing changes: wait again or give up.
 *  - A NULL handle, out-parameter or buffer is ERR_NULL, except a zero-size future's value:
 *    native_future_write(f, NULL, 0) and native_future_read(f, NULL, 0, t) are valid. A
 *    zero-count start_reading (a readiness probe) still needs a non-NULL aligned address.
 *  - A call that acts for an end (start_reading, read_amount, wait_read, cancel_read,
 *    start_writing, finish_writing, native_future_read/write, clones, releases) returns
 *    ERR_RELEASED once every handle of that end is released; closes, wait_writable and the
 *    predicates see such an end as closed.
 *  - Closing an end is not releasing a handle: every handle, including a future's writer
 *    handle after native_future_write, is given up only by its release_* call; a stream or
 *    future is freed when all its handles are released.
 *
 * Misuse the library cannot detect (a handle used after its last release, a handle of a
 * Rust-created future retained or released from C, C acting for a Rust handle that is used
 * or dropped meanwhile, ...) is listed in the crate docs of stream-ffi (src/lib.rs), with
 * each code and how to use the events from an event loop.
 */
#ifndef NATIVE_STREAM_FFI_H
#define NATIVE_STREAM_FFI_H

#include <stddef.h>
#include <stdint.h>

#include "native_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define NATIVE_STREAM_OK                     0  /* done (predicates: 0 no, 1 yes) */
#define NATIVE_STREAM_ERR_NULL               (-1)  /* null handle, buffer or out-parameter */
#define NATIVE_STREAM_ERR_CLOSED             (-2)  /* end closed / end of stream / second close */
#define NATIVE_STREAM_ERR_BUSY               (-3)  /* another read (write) in progress */
#define NATIVE_STREAM_ERR_WOULD_BLOCK        (-4)  /* nothing ready yet (or timeout 0) */
#define NATIVE_STREAM_ERR_TIMEOUT            (-5)  /* a positive timeout passed */
#define NATIVE_STREAM_ERR_INVALID            (-6)  /* count above capacity, negative, bad size */
#define NATIVE_STREAM_ERR_NOT_PENDING        (-7)  /* no read pending / no buffer taken */
#define NATIVE_STREAM_ERR_RELEASED           (-8)  /* every handle of that end was released */
#define NATIVE_STREAM_ERR_TOO_MANY_HANDLES   (-9)  /* the end's handle count is full */
#define NATIVE_STREAM_ERR_PANIC              (-10) /* a panic inside the library was caught */

/* A condition for native_stream_event_wait: non-zero once it holds. Must not throw. */
typedef int32_t (*native_stream_condition)(void *ctx);

/* ---- Streams -------------------------------------------------------------------------- */

/* A new stream with one reader and one writer handle; NULL on failure. */
native_stream_header *native_stream_create(void);

/* active_instances: add or give up a handle of one end. The last handle of an end closes
 * it; the last of all frees the stream. ERR_RELEASED when that end has no handle left. */
int32_t native_stream_clone_reader(native_stream_header *s);
int32_t native_stream_clone_writer(native_stream_header *s);
int32_t native_stream_release_reader(native_stream_header *s);
int32_t native_stream_release_writer(native_stream_header *s);

/* Reader: lend `count` elements at `addr` (ERR_CLOSED at end of stream, ERR_BUSY if a read
 * is pending, ERR_INVALID for count > PTRDIFF_MAX). End the read with read_amount /
 * wait_read (a count or NATIVE_STREAM_CLOSED) or cancel_read before touching the buffer
 * again; cancel_read waits for a writer holding the buffer, so never call it on the thread
 * that holds it. */
int32_t native_stream_start_reading(native_stream_header *s, void *addr, size_t count);
/* *amount = count, NATIVE_STREAM_CLOSED (read ended empty) or NATIVE_STREAM_BLOCKED. */
int32_t native_stream_read_amount(native_stream_header *s, ptrdiff_t *amount);
/* As read_amount, waiting up to timeout_ns; ERR_WOULD_BLOCK (0) / ERR_TIMEOUT (> 0) while
 * still pending. */
int32_t native_stream_wait_read(native_stream_header *s, int64_t timeout_ns, ptrdiff_t *amount);
/* Ends the pending read; *delivered (optional) = elements delivered. */
int32_t native_stream_cancel_read(native_stream_header *s, size_t *delivered);

/* Reader, open lend (docs/design.md, "The open lend"): lend the ring *lend describes once
 * (capacity a power of two, else ERR_INVALID; descriptor and ring valid until end_open); the
 * writer keeps publishing into it, commit after commit. Published elements are at positions
 * position .. position + available (slot i % capacity). While it is open, read_amount,
 * wait_read and cancel_read answer ERR_INVALID; the functions below answer ERR_NOT_PENDING
 * when no open lend is pending. */
int32_t native_stream_start_reading_open(native_stream_header *s,
                                         const native_stream_open_lend *lend);
/* ERR_CLOSED when nothing is available and an end closed (end of stream). */
int32_t native_stream_open_readable(native_stream_header *s, size_t *position,
                                    size_t *available);
/* Frees `count` consumed slots for the writer (ERR_INVALID above *available). */
int32_t native_stream_open_consume(native_stream_header *s, size_t count);
/* As open_readable, waiting up to timeout_ns for something to be available. */
int32_t native_stream_wait_open(native_stream_header *s, int64_t timeout_ns, size_t *position,
                                size_t *available);
/* Ends the lend (waiting up to timeout_ns while the writer holds the ring); elements at
 * *position .. *written are published and unconsumed, the caller's with the ring. */
int32_t native_stream_end_open(native_stream_header *s, int64_t timeout_ns, size_t *position,
                               size_t *written);

/* Writer: take the lent buffer (ERR_WOULD_BLOCK when none is lent). */
int32_t native_stream_start_writing(native_stream_header *s, void **addr, size_t *capacity);
/* Wait until a buffer is lent (OK) or an end closes (ERR_CLOSED), up to timeout_ns
 * (ERR_WOULD_BLOCK for 0, ERR_TIMEOUT for a positive timeout). */
int32_t native_stream_wait_writable(native_stream_header *s, int64_t timeout_ns);
/* Commit `count` elements (0 returns the buffer; NATIVE_STREAM_CLOSED closes the writer end).
 * ERR_INVALID above the capacity: the buffer stays taken. On an open lend the capacity is
 * the free region as it is at this call (at least what start_writing handed out). */
int32_t native_stream_finish_writing(native_stream_header *s, ptrdiff_t count);

/* Close one end (ERR_CLOSED if already closed). */
int32_t native_stream_close_read(native_stream_header *s);
int32_t native_stream_close_write(native_stream_header *s);

/* Predicates: 1 or 0 (or ERR_NULL). */
int32_t native_stream_is_ready_to_write(native_stream_header *s);
int32_t native_stream_is_write_closed(native_stream_header *s);
int32_t native_stream_is_read_closed(native_stream_header *s);
int32_t native_stream_is_read_pending(native_stream_header *s);

/* The two events, valid while the stream lives. */
native_stream_event_word *native_stream_read_ready_event(native_stream_header *s);
native_stream_event_word *native_stream_write_ready_event(native_stream_header *s);

/* ---- Events --------------------------------------------------------------------------- */

int32_t native_stream_event_activate(native_stream_event_word *e);
/* Blocks until cond(ctx) != 0 (OK) or timeout_ns passes (ERR_WOULD_BLOCK for 0,
 * ERR_TIMEOUT for a positive timeout). */
int32_t native_stream_event_wait(native_stream_event_word *e, native_stream_condition cond,
                                 void *ctx, int64_t timeout_ns);

/* ---- Futures: one element of `size` bytes, slot lent at creation ---------------------- */

/* NULL for a bad alignment or a size that cannot be allocated. size 0 is allowed. */
native_stream_header *native_future_create(size_t size, size_t align);
/* Never blocks. Closes the writer END (the reader sees the value, then the end) but not the
 * writer HANDLE: call native_future_release_writer afterwards as always. ERR_CLOSED if the
 * reader is gone or a value was delivered already (also through the stream functions);
 * ERR_BUSY while another writer holds the slot (start_writing .. finish_writing).
 * `value` may be NULL only when size is 0. */
int32_t native_future_write(native_stream_header *f, const void *value, size_t size);
/* ERR_CLOSED without a value; ERR_WOULD_BLOCK (timeout 0) / ERR_TIMEOUT (> 0) before the
 * write. `out` may be NULL only when size is 0. */
int32_t native_future_read(native_stream_header *f, void *out, size_t size, int64_t timeout_ns);
int32_t native_future_is_ready(native_stream_header *f);
native_stream_event_word *native_future_read_ready_event(native_stream_header *f);
int32_t native_future_clone_reader(native_stream_header *f);
int32_t native_future_clone_writer(native_stream_header *f);
/* Give up a handle; the future is freed when both its reader and writer handles are
 * released (a written future too). Only for futures from native_future_create. */
int32_t native_future_release_reader(native_stream_header *f);
int32_t native_future_release_writer(native_stream_header *f);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_STREAM_FFI_H */
