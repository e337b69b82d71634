/*
 * native_stream.h - memory layout of a native stream header.
 *
 * Mirrors stream-abi/src/lib.rs (StreamHeader). The layout is pinned on the Rust side with
 * static assertions and checked against this file by stream-abi/tests/c_layout.rs.
 * Fields are accessed only through the library's functions; the header is here so that C
 * code can allocate, embed or inspect it with the same size, alignment and offsets.
 */
#ifndef NATIVE_STREAM_H
#define NATIVE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sentinels of ready_size. */
#define NATIVE_STREAM_CLOSED    PTRDIFF_MIN  /* end of stream: 0x8000...0 */
#define NATIVE_STREAM_BLOCKED   ((ptrdiff_t)-1) /* nothing yet */
#define NATIVE_STREAM_CANCELLED ((ptrdiff_t)0)  /* the read ended with no element */

/* Idle values ("take" swaps a field with its idle value). */
#define NATIVE_STREAM_IDLE_READ_ADDR  ((void *)0)
#define NATIVE_STREAM_IDLE_READ_SIZE  ((size_t)0)
#define NATIVE_STREAM_IDLE_READY_SIZE NATIVE_STREAM_BLOCKED

/* active_instances: reader handles in the low half, writer handles in the high half. */
#define NATIVE_STREAM_ACTIVE_READER_ONE ((size_t)1)
#define NATIVE_STREAM_ACTIVE_WRITER_ONE ((size_t)1 << (sizeof(size_t) * 4))

/* Component Model result encoding: status | count << 4, or BLOCKED. */
#define NATIVE_STREAM_CM_BLOCKED   0xffffffffu
#define NATIVE_STREAM_CM_COMPLETED 0u
#define NATIVE_STREAM_CM_DROPPED   1u
#define NATIVE_STREAM_CM_CANCELLED 2u
#define NATIVE_STREAM_CM_MAX_COUNT ((1u << 28) - 1u)

/* One event word: pointer-sized; its contents belong to the event backend. */
typedef struct native_stream_event_word {
    uintptr_t raw;
} native_stream_event_word;

typedef struct native_stream_header {
    _Alignas(64) native_stream_event_word read_ready; /* data written, ready_size valid */
    native_stream_event_word write_ready;             /* buffer lent, read_addr/read_size valid */
    void *read_addr;                                  /* lent buffer, NULL when idle */
    size_t read_size;                                 /* capacity in elements, 0 when idle */
    ptrdiff_t ready_size;                             /* count or a sentinel */
    size_t active_instances;                          /* handles; freed at zero */
    size_t state;                                     /* protocol state (stream-core) */
    /* The bytes after `state` (tail padding up to 64) are reserved: stream-core lends them as
       a one-element buffer. Do not touch them. */
} native_stream_header;

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_STREAM_H */
