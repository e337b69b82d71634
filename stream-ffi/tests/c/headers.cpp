/*
 * C++ user of both headers (built as C++11 and C++17 and run by tests/headers.rs).
 *
 * Prints the header's layout and status codes as the C++ compiler sees them (the Rust test
 * compares them with the Rust values), then drives a stream with a writer on a std::thread
 * and a future through the library, checking every status code. Exits non-zero on the
 * first mismatch.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>

#include "native_stream_ffi.h"

#define EXPECT(cond)                                                                          \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);          \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

static_assert(sizeof(native_stream_header) == 64, "64-byte header");
static_assert(alignof(native_stream_header) == 64, "64-byte alignment");

namespace {

struct pair {
    std::uint64_t a;
    double b;
};

constexpr std::size_t kElements = 5;

/* Waits for the reader's buffer, fills it with 3 * i and commits; returns the status. */
std::int32_t write_elements(native_stream_header *s) {
    std::int32_t rc = native_stream_wait_writable(s, -1);
    if (rc != NATIVE_STREAM_OK) return rc;
    void *addr = nullptr;
    std::size_t cap = 0;
    rc = native_stream_start_writing(s, &addr, &cap);
    if (rc != NATIVE_STREAM_OK) return rc;
    if (cap < kElements) return NATIVE_STREAM_ERR_INVALID;
    std::uint32_t *buf = static_cast<std::uint32_t *>(addr);
    for (std::size_t i = 0; i < kElements; i++) buf[i] = static_cast<std::uint32_t>(3 * i);
    rc = native_stream_finish_writing(s, static_cast<std::ptrdiff_t>(kElements));
    if (rc != NATIVE_STREAM_OK) return rc;
    return native_stream_close_write(s);
}

int print_layout_and_codes() {
    std::printf("size %zu\n", sizeof(native_stream_header));
    std::printf("align %zu\n", alignof(native_stream_header));
    std::printf("offsets %zu %zu %zu %zu %zu %zu %zu\n",
                offsetof(native_stream_header, read_ready),
                offsetof(native_stream_header, write_ready),
                offsetof(native_stream_header, read_addr),
                offsetof(native_stream_header, read_size),
                offsetof(native_stream_header, ready_size),
                offsetof(native_stream_header, active_instances),
                offsetof(native_stream_header, state));
    std::printf("sentinels %td %td %td\n", NATIVE_STREAM_CLOSED, NATIVE_STREAM_BLOCKED,
                NATIVE_STREAM_CANCELLED);
    std::printf("code NATIVE_STREAM_OK %d\n", NATIVE_STREAM_OK);
    std::printf("code NATIVE_STREAM_ERR_NULL %d\n", NATIVE_STREAM_ERR_NULL);
    std::printf("code NATIVE_STREAM_ERR_CLOSED %d\n", NATIVE_STREAM_ERR_CLOSED);
    std::printf("code NATIVE_STREAM_ERR_BUSY %d\n", NATIVE_STREAM_ERR_BUSY);
    std::printf("code NATIVE_STREAM_ERR_WOULD_BLOCK %d\n", NATIVE_STREAM_ERR_WOULD_BLOCK);
    std::printf("code NATIVE_STREAM_ERR_TIMEOUT %d\n", NATIVE_STREAM_ERR_TIMEOUT);
    std::printf("code NATIVE_STREAM_ERR_INVALID %d\n", NATIVE_STREAM_ERR_INVALID);
    std::printf("code NATIVE_STREAM_ERR_NOT_PENDING %d\n", NATIVE_STREAM_ERR_NOT_PENDING);
    std::printf("code NATIVE_STREAM_ERR_RELEASED %d\n", NATIVE_STREAM_ERR_RELEASED);
    std::printf("code NATIVE_STREAM_ERR_TOO_MANY_HANDLES %d\n",
                NATIVE_STREAM_ERR_TOO_MANY_HANDLES);
    std::printf("code NATIVE_STREAM_ERR_PANIC %d\n", NATIVE_STREAM_ERR_PANIC);
    return 0;
}

int stream_round_trip() {
    native_stream_header *s = native_stream_create();
    EXPECT(s != nullptr);
    std::uint32_t buf[8];
    std::memset(buf, 0xff, sizeof buf);
    EXPECT(native_stream_start_reading(s, buf, 8) == NATIVE_STREAM_OK);
    EXPECT(native_stream_start_reading(s, buf, 8) == NATIVE_STREAM_ERR_BUSY);
    EXPECT(native_stream_is_read_pending(s) == 1);
    std::int32_t writer_rc = -100;
    std::thread writer([s, &writer_rc] { writer_rc = write_elements(s); });
    std::ptrdiff_t amount = NATIVE_STREAM_BLOCKED;
    EXPECT(native_stream_wait_read(s, -1, &amount) == NATIVE_STREAM_OK);
    writer.join();
    EXPECT(writer_rc == NATIVE_STREAM_OK);
    EXPECT(amount == static_cast<std::ptrdiff_t>(kElements));
    for (std::size_t i = 0; i < kElements; i++) EXPECT(buf[i] == 3 * i);
    EXPECT(buf[kElements] == 0xffffffffu);
    /* End of stream. */
    EXPECT(native_stream_start_reading(s, buf, 8) == NATIVE_STREAM_ERR_CLOSED);
    EXPECT(native_stream_is_write_closed(s) == 1);
    EXPECT(native_stream_release_writer(s) == NATIVE_STREAM_OK);
    EXPECT(native_stream_release_reader(s) == NATIVE_STREAM_OK);
    EXPECT(native_stream_start_reading(nullptr, buf, 8) == NATIVE_STREAM_ERR_NULL);
    return 0;
}

int future_round_trip() {
    native_stream_header *f = native_future_create(sizeof(pair), alignof(pair));
    EXPECT(f != nullptr);
    pair out{0, 0.0};
    EXPECT(native_future_read(f, &out, sizeof out, 0) == NATIVE_STREAM_ERR_WOULD_BLOCK);
    EXPECT(native_future_read(f, &out, sizeof out, 1000000) == NATIVE_STREAM_ERR_TIMEOUT);
    const pair in{42, 2.5};
    EXPECT(native_future_write(f, &in, sizeof in) == NATIVE_STREAM_OK);
    EXPECT(native_future_write(f, &in, sizeof in) == NATIVE_STREAM_ERR_CLOSED);
    EXPECT(native_future_release_writer(f) == NATIVE_STREAM_OK);
    EXPECT(native_future_is_ready(f) == 1);
    EXPECT(native_future_read(f, &out, sizeof out, -1) == NATIVE_STREAM_OK);
    EXPECT(out.a == 42 && out.b == 2.5);
    EXPECT(native_future_read(f, &out, sizeof out, -1) == NATIVE_STREAM_ERR_CLOSED);
    EXPECT(native_future_release_reader(f) == NATIVE_STREAM_OK);
    return 0;
}

}  // namespace

int main() {
    if (print_layout_and_codes() != 0) return 1;
    if (stream_round_trip() != 0) return 1;
    std::printf("stream ok\n");
    if (future_round_trip() != 0) return 1;
    std::printf("future ok\n");
    return 0;
}
