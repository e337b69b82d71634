/*
 * native_stream_ffi.h - the C interface of native streams and futures (stream-ffi).
 *
 * Hand-written; tests/exports.rs checks that the function list equals the library's exports
 * and wit/native-stream.wit, and tests/c_programs.rs compiles it with -Wall -Werror.
 * The layout part is stream-abi's native_stream.h (included below).
 *
 * Handles are `native_stream_header *`: create returns one reader and one writer handle on
 * the same pointer; clone_reader/clone_writer add one, release_reader/release_writer give one
 * up. Buffers are `void *` with counts in elements; the element size is agreed between the
 * two sides and never looked at by the library.
 *
 * Every function returns a status (NATIVE_STREAM_OK or a negative NATIVE_STREAM_ERR_*),
 * except create (NULL on failure) and the event getters (NULL for a NULL handle); the
 * predicates return 1 or 0. Timeouts are in nanoseconds: negative waits forever, 0 does not
 * wait. The crate docs of stream-ffi (src/lib.rs) describe each code, the misuse that cannot
 * be detected, and how to use the events from an event loop.
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
#define NATIVE_STREAM_ERR_WOULD_BLOCK        (-4)  /* nothing to do yet (non-blocking call) */
#define NATIVE_STREAM_ERR_TIMEOUT            (-5)  /* the wait timed out */
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
 * is pending). End the read with read_amount / wait_read (a count or NATIVE_STREAM_CLOSED)
 * or cancel_read before touching the buffer again. */
int32_t native_stream_start_reading(native_stream_header *s, void *addr, size_t count);
/* *amount = count, NATIVE_STREAM_CLOSED (read ended empty) or NATIVE_STREAM_BLOCKED. */
int32_t native_stream_read_amount(native_stream_header *s, ptrdiff_t *amount);
/* As read_amount, waiting up to timeout_ns; ERR_TIMEOUT while still pending. */
int32_t native_stream_wait_read(native_stream_header *s, int64_t timeout_ns, ptrdiff_t *amount);
/* Ends the pending read; *delivered (optional) = elements delivered. */
int32_t native_stream_cancel_read(native_stream_header *s, size_t *delivered);

/* Writer: take the lent buffer (ERR_WOULD_BLOCK when none is lent). */
int32_t native_stream_start_writing(native_stream_header *s, void **addr, size_t *capacity);
/* Wait until a buffer is lent (OK) or an end closes (ERR_CLOSED), up to timeout_ns. */
int32_t native_stream_wait_writable(native_stream_header *s, int64_t timeout_ns);
/* Commit `count` elements (0 returns the buffer; NATIVE_STREAM_CLOSED closes the writer end).
 * ERR_INVALID above the capacity: the buffer stays taken. */
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
/* Blocks until cond(ctx) != 0 (OK) or timeout_ns passes (ERR_TIMEOUT). */
int32_t native_stream_event_wait(native_stream_event_word *e, native_stream_condition cond,
                                 void *ctx, int64_t timeout_ns);

/* ---- Futures: one element of `size` bytes, slot lent at creation ---------------------- */

native_stream_header *native_future_create(size_t size, size_t align);
/* Never blocks; closes the writer end. ERR_CLOSED if the reader is gone or already written. */
int32_t native_future_write(native_stream_header *f, const void *value, size_t size);
/* ERR_CLOSED without a value; ERR_WOULD_BLOCK (timeout 0) / ERR_TIMEOUT before the write. */
int32_t native_future_read(native_stream_header *f, void *out, size_t size, int64_t timeout_ns);
int32_t native_future_is_ready(native_stream_header *f);
native_stream_event_word *native_future_read_ready_event(native_stream_header *f);
int32_t native_future_clone_reader(native_stream_header *f);
int32_t native_future_clone_writer(native_stream_header *f);
int32_t native_future_release_reader(native_stream_header *f);
int32_t native_future_release_writer(native_stream_header *f);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_STREAM_FFI_H */
