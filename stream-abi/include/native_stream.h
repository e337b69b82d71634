/*
 * native_stream.h - memory layout of a native stream header.
 *
 * Mirrors stream-abi/src/lib.rs (StreamHeader). The layout is pinned on the Rust side with
 * static assertions, here with the static assertions at the end, and checked against this
 * file by stream-abi/tests/c_layout.rs. Fields are accessed only through the library's
 * functions; the header is here so that C and C++ code can allocate, embed or inspect it
 * with the same size, alignment and offsets.
 *
 * Valid C11 and C++11 (and later): the alignment and the assertions use the spelling of
 * the language that includes it.
 */
#ifndef NATIVE_STREAM_H
#define NATIVE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define NATIVE_STREAM_ALIGNAS(n) alignas(n)
#define NATIVE_STREAM_ALIGNOF(t) alignof(t)
#define NATIVE_STREAM_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define NATIVE_STREAM_ALIGNAS(n) _Alignas(n)
#define NATIVE_STREAM_ALIGNOF(t) _Alignof(t)
#define NATIVE_STREAM_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

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
    NATIVE_STREAM_ALIGNAS(64) native_stream_event_word read_ready; /* ready_size valid */
    native_stream_event_word write_ready;             /* buffer lent, read_addr/read_size valid */
    void *read_addr;                                  /* lent buffer, NULL when idle */
    size_t read_size;                                 /* capacity in elements, 0 when idle */
    ptrdiff_t ready_size;                             /* count or a sentinel */
    size_t active_instances;                          /* handles; freed at zero */
    size_t state;                                     /* protocol state (stream-core) */
    /* The bytes after `state` (tail padding up to 64) are reserved: stream-core lends them as
       a one-element buffer. Do not touch them. */
} native_stream_header;

/* An open lend (docs/design.md, "The open lend"): a ring of `capacity` elements (a power of
 * two) of `element_size` bytes at `buffer`, which the reader lends once and the writer keeps
 * writing into. While it is lent, `read_addr` points to this descriptor, `ready_size` is the
 * writer's position (elements published, wrapping) and the header's tail word the reader's
 * position (elements consumed); element i of the stream is at
 * buffer + (i % capacity) * element_size. A writer sees nothing of this: its take hands out
 * the free part of the ring as a buffer. Lend it with native_stream_start_reading_open. */
typedef struct native_stream_open_lend {
    void *buffer;        /* the ring's first element */
    size_t capacity;     /* elements in the ring: a power of two */
    size_t element_size; /* bytes per element */
} native_stream_open_lend;

NATIVE_STREAM_STATIC_ASSERT(sizeof(native_stream_open_lend) == 3 * sizeof(void *),
                            "an open lend is three words");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_open_lend, element_size) ==
                                2 * sizeof(void *),
                            "element_size is word 2");

/* The layout of stream-abi's StreamHeader: 64 bytes aligned to 64, one pointer-sized word
 * per field. */
NATIVE_STREAM_STATIC_ASSERT(sizeof(native_stream_event_word) == sizeof(void *),
                            "an event word is one pointer");
NATIVE_STREAM_STATIC_ASSERT(sizeof(native_stream_header) == 64, "the header is 64 bytes");
NATIVE_STREAM_STATIC_ASSERT(NATIVE_STREAM_ALIGNOF(native_stream_header) == 64,
                            "the header is aligned to 64 bytes");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, read_ready) == 0 * sizeof(void *),
                            "read_ready is word 0");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, write_ready) == 1 * sizeof(void *),
                            "write_ready is word 1");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, read_addr) == 2 * sizeof(void *),
                            "read_addr is word 2");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, read_size) == 3 * sizeof(void *),
                            "read_size is word 3");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, ready_size) == 4 * sizeof(void *),
                            "ready_size is word 4");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, active_instances) ==
                                5 * sizeof(void *),
                            "active_instances is word 5");
NATIVE_STREAM_STATIC_ASSERT(offsetof(native_stream_header, state) == 6 * sizeof(void *),
                            "state is word 6");

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_STREAM_H */
