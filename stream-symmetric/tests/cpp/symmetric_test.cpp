// The runtime driven from C++ through include/symmetric_stream.h, linked with
// -l symmetric_stream: writer and reader callbacks through register/run, a block-on loop on
// two threads, close-read, end of stream, a timeout, and 1000 streams on one executor.
// Exits 0 when every check passed; prints each failure.
#include "symmetric_stream.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#define EXEC(x) symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00##x
#define STRM(x) symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00##x

static int failures = 0;
static int checks = 0;
#define CHECK(c)                                                          \
    do {                                                                  \
        ++checks;                                                         \
        if (!(c)) {                                                       \
            ++failures;                                                   \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
        }                                                                 \
    } while (0)

typedef uint8_t *handle;

static handle stream_new() { return STRM(X5BconstructorX5Dstream_obj)(); }
static handle stream_clone(handle s) { return STRM(X5BmethodX5Dstream_objX2Eclone)(s); }
static void stream_drop(handle s) { STRM(X5Bresource_dropX5Dstream_obj)(s); }
static handle buffer_new(void *addr, uint64_t cap) {
    return STRM(X5BconstructorX5Dbuffer)(static_cast<uint8_t *>(addr), static_cast<int64_t>(cap));
}
static void buffer_drop(handle b) { STRM(X5Bresource_dropX5Dbuffer)(b); }
static uint64_t *buffer_u64(handle b) {
    return reinterpret_cast<uint64_t *>(STRM(X5BmethodX5DbufferX2Eget_address)(b));
}
static uint64_t buffer_size(handle b) { return static_cast<uint64_t>(STRM(X5BmethodX5DbufferX2Eget_size)(b)); }
static uint64_t buffer_capacity(handle b) { return static_cast<uint64_t>(STRM(X5BmethodX5DbufferX2Ecapacity)(b)); }
static void buffer_set_size(handle b, uint64_t n) { STRM(X5BmethodX5DbufferX2Eset_size)(b, static_cast<int64_t>(n)); }
static bool is_write_closed(handle s) { return STRM(X5BmethodX5Dstream_objX2Eis_write_closed)(s) != 0; }
static bool is_read_closed(handle s) { return STRM(X5BmethodX5Dstream_objX2Eis_read_closed)(s) != 0; }

// result<_, buffer>: 0 ok, else *back = the buffer.
static int start_reading(handle s, handle b, handle *back) {
    SYMMETRIC_RET_AREA r;
    STRM(X5BmethodX5Dstream_objX2Estart_reading)(s, b, reinterpret_cast<uint8_t *>(&r));
    if (*reinterpret_cast<uint8_t *>(&r) == 0) return 0;
    *back = static_cast<handle>(r.word[1]);
    return 1;
}
// option<buffer>
static handle read_result(handle s) {
    SYMMETRIC_RET_AREA r;
    STRM(X5BmethodX5Dstream_objX2Eread_result)(s, reinterpret_cast<uint8_t *>(&r));
    return *reinterpret_cast<uint8_t *>(&r) == 0 ? nullptr : static_cast<handle>(r.word[1]);
}
// result<buffer, stream-state>: the buffer, or null with *state set.
static handle start_writing(handle s, int *state) {
    SYMMETRIC_RET_AREA r;
    STRM(X5BmethodX5Dstream_objX2Estart_writing)(s, reinterpret_cast<uint8_t *>(&r));
    if (*reinterpret_cast<uint8_t *>(&r) == 0) return static_cast<handle>(r.word[1]);
    *state = *reinterpret_cast<uint8_t *>(&r.word[1]);
    return nullptr;
}
static void finish_writing(handle s, handle b) {
    STRM(X5BmethodX5Dstream_objX2Efinish_writing)(s, b ? 1 : 0, b);
}
// list<buffer>: returns the buffers, frees the list as generated C++ code does.
static std::vector<handle> close_read(handle s) {
    SYMMETRIC_RET_AREA r;
    STRM(X5BmethodX5Dstream_objX2Eclose_read)(s, reinterpret_cast<uint8_t *>(&r));
    handle *list = static_cast<handle *>(r.word[0]);
    size_t len = reinterpret_cast<size_t>(r.word[1]);
    std::vector<handle> v(list, list + len);
    std::free(list);
    return v;
}
static handle read_ready(handle s) { return STRM(X5BmethodX5Dstream_objX2Eread_ready_subscribe)(s); }
static handle write_ready(handle s) { return STRM(X5BmethodX5Dstream_objX2Ewrite_ready_subscribe)(s); }
static void reg(handle sub, symmetric_callback_fn f, void *data) {
    EXEC(X5Bresource_dropX5Dcallback_registration)(
        EXEC(register)(sub, reinterpret_cast<uint8_t *>(f), static_cast<uint8_t *>(data)));
}

struct Writer {
    handle s;
    uint64_t next, total, chunk;
    bool done;
};
struct Reader {
    handle s;
    std::vector<uint64_t> mem;
    uint64_t count, sum;
    bool in_order, done;
};

static uint8_t writer_cb(uint8_t *data) {
    Writer *w = reinterpret_cast<Writer *>(data);
    for (;;) {
        if (w->next == w->total) {
            finish_writing(w->s, nullptr);
            w->done = true;
            return SYMMETRIC_CALLBACK_READY;
        }
        int state = -1;
        handle b = start_writing(w->s, &state);
        if (!b) return state == SYMMETRIC_STREAM_PENDING ? SYMMETRIC_CALLBACK_PENDING : SYMMETRIC_CALLBACK_READY;
        uint64_t n = buffer_capacity(b);
        if (n > w->chunk) n = w->chunk;
        if (n > w->total - w->next) n = w->total - w->next;
        uint64_t *p = buffer_u64(b);
        for (uint64_t i = 0; i < n; ++i) p[i] = w->next + i;
        w->next += n;
        buffer_set_size(b, n);
        finish_writing(w->s, b);
    }
}

static uint8_t reader_cb(uint8_t *data) {
    Reader *r = reinterpret_cast<Reader *>(data);
    for (;;) {
        handle b = read_result(r->s);
        if (b) {
            uint64_t n = buffer_size(b);
            const uint64_t *p = buffer_u64(b);
            for (uint64_t i = 0; i < n; ++i) {
                r->in_order = r->in_order && p[i] == r->count;
                ++r->count;
                r->sum += p[i];
            }
            handle back = nullptr;
            if (start_reading(r->s, b, &back)) buffer_drop(back);
        } else if (is_write_closed(r->s) || is_read_closed(r->s)) {
            r->done = true;
            return SYMMETRIC_CALLBACK_READY;
        } else {
            return SYMMETRIC_CALLBACK_PENDING;
        }
    }
}

static void start_reader(Reader *r, handle s, size_t cap) {
    r->s = s;
    r->mem.assign(cap, 0);
    r->count = r->sum = 0;
    r->in_order = true;
    r->done = false;
    handle back = nullptr;
    CHECK(start_reading(s, buffer_new(r->mem.data(), cap), &back) == 0);
}

static uint64_t sum_to(uint64_t n) { return n == 0 ? 0 : n * (n - 1) / 2; }

static void callbacks_one_thread() {
    const uint64_t n = 100000;
    handle s = stream_new();
    handle rs = stream_clone(s);
    Writer w = {s, 0, n, UINT64_MAX, false};
    Reader r;
    start_reader(&r, rs, 64);
    reg(write_ready(s), writer_cb, &w);
    reg(read_ready(rs), reader_cb, &r);
    EXEC(run)();
    CHECK(w.done && r.done && r.in_order);
    CHECK(r.count == n && r.sum == sum_to(n));
    CHECK(is_write_closed(rs));
    CHECK(read_result(rs) == nullptr);
    stream_drop(s);
    stream_drop(rs);
}

static void block_on_two_threads() {
    const uint64_t n = 100000;
    handle s = stream_new();
    handle rs = stream_clone(s);
    uint64_t count = 0, sum = 0;
    bool in_order = true;
    std::thread reader([&] {
        std::vector<uint64_t> mem(100);
        handle b = buffer_new(mem.data(), mem.size());
        for (;;) {
            handle back = nullptr;
            if (start_reading(rs, b, &back)) {
                buffer_drop(back);
                break;
            }
            EXEC(block_on)(read_ready(rs));
            handle got = read_result(rs);
            if (!got) break;
            const uint64_t *p = buffer_u64(got);
            for (uint64_t i = 0; i < buffer_size(got); ++i) {
                in_order = in_order && p[i] == count;
                ++count;
                sum += p[i];
            }
            b = got;
        }
    });
    uint64_t next = 0;
    while (next < n) {
        int state = -1;
        handle b = start_writing(s, &state);
        if (!b) {
            CHECK(state == SYMMETRIC_STREAM_PENDING);
            EXEC(block_on)(write_ready(s));
            continue;
        }
        uint64_t k = buffer_capacity(b) < n - next ? buffer_capacity(b) : n - next;
        uint64_t *p = buffer_u64(b);
        for (uint64_t i = 0; i < k; ++i) p[i] = next + i;
        next += k;
        buffer_set_size(b, k);
        finish_writing(s, b);
    }
    finish_writing(s, nullptr);
    reader.join();
    CHECK(in_order && count == n && sum == sum_to(n));
    stream_drop(s);
    stream_drop(rs);
}

static void close_read_and_errors() {
    handle s = stream_new();
    uint64_t m1[4], m2[4];
    handle b1 = buffer_new(m1, 4), b2 = buffer_new(m2, 4), back = nullptr;
    CHECK(start_reading(s, b1, &back) == 0);
    CHECK(start_reading(s, b2, &back) == 1 && back == b2);
    CHECK(read_result(s) == nullptr);
    std::vector<handle> list = close_read(s);
    CHECK(list.size() == 1 && list[0] == b1 && buffer_size(b1) == 0);
    CHECK(is_read_closed(s));
    int state = -1;
    CHECK(start_writing(s, &state) == nullptr && state == SYMMETRIC_STREAM_EOF);
    CHECK(close_read(s).empty());
    buffer_drop(b1);
    buffer_drop(b2);
    stream_drop(s);
}

static void timeouts() {
    auto t0 = std::chrono::steady_clock::now();
    EXEC(block_on)(EXEC(X5BstaticX5Devent_subscriptionX2Efrom_timeout)(10000000));
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(10));
    handle sub = EXEC(X5BstaticX5Devent_subscriptionX2Efrom_timeout)(0);
    CHECK(EXEC(X5BmethodX5Devent_subscriptionX2Eready)(sub) == 1);
    EXEC(X5Bresource_dropX5Devent_subscription)(sub);
}

static void many_streams() {
    const int streams = 1000;
    std::vector<Writer> ws(streams);
    std::vector<Reader> rs(streams);
    std::vector<handle> hs;
    for (int i = 0; i < streams; ++i) {
        handle s = stream_new();
        handle r = stream_clone(s);
        ws[i] = Writer{s, 0, 50 + static_cast<uint64_t>(i % 5), 8, false};
        start_reader(&rs[i], r, 4);
        reg(read_ready(r), reader_cb, &rs[i]);
        reg(write_ready(s), writer_cb, &ws[i]);
        hs.push_back(s);
        hs.push_back(r);
    }
    EXEC(run)();
    for (int i = 0; i < streams; ++i) {
        uint64_t total = 50 + static_cast<uint64_t>(i % 5);
        CHECK(ws[i].done && rs[i].done && rs[i].in_order && rs[i].count == total && rs[i].sum == sum_to(total));
    }
    for (handle h : hs) stream_drop(h);
}

int main() {
    callbacks_one_thread();
    block_on_two_threads();
    close_read_and_errors();
    timeouts();
    many_streams();
    std::printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
