//! The runtime driven as generated code drives it: `extern "C"` declarations with the
//! generator's names (`common`), writer and reader callbacks through `register`/`run`, loops
//! through `block-on`, the error results, closes from either side, timeouts, generators, and
//! 1 000 streams on one executor.

#![allow(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// Elements per test (fewer under Miri, which runs each step thousands of times slower).
const N: u64 = if cfg!(miri) { 300 } else { 20_000 };

#[test]
fn register_and_run_one_thread() {
    unsafe {
        let s = stream_new();
        let r = stream_clone(s);
        let mut w = Box::new(WriterTask {
            stream: s,
            next: 0,
            total: N,
            chunk: u64::MAX,
            done: false,
            saw_eof: false,
        });
        let mut rd = ReaderTask::start(r, 64);
        let wp: *mut WriterTask = &mut *w;
        let rp: *mut ReaderTask = &mut *rd;
        registration_drop(register(write_ready_subscribe(s), writer_cb, wp.cast()));
        registration_drop(register(read_ready_subscribe(r), reader_cb, rp.cast()));
        run();
        assert!(w.done && !w.saw_eof);
        assert!(rd.done && rd.in_order);
        assert_eq!(rd.count, N);
        assert_eq!(rd.sum, sum_to(N));
        // End of stream is sticky.
        assert!(is_write_closed(r));
        assert_eq!(read_result(r), None);
        let mut m = [0u64; 4];
        let b = buffer_new(m.as_mut_ptr().cast(), 4);
        let back = start_reading(r, b).unwrap_err();
        assert_eq!(back, b);
        buffer_drop(back);
        stream_drop(s);
        stream_drop(r);
    }
}

#[test]
fn register_and_run_two_threads() {
    unsafe {
        let s = stream_new();
        let r = Sendable(stream_clone(s));
        let reader = std::thread::spawn(move || {
            let r = r.get();
            let mut rd = ReaderTask::start(r, 128);
            let rp: *mut ReaderTask = &mut *rd;
            registration_drop(register(read_ready_subscribe(r), reader_cb, rp.cast()));
            run();
            assert!(rd.done && rd.in_order);
            stream_drop(r);
            (rd.count, rd.sum)
        });
        let mut w = Box::new(WriterTask {
            stream: s,
            next: 0,
            total: N,
            chunk: 100,
            done: false,
            saw_eof: false,
        });
        let wp: *mut WriterTask = &mut *w;
        registration_drop(register(write_ready_subscribe(s), writer_cb, wp.cast()));
        run();
        assert!(w.done);
        assert_eq!(reader.join().unwrap(), (N, sum_to(N)));
        stream_drop(s);
    }
}

#[test]
fn block_on_loops_on_two_threads() {
    unsafe {
        let s = stream_new();
        let r = Sendable(stream_clone(s));
        let reader = std::thread::spawn(move || {
            let r = r.get();
            let mut mem = vec![0u64; 32];
            let mut b = buffer_new(mem.as_mut_ptr().cast(), 32);
            let (mut count, mut sum) = (0u64, 0u64);
            loop {
                match start_reading(r, b) {
                    Ok(()) => {}
                    Err(back) => {
                        buffer_drop(back);
                        break;
                    }
                }
                block_on(read_ready_subscribe(r));
                match read_result(r) {
                    Some(got) => {
                        let n = buffer_size(got) as usize;
                        let p = buffer_addr(got).cast::<u64>();
                        for i in 0..n {
                            assert_eq!(*p.add(i), count);
                            count += 1;
                            sum = sum.wrapping_add(*p.add(i));
                        }
                        b = got;
                    }
                    None => {
                        assert!(is_write_closed(r));
                        break;
                    }
                }
            }
            stream_drop(r);
            (count, sum)
        });
        let mut next = 0u64;
        while next < N {
            let b = match start_writing(s) {
                Ok(b) => b,
                Err(WOULD_BLOCK) => {
                    block_on(write_ready_subscribe(s));
                    continue;
                }
                Err(e) => panic!("state {e}"),
            };
            let n = buffer_capacity(b).min(N - next).min(7);
            let p = buffer_addr(b).cast::<u64>();
            for i in 0..n {
                p.add(i as usize).write(next + i);
            }
            next += n;
            buffer_set_size(b, n);
            finish_writing(s, Some(b));
        }
        finish_writing(s, None);
        assert_eq!(reader.join().unwrap(), (N, sum_to(N)));
        stream_drop(s);
    }
}

#[test]
fn second_start_reading_is_an_error_result() {
    unsafe {
        let s = stream_new();
        let mut m1 = [0u64; 4];
        let mut m2 = [0u64; 4];
        let b1 = buffer_new(m1.as_mut_ptr().cast(), 4);
        let b2 = buffer_new(m2.as_mut_ptr().cast(), 4);
        start_reading(s, b1).unwrap();
        assert_eq!(start_reading(s, b2), Err(b2));
        // Nothing yet: polling gives none, and the stream is open.
        assert_eq!(read_result(s), None);
        assert!(!is_write_closed(s));
        // The writer gets the first buffer, the very object.
        let got = start_writing(s).unwrap();
        assert_eq!(got, b1);
        assert_eq!(buffer_capacity(got), 4);
        // A second start-writing while one is held: pending, not a panic.
        assert_eq!(start_writing(s), Err(WOULD_BLOCK));
        buffer_addr(got).cast::<u64>().write(42);
        buffer_set_size(got, 1);
        finish_writing(s, Some(got));
        let back = read_result(s).unwrap();
        assert_eq!(back, b1);
        assert_eq!(buffer_size(back), 1);
        assert_eq!(m1[0], 42);
        // Nothing lent now: the writer waits.
        assert_eq!(start_writing(s), Err(WOULD_BLOCK));
        buffer_drop(b1);
        buffer_drop(b2);
        stream_drop(s);
    }
}

#[test]
fn close_read_gives_the_buffer_back_and_stops_the_writer() {
    unsafe {
        let s = stream_new();
        let r = stream_clone(s);
        let mut m = [0u64; 8];
        let b = buffer_new(m.as_mut_ptr().cast(), 8);
        start_reading(r, b).unwrap();
        let w_sub = write_ready_subscribe(s);
        assert!(sub_ready(w_sub));
        let list = close_read(r);
        assert_eq!(list, vec![b]);
        assert_eq!(buffer_size(b), 0);
        buffer_drop(b);
        assert!(is_read_closed(s));
        // Write-ready stays ready (closed), and start-writing says eof.
        assert!(sub_ready(w_sub));
        sub_drop(w_sub);
        assert_eq!(start_writing(s), Err(EOF));
        // A second close returns an empty list.
        assert!(close_read(r).is_empty());
        stream_drop(r);
        stream_drop(s);
    }
}

#[test]
fn close_read_while_the_writer_holds_the_buffer_returns_what_was_written() {
    unsafe {
        let s = stream_new();
        let mut m = [0u64; 8];
        let b = buffer_new(m.as_mut_ptr().cast(), 8);
        start_reading(s, b).unwrap();
        let got = Sendable(start_writing(s).unwrap());
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let got = got.get();
            buffer_addr(got).cast::<u64>().write(7);
            buffer_set_size(got, 1);
            Sendable(got)
        });
        let got = writer.join().unwrap().0;
        // The reader closes while the buffer is still held (before finish-writing).
        let closer = Sendable(s);
        let t = std::thread::spawn(move || {
            close_read(closer.get())
                .into_iter()
                .map(Sendable)
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20));
        finish_writing(s, Some(got));
        let list = t.join().unwrap();
        assert_eq!(list, vec![Sendable(b)]);
        assert_eq!(buffer_size(b), 1);
        assert_eq!(m[0], 7);
        buffer_drop(b);
        stream_drop(s);
    }
}

#[test]
fn writer_close_is_eof_for_a_pending_read() {
    unsafe {
        let s = stream_new();
        let r = stream_clone(s);
        let mut m = [0u64; 8];
        let b = buffer_new(m.as_mut_ptr().cast(), 8);
        start_reading(r, b).unwrap();
        let sub = read_ready_subscribe(r);
        assert!(!sub_ready(sub));
        finish_writing(s, None);
        assert!(sub_ready(sub));
        // reset cannot hide a state: still ready.
        sub_reset(sub);
        assert!(sub_ready(sub));
        block_on(sub);
        assert_eq!(read_result(r), None);
        assert!(is_write_closed(r));
        assert_eq!(start_writing(s), Err(EOF));
        stream_drop(s);
        stream_drop(r);
    }
}

#[test]
fn dropping_every_handle_ends_a_pending_read_and_a_held_write() {
    unsafe {
        let s = stream_new();
        let mut m = [0u64; 8];
        let b = buffer_new(m.as_mut_ptr().cast(), 8);
        start_reading(s, b).unwrap();
        let _held = start_writing(s).unwrap();
        // No leak, no hang: the last handle returns the buffer, cancels the read, frees.
        stream_drop(s);
    }
}

unsafe extern "C" fn count_cb(data: *mut u8) -> u8 {
    let n = &mut *data.cast::<u32>();
    *n += 1;
    READY
}

#[test]
fn timeouts_fire_in_order_and_block_on_waits() {
    unsafe {
        let start = Instant::now();
        block_on(from_timeout(20_000_000));
        assert!(start.elapsed() >= Duration::from_millis(20));

        let t = from_timeout(u64::MAX);
        assert!(!sub_ready(t));
        sub_drop(t);
        let t0 = from_timeout(0);
        assert!(sub_ready(t0));
        let d = sub_dup(t0);
        assert!(sub_ready(d));
        sub_drop(d);
        sub_drop(t0);

        let mut a = 0u32;
        let mut b = 0u32;
        let start = Instant::now();
        registration_drop(register(
            from_timeout(30_000_000),
            count_cb,
            (&mut a as *mut u32).cast(),
        ));
        registration_drop(register(
            from_timeout(10_000_000),
            count_cb,
            (&mut b as *mut u32).cast(),
        ));
        run();
        assert_eq!((a, b), (1, 1));
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}

#[test]
fn a_timeout_ends_a_wait_for_a_stream_that_never_gets_data() {
    unsafe {
        let s = stream_new();
        let mut m = [0u64; 1];
        let b = buffer_new(m.as_mut_ptr().cast(), 1);
        start_reading(s, b).unwrap();
        let mut fired = 0u32;
        let mut timed_out = 0u32;
        let reg = register(
            read_ready_subscribe(s),
            count_cb,
            (&mut fired as *mut u32).cast(),
        );
        registration_drop(register(
            from_timeout(5_000_000),
            count_cb,
            (&mut timed_out as *mut u32).cast(),
        ));
        block_on(from_timeout(10_000_000));
        assert_eq!((fired, timed_out), (0, 1));
        // Cancel the stream callback: its data comes back.
        assert_eq!(cancel(reg), (&mut fired as *mut u32).cast());
        run(); // nothing left
        assert_eq!(close_read(s), vec![b]);
        buffer_drop(b);
        stream_drop(s);
    }
}

/// Counts its calls in an `AtomicU32` (the activating thread watches it); ready at the third.
unsafe extern "C" fn count_shared_cb(data: *mut u8) -> u8 {
    let n = &*data.cast::<AtomicU32>();
    // ORDERING: Release: the callback's reset of its subscription (before the call) is
    // visible to the thread that sees the count and activates again.
    if n.fetch_add(1, Ordering::Release) + 1 == 3 {
        READY
    } else {
        PENDING
    }
}

#[test]
fn generators_wake_callbacks_across_threads() {
    unsafe {
        let g = generator_new();
        let sub = generator_subscribe(g);
        assert!(!sub_ready(sub));
        generator_activate(g);
        assert!(sub_ready(sub));
        sub_reset(sub);
        assert!(!sub_ready(sub));
        let dup = sub_dup(sub);
        sub_drop(sub);

        // Activations coalesce: a subscription is ready while any activation since its last
        // reset is unconsumed, and a callback consumes all of them. So the other thread
        // activates again only once the callback of the previous activation has run (an
        // earlier version slept 5 ms instead; under Miri's clock two activations could then
        // reach one callback, which left the task waiting for a third forever).
        let n = AtomicU32::new(0);
        let calls = &n;
        registration_drop(register(
            dup,
            count_shared_cb,
            core::ptr::from_ref(calls).cast_mut().cast(),
        ));
        let g2 = Sendable(g);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for i in 0..3 {
                    generator_activate(g2.get());
                    // ORDERING: Acquire pairs with the callback's Release.
                    while calls.load(Ordering::Acquire) == i {
                        std::thread::yield_now();
                    }
                }
            });
            run();
        });
        assert_eq!(n.load(Ordering::Relaxed), 3);
        // A cancelled registration that already finished: null.
        let mut m = 0u32;
        let reg = register(
            generator_subscribe(g),
            count_cb,
            (&mut m as *mut u32).cast(),
        );
        run();
        assert_eq!(m, 1);
        assert!(cancel(reg).is_null());
        generator_drop(g);
    }
}

#[test]
fn a_thousand_streams_on_one_executor() {
    const STREAMS: usize = if cfg!(miri) { 20 } else { 1000 };
    const PER: u64 = 100;
    unsafe {
        let mut writers = Vec::new();
        let mut readers = Vec::new();
        let mut handles = Vec::new();
        for i in 0..STREAMS {
            let s = stream_new();
            let r = stream_clone(s);
            // Raw from here on: the callbacks write through these pointers while the vectors
            // hold them (moving a `Box` would retag it, invalidating the callbacks' pointers).
            let wp = Box::into_raw(Box::new(WriterTask {
                stream: s,
                next: 0,
                total: PER + i as u64 % 7,
                chunk: 16,
                done: false,
                saw_eof: false,
            }));
            let rp = Box::into_raw(ReaderTask::start(r, 8));
            registration_drop(register(read_ready_subscribe(r), reader_cb, rp.cast()));
            registration_drop(register(write_ready_subscribe(s), writer_cb, wp.cast()));
            writers.push(wp);
            readers.push(rp);
            handles.push((s, r));
        }
        run();
        for (i, &rp) in readers.iter().enumerate() {
            let total = PER + i as u64 % 7;
            let rd = &*rp;
            assert!(rd.done && rd.in_order && (*writers[i]).done);
            assert_eq!((rd.count, rd.sum), (total, sum_to(total)));
        }
        for (s, r) in handles {
            stream_drop(s);
            stream_drop(r);
        }
        for (wp, rp) in writers.into_iter().zip(readers) {
            drop(Box::from_raw(wp));
            drop(Box::from_raw(rp));
        }
    }
}

#[test]
fn null_handles_are_neutral() {
    unsafe {
        let null = core::ptr::null_mut();
        assert!(is_write_closed(null));
        assert_eq!(read_result(null), None);
        assert_eq!(start_writing(null), Err(EOF));
        assert!(close_read(null).is_empty());
        assert!(read_ready_subscribe(null).is_null());
        finish_writing(null, None);
        stream_drop(null);
        buffer_drop(null);
        sub_drop(null);
        assert!(cancel(null).is_null());
        block_on(null);
    }
}
