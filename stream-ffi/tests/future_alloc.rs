//! `native_future_write` closes the writer *end*, not the writer *handle*: a future that was
//! written and read stays allocated until both handles are released. Counted with an
//! allocator that tracks the bytes each thread holds (so tests running in parallel do not
//! disturb each other's counts). `tests/c_programs.rs` runs the same sequence from C under
//! valgrind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;

use stream_ffi::*;

/// The system allocator, counting the bytes allocated minus the bytes freed on each thread.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: during thread teardown the count is gone, and nothing measures then.
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
}

// SAFETY: forwards every call to `System` unchanged; the bookkeeping neither allocates nor
// unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(p, layout) };
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

#[test]
fn a_written_future_is_freed_by_its_two_releases_not_by_the_write() {
    let before = live();
    let f = native_future_create(24, 8);
    assert!(!f.is_null());
    let created = live() - before;
    assert!(created >= 64 + 24, "header and slot: {created} bytes");
    let value = [1u64, 2, 3];
    let mut out = [0u64; 3];
    // SAFETY: `f` is live (we hold both handles until the releases below); `value` and `out`
    // are 24 bytes.
    unsafe {
        assert_eq!(
            native_future_write(f, value.as_ptr().cast(), 24),
            NATIVE_STREAM_OK
        );
        assert_eq!(
            native_stream_is_write_closed(f),
            1,
            "the write closed the end"
        );
        assert_eq!(
            native_future_read(f, out.as_mut_ptr().cast(), 24, -1),
            NATIVE_STREAM_OK
        );
        assert_eq!(out, value);
        assert_eq!(native_future_release_reader(f), NATIVE_STREAM_OK);
        // Written, read, the reader released: still allocated, held by the writer handle.
        assert_eq!(live() - before, created);
        assert_eq!(native_future_release_writer(f), NATIVE_STREAM_OK);
    }
    assert_eq!(live(), before, "both releases free the future");
}

#[test]
fn releases_in_either_order_free_the_future() {
    for writer_first in [true, false] {
        let before = live();
        let f = native_future_create(0, 1);
        assert!(!f.is_null());
        // SAFETY: as above, for a zero-size future.
        unsafe {
            assert_eq!(native_future_write(f, ptr::null(), 0), NATIVE_STREAM_OK);
            let (first, second): (
                unsafe extern "C" fn(_) -> i32,
                unsafe extern "C" fn(_) -> i32,
            ) = if writer_first {
                (native_future_release_writer, native_future_release_reader)
            } else {
                (native_future_release_reader, native_future_release_writer)
            };
            assert_eq!(first(f), NATIVE_STREAM_OK);
            assert!(live() > before, "one handle left keeps the future");
            assert_eq!(second(f), NATIVE_STREAM_OK);
        }
        assert_eq!(live(), before);
    }
}
