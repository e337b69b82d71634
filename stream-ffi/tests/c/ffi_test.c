/*
 * C side of the stream-ffi tests (built and run by tests/c_programs.rs).
 *
 * Built twice: as a shared object whose functions the Rust test calls in-process (C writer
 * feeding a Rust Reader and the reverse, C writing a Rust future), and, with
 * -DNATIVE_STREAM_TEST_MAIN, as a program (C writer thread feeding a C reader, future round
 * trip, bad-input table) that .ci/run also runs under valgrind.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_stream_ffi.h"

#define READ_CAPACITY 256

/* The checksum both languages compute over the element sequence (order-sensitive). */
static uint64_t mix(uint64_t h, uint64_t v) {
    return h * 31u + (v ^ (v >> 7));
}

/* Writes elements 0..n-1 (uint64_t) into `s`, then releases the caller's writer handle
 * (which closes the writer end if it was the last). */
int32_t c_write_u64(native_stream_header *s, uint64_t n, uint64_t *checksum) {
    uint64_t i = 0, h = 0;
    while (i < n) {
        void *addr = NULL;
        size_t cap = 0;
        int32_t rc = native_stream_start_writing(s, &addr, &cap);
        if (rc == NATIVE_STREAM_ERR_WOULD_BLOCK) {
            rc = native_stream_wait_writable(s, -1);
            if (rc != NATIVE_STREAM_OK) return rc;
            continue;
        }
        if (rc != NATIVE_STREAM_OK) return rc;
        uint64_t *buf = addr;
        size_t k = 0;
        while (k < cap && i < n) {
            buf[k++] = i;
            h = mix(h, i);
            i++;
        }
        /* k == 0 answers a zero-capacity readiness probe. */
        rc = native_stream_finish_writing(s, (ptrdiff_t)k);
        if (rc != NATIVE_STREAM_OK) return rc;
    }
    *checksum = h;
    return native_stream_release_writer(s);
}

/* Reads uint64_t elements from `s` until end of stream, then releases the caller's reader
 * handle. */
int32_t c_read_u64(native_stream_header *s, uint64_t *count, uint64_t *checksum) {
    uint64_t buf[READ_CAPACITY];
    uint64_t n = 0, h = 0;
    for (;;) {
        int32_t rc = native_stream_start_reading(s, buf, READ_CAPACITY);
        if (rc == NATIVE_STREAM_ERR_CLOSED) break;
        if (rc != NATIVE_STREAM_OK) return rc;
        ptrdiff_t amount = NATIVE_STREAM_BLOCKED;
        rc = native_stream_wait_read(s, -1, &amount);
        if (rc != NATIVE_STREAM_OK) return rc;
        if (amount == NATIVE_STREAM_CLOSED) break;
        for (ptrdiff_t k = 0; k < amount; k++) {
            h = mix(h, buf[k]);
        }
        n += (uint64_t)amount;
    }
    *count = n;
    *checksum = h;
    return native_stream_release_reader(s);
}

/* Writes one element of `size` bytes into a Rust future (stream_future::FutureReader) with
 * the stream functions, and closes its writer end. The Rust handles keep it alive. */
int32_t c_write_rust_future(native_stream_header *f, const void *value, size_t size) {
    void *slot = NULL;
    size_t cap = 0;
    int32_t rc = native_stream_start_writing(f, &slot, &cap);
    if (rc != NATIVE_STREAM_OK) return rc;
    if (cap != 1) return NATIVE_STREAM_ERR_INVALID;
    memcpy(slot, value, size);
    rc = native_stream_finish_writing(f, 1);
    if (rc != NATIVE_STREAM_OK) return rc;
    return native_stream_close_write(f);
}

/* ---- Future round trip ---------------------------------------------------------------- */

typedef struct pair {
    uint64_t a;
    double b;
} pair;

static void *future_writer(void *arg) {
    native_stream_header *f = arg;
    pair p = {42, 2.5};
    intptr_t rc = native_future_write(f, &p, sizeof p);
    if (rc == NATIVE_STREAM_OK) rc = native_future_release_writer(f);
    return (void *)rc;
}

static int32_t future_ready(void *ctx) {
    return native_future_is_ready(ctx) == 1;
}

#define EXPECT(cond)                                                                          \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);               \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

/* A C future written on one thread and read on another; then the two "closed" cases. */
int32_t c_future_round_trip(void) {
    native_stream_header *f = native_future_create(sizeof(pair), alignof(pair));
    EXPECT(f != NULL);
    pair out;
    EXPECT(native_future_read(f, &out, sizeof out, 0) == NATIVE_STREAM_ERR_WOULD_BLOCK);
    EXPECT(native_future_is_ready(f) == 0);
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, future_writer, f) == 0);
    /* Wait on the event with our own condition, as an event loop's bridge thread would. */
    EXPECT(native_stream_event_wait(native_future_read_ready_event(f), future_ready, f, -1) ==
           NATIVE_STREAM_OK);
    EXPECT(native_future_read(f, &out, sizeof out, -1) == NATIVE_STREAM_OK);
    EXPECT(out.a == 42 && out.b == 2.5);
    EXPECT(native_future_read(f, &out, sizeof out, -1) == NATIVE_STREAM_ERR_CLOSED);
    void *trc;
    EXPECT(pthread_join(t, &trc) == 0);
    EXPECT((intptr_t)trc == NATIVE_STREAM_OK);
    EXPECT(native_future_release_reader(f) == NATIVE_STREAM_OK);

    /* Writer gone without a value: the reader sees CLOSED. */
    f = native_future_create(sizeof(uint32_t), alignof(uint32_t));
    EXPECT(f != NULL);
    EXPECT(native_future_release_writer(f) == NATIVE_STREAM_OK);
    uint32_t v;
    EXPECT(native_future_read(f, &v, sizeof v, -1) == NATIVE_STREAM_ERR_CLOSED);
    EXPECT(native_future_release_reader(f) == NATIVE_STREAM_OK);

    /* Reader gone first: the write fails, nothing leaks. A written value never read is
     * freed with the future. */
    f = native_future_create(sizeof(uint32_t), alignof(uint32_t));
    EXPECT(f != NULL);
    EXPECT(native_future_release_reader(f) == NATIVE_STREAM_OK);
    v = 7;
    EXPECT(native_future_write(f, &v, sizeof v) == NATIVE_STREAM_ERR_CLOSED);
    EXPECT(native_future_release_writer(f) == NATIVE_STREAM_OK);
    f = native_future_create(sizeof(uint32_t), alignof(uint32_t));
    EXPECT(native_future_write(f, &v, sizeof v) == NATIVE_STREAM_OK);
    EXPECT(native_future_release_writer(f) == NATIVE_STREAM_OK);
    EXPECT(native_future_release_reader(f) == NATIVE_STREAM_OK);
    return 0;
}

/* ---- Bad input ------------------------------------------------------------------------ */

static int failures;

static void row(const char *name, int32_t got, int32_t expected) {
    printf("row %s %d %d\n", name, got, expected);
    if (got != expected) {
        fprintf(stderr, "bad-input row %s: got %d, expected %d\n", name, got, expected);
        failures++;
    }
}

static int32_t never(void *ctx) {
    (void)ctx;
    return 0;
}

/* Every bad input of the issue, with the code it must return; prints one `row` line each and
 * returns the number of mismatches. Every stream is left usable or cleanly closed and is
 * freed at the end (valgrind checks). */
int32_t c_bad_input(void) {
    failures = 0;
    uint64_t buf[4];
    ptrdiff_t amount = 0;
    size_t delivered = 0, cap = 0;
    void *addr = NULL;

    /* Null handles and null arguments. */
    row("null_start_reading", native_stream_start_reading(NULL, buf, 4), NATIVE_STREAM_ERR_NULL);
    row("null_read_amount", native_stream_read_amount(NULL, &amount), NATIVE_STREAM_ERR_NULL);
    row("null_start_writing", native_stream_start_writing(NULL, &addr, &cap),
        NATIVE_STREAM_ERR_NULL);
    row("null_finish_writing", native_stream_finish_writing(NULL, 1), NATIVE_STREAM_ERR_NULL);
    row("null_close_read", native_stream_close_read(NULL), NATIVE_STREAM_ERR_NULL);
    row("null_release_writer", native_stream_release_writer(NULL), NATIVE_STREAM_ERR_NULL);
    row("null_clone_reader", native_stream_clone_reader(NULL), NATIVE_STREAM_ERR_NULL);
    row("null_is_write_closed", native_stream_is_write_closed(NULL), NATIVE_STREAM_ERR_NULL);
    row("null_event", native_stream_read_ready_event(NULL) == NULL ? NATIVE_STREAM_ERR_NULL : 0,
        NATIVE_STREAM_ERR_NULL);
    row("null_event_activate", native_stream_event_activate(NULL), NATIVE_STREAM_ERR_NULL);
    row("null_future_read", native_future_read(NULL, buf, 8, 0), NATIVE_STREAM_ERR_NULL);

    native_stream_header *s = native_stream_create();
    if (s == NULL) return 100;
    row("null_buffer", native_stream_start_reading(s, NULL, 4), NATIVE_STREAM_ERR_NULL);
    row("null_out_param", native_stream_start_writing(s, NULL, &cap), NATIVE_STREAM_ERR_NULL);
    row("null_condition", native_stream_event_wait(native_stream_read_ready_event(s), NULL, NULL, 0),
        NATIVE_STREAM_ERR_NULL);

    /* Nothing pending / nothing lent. */
    row("read_amount_without_read", native_stream_read_amount(s, &amount),
        NATIVE_STREAM_ERR_NOT_PENDING);
    row("cancel_without_read", native_stream_cancel_read(s, &delivered),
        NATIVE_STREAM_ERR_NOT_PENDING);
    row("finish_writing_without_read", native_stream_finish_writing(s, 1),
        NATIVE_STREAM_ERR_NOT_PENDING);
    row("start_writing_nothing_lent", native_stream_start_writing(s, &addr, &cap),
        NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("wait_writable_timeout", native_stream_wait_writable(s, 1000000), NATIVE_STREAM_ERR_TIMEOUT);
    row("wait_writable_timeout_0", native_stream_wait_writable(s, 0),
        NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("event_wait_timeout",
        native_stream_event_wait(native_stream_write_ready_event(s), never, NULL, 1000000),
        NATIVE_STREAM_ERR_TIMEOUT);
    row("event_wait_timeout_0",
        native_stream_event_wait(native_stream_write_ready_event(s), never, NULL, 0),
        NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("start_reading_count_too_big",
        native_stream_start_reading(s, buf, (size_t)PTRDIFF_MAX + 1u), NATIVE_STREAM_ERR_INVALID);

    /* A read pending. */
    row("start_reading", native_stream_start_reading(s, buf, 4), NATIVE_STREAM_OK);
    row("start_reading_while_pending", native_stream_start_reading(s, buf, 4),
        NATIVE_STREAM_ERR_BUSY);
    row("finish_writing_buffer_not_taken", native_stream_finish_writing(s, 1),
        NATIVE_STREAM_ERR_NOT_PENDING);
    row("wait_read_timeout", native_stream_wait_read(s, 1000000, &amount), NATIVE_STREAM_ERR_TIMEOUT);
    row("wait_read_timeout_0", native_stream_wait_read(s, 0, &amount),
        NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("wait_read_timeout_0_blocked", amount == NATIVE_STREAM_BLOCKED ? 0 : -100, 0);
    row("start_writing", native_stream_start_writing(s, &addr, &cap), NATIVE_STREAM_OK);
    row("start_writing_while_writing", native_stream_start_writing(s, &addr, &cap),
        NATIVE_STREAM_ERR_BUSY);
    row("finish_writing_above_capacity", native_stream_finish_writing(s, (ptrdiff_t)cap + 1),
        NATIVE_STREAM_ERR_INVALID);
    row("finish_writing_negative", native_stream_finish_writing(s, -5), NATIVE_STREAM_ERR_INVALID);
    /* Still usable: commit a valid count and read it. */
    ((uint64_t *)addr)[0] = 11;
    ((uint64_t *)addr)[1] = 12;
    row("finish_writing_after_invalid", native_stream_finish_writing(s, 2), NATIVE_STREAM_OK);
    row("read_amount_after_invalid", native_stream_read_amount(s, &amount), NATIVE_STREAM_OK);
    row("amount_is_2", amount == 2 && buf[0] == 11 && buf[1] == 12 ? 0 : -100, 0);

    /* Cancel a read nobody took. */
    row("start_reading_again", native_stream_start_reading(s, buf, 4), NATIVE_STREAM_OK);
    row("cancel_read", native_stream_cancel_read(s, &delivered), NATIVE_STREAM_OK);
    row("cancel_delivered_0", (int32_t)delivered, 0);

    /* Closing twice; a read on a closed stream. */
    row("close_write", native_stream_close_write(s), NATIVE_STREAM_OK);
    row("close_write_twice", native_stream_close_write(s), NATIVE_STREAM_ERR_CLOSED);
    row("finish_writing_closed_twice", native_stream_finish_writing(s, NATIVE_STREAM_CLOSED),
        NATIVE_STREAM_ERR_CLOSED);
    row("read_on_closed_stream", native_stream_start_reading(s, buf, 4), NATIVE_STREAM_ERR_CLOSED);
    row("start_writing_on_closed", native_stream_start_writing(s, &addr, &cap),
        NATIVE_STREAM_ERR_CLOSED);
    row("wait_writable_closed", native_stream_wait_writable(s, -1), NATIVE_STREAM_ERR_CLOSED);
    row("close_read", native_stream_close_read(s), NATIVE_STREAM_OK);
    row("close_read_twice", native_stream_close_read(s), NATIVE_STREAM_ERR_CLOSED);

    /* Released handles: the reader end is gone, the writer handle still holds the stream. */
    row("release_reader", native_stream_release_reader(s), NATIVE_STREAM_OK);
    row("release_reader_twice", native_stream_release_reader(s), NATIVE_STREAM_ERR_RELEASED);
    row("clone_released_reader", native_stream_clone_reader(s), NATIVE_STREAM_ERR_RELEASED);
    row("start_reading_released", native_stream_start_reading(s, buf, 4),
        NATIVE_STREAM_ERR_RELEASED);
    row("read_amount_released", native_stream_read_amount(s, &amount), NATIVE_STREAM_ERR_RELEASED);
    row("wait_read_released", native_stream_wait_read(s, 0, &amount), NATIVE_STREAM_ERR_RELEASED);
    row("cancel_read_released", native_stream_cancel_read(s, &delivered),
        NATIVE_STREAM_ERR_RELEASED);
    row("clone_writer", native_stream_clone_writer(s), NATIVE_STREAM_OK);
    row("release_writer_clone", native_stream_release_writer(s), NATIVE_STREAM_OK);
    row("release_writer_last", native_stream_release_writer(s), NATIVE_STREAM_OK);
    /* `s` is freed now: using it would be the undetectable use-after-release. */

    /* A read ended by the reader end closing before the writer took the buffer. */
    s = native_stream_create();
    if (s == NULL) return 100;
    row("start_reading_2", native_stream_start_reading(s, buf, 4), NATIVE_STREAM_OK);
    row("close_write_2", native_stream_close_write(s), NATIVE_STREAM_OK);
    row("read_amount_closed", native_stream_read_amount(s, &amount), NATIVE_STREAM_OK);
    row("amount_is_closed", amount == NATIVE_STREAM_CLOSED ? 0 : -100, 0);
    row("release_writer_2", native_stream_release_writer(s), NATIVE_STREAM_OK);
    row("release_reader_2", native_stream_release_reader(s), NATIVE_STREAM_OK);

    /* A writer released while holding a buffer returns it; the reader's read ends closed. */
    s = native_stream_create();
    if (s == NULL) return 100;
    row("start_reading_3", native_stream_start_reading(s, buf, 4), NATIVE_STREAM_OK);
    row("start_writing_3", native_stream_start_writing(s, &addr, &cap), NATIVE_STREAM_OK);
    row("release_writer_holding", native_stream_release_writer(s), NATIVE_STREAM_OK);
    row("wait_read_writer_gone", native_stream_wait_read(s, -1, &amount), NATIVE_STREAM_OK);
    row("amount_is_closed_3", amount == NATIVE_STREAM_CLOSED ? 0 : -100, 0);
    row("release_reader_3", native_stream_release_reader(s), NATIVE_STREAM_OK);

    /* Futures. */
    native_stream_header *f = native_future_create(8, 8);
    if (f == NULL) return 100;
    row("future_bad_align", native_future_create(8, 3) == NULL ? NATIVE_STREAM_ERR_INVALID : 0,
        NATIVE_STREAM_ERR_INVALID);
    row("future_write_wrong_size", native_future_write(f, buf, 4), NATIVE_STREAM_ERR_INVALID);
    row("future_write_null", native_future_write(f, NULL, 8), NATIVE_STREAM_ERR_NULL);
    row("future_read_wrong_size", native_future_read(f, buf, 16, 0), NATIVE_STREAM_ERR_INVALID);
    buf[0] = 5;
    row("future_write", native_future_write(f, buf, 8), NATIVE_STREAM_OK);
    row("future_write_twice", native_future_write(f, buf, 8), NATIVE_STREAM_ERR_CLOSED);
    row("future_read", native_future_read(f, &buf[1], 8, 0), NATIVE_STREAM_OK);
    row("future_read_twice", native_future_read(f, &buf[1], 8, 0), NATIVE_STREAM_ERR_CLOSED);
    row("future_release_writer", native_future_release_writer(f), NATIVE_STREAM_OK);
    row("future_release_writer_twice", native_future_release_writer(f), NATIVE_STREAM_ERR_RELEASED);
    row("future_write_released", native_future_write(f, buf, 8), NATIVE_STREAM_ERR_RELEASED);
    row("future_release_reader", native_future_release_reader(f), NATIVE_STREAM_OK);

    /* A value delivered through the stream functions is not overwritten by a later
     * native_future_write (which used to copy before it looked at the phase). */
    uint64_t first = 0x1111222233334444u, second = 0x5555666677778888u, got = 0;
    f = native_future_create(8, 8);
    if (f == NULL) return 100;
    row("delivered_start_writing", native_stream_start_writing(f, &addr, &cap), NATIVE_STREAM_OK);
    row("delivered_capacity", (int32_t)cap, 1);
    memcpy(addr, &first, sizeof first);
    row("delivered_finish_writing", native_stream_finish_writing(f, 1), NATIVE_STREAM_OK);
    row("delivered_future_write", native_future_write(f, &second, 8), NATIVE_STREAM_ERR_CLOSED);
    row("delivered_close_write", native_stream_close_write(f), NATIVE_STREAM_OK);
    row("delivered_future_write_closed", native_future_write(f, &second, 8),
        NATIVE_STREAM_ERR_CLOSED);
    row("delivered_future_read", native_future_read(f, &got, 8, 0), NATIVE_STREAM_OK);
    row("delivered_first_value", got == first ? 0 : -100, 0);
    row("delivered_release_writer", native_future_release_writer(f), NATIVE_STREAM_OK);
    row("delivered_release_reader", native_future_release_reader(f), NATIVE_STREAM_OK);

    /* native_future_write while a start_writing holds the slot: BUSY, and the held write
     * still finishes and is read. */
    f = native_future_create(8, 8);
    if (f == NULL) return 100;
    row("held_start_writing", native_stream_start_writing(f, &addr, &cap), NATIVE_STREAM_OK);
    memcpy(addr, &first, sizeof first);
    row("held_future_write", native_future_write(f, &second, 8), NATIVE_STREAM_ERR_BUSY);
    row("held_not_ready", native_future_read(f, &got, 8, 0), NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("held_finish_writing", native_stream_finish_writing(f, 1), NATIVE_STREAM_OK);
    row("held_close_write", native_stream_close_write(f), NATIVE_STREAM_OK);
    got = 0;
    row("held_future_read", native_future_read(f, &got, 8, -1), NATIVE_STREAM_OK);
    row("held_first_value", got == first ? 0 : -100, 0);
    row("held_release_writer", native_future_release_writer(f), NATIVE_STREAM_OK);
    row("held_release_reader", native_future_release_reader(f), NATIVE_STREAM_OK);

    /* A zero-size future needs no pointers; a null pointer with a size does. */
    f = native_future_create(0, 1);
    if (f == NULL) return 100;
    row("zero_size_read_timeout_0", native_future_read(f, NULL, 0, 0),
        NATIVE_STREAM_ERR_WOULD_BLOCK);
    row("zero_size_read_timeout", native_future_read(f, NULL, 0, 1000000),
        NATIVE_STREAM_ERR_TIMEOUT);
    row("zero_size_write", native_future_write(f, NULL, 0), NATIVE_STREAM_OK);
    row("zero_size_read", native_future_read(f, NULL, 0, -1), NATIVE_STREAM_OK);
    row("zero_size_read_twice", native_future_read(f, NULL, 0, -1), NATIVE_STREAM_ERR_CLOSED);
    row("zero_size_release_writer", native_future_release_writer(f), NATIVE_STREAM_OK);
    row("zero_size_release_reader", native_future_release_reader(f), NATIVE_STREAM_OK);
    f = native_future_create(8, 8);
    if (f == NULL) return 100;
    row("future_read_null_out", native_future_read(f, NULL, 8, 0), NATIVE_STREAM_ERR_NULL);
    row("future_release_reader_first", native_future_release_reader(f), NATIVE_STREAM_OK);
    row("future_read_released", native_future_read(f, &got, 8, 0), NATIVE_STREAM_ERR_RELEASED);
    row("future_release_writer_last", native_future_release_writer(f), NATIVE_STREAM_OK);

    return failures;
}

#ifdef NATIVE_STREAM_TEST_MAIN

typedef struct writer_args {
    native_stream_header *s;
    uint64_t n;
    uint64_t checksum;
    int32_t rc;
} writer_args;

static void *writer_thread(void *arg) {
    writer_args *w = arg;
    w->rc = c_write_u64(w->s, w->n, &w->checksum);
    return NULL;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000u;

    native_stream_header *s = native_stream_create();
    EXPECT(s != NULL);
    writer_args w = {s, n, 0, -100};
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, writer_thread, &w) == 0);
    uint64_t count = 0, checksum = 0;
    int32_t rc = c_read_u64(s, &count, &checksum);
    EXPECT(pthread_join(t, NULL) == 0);
    EXPECT(rc == NATIVE_STREAM_OK);
    EXPECT(w.rc == NATIVE_STREAM_OK);
    EXPECT(count == n);
    EXPECT(checksum == w.checksum);
    printf("stream %" PRIu64 " elements checksum %" PRIu64 "\n", count, checksum);

    EXPECT(c_future_round_trip() == 0);
    printf("future ok\n");

    int bad = c_bad_input();
    EXPECT(bad == 0);
    printf("bad input ok\n");
    return 0;
}

#endif
