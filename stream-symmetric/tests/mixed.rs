//! The symmetric interface and the safe Rust API on one stream: a symmetric writer (callbacks
//! on the executor) feeding a Rust `Reader`, and a Rust `Writer` feeding a symmetric reader.
//! The stream object adopts the end it plays ([`adopt_raw_stream`]); the Rust handle of that
//! end is dropped, so the ends close as each side finishes.
#![allow(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

mod common;

use common::*;
use symmetric_stream::{adopt_raw_stream, Ends};

/// Elements per test (fewer under Miri, which runs each step thousands of times slower).
const N: u64 = if cfg!(miri) { 300 } else { 50_000 };

#[test]
fn symmetric_writer_rust_reader() {
    let (w, mut r) = stream_core::stream::<u64>();
    let obj = Sendable(unsafe { adopt_raw_stream(w.as_ptr(), Ends::Writer) }.unwrap());
    drop(w);
    let writer = std::thread::spawn(move || unsafe {
        let s = obj.get();
        let mut t = Box::new(WriterTask {
            stream: s,
            next: 0,
            total: N,
            chunk: 333,
            done: false,
            saw_eof: false,
        });
        let tp: *mut WriterTask = &mut *t;
        registration_drop(register(write_ready_subscribe(s), writer_cb, tp.cast()));
        run();
        assert!(t.done && !t.saw_eof);
        stream_drop(s);
    });
    let mut got = Vec::new();
    loop {
        match r.read_append(&mut got, 1000) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    writer.join().unwrap();
    assert_eq!(got.len() as u64, N);
    assert!(got.iter().copied().eq(0..N));
    assert!(r.is_write_closed());
}

#[test]
fn rust_writer_symmetric_reader() {
    let (mut w, r) = stream_core::stream::<u64>();
    let obj = Sendable(unsafe { adopt_raw_stream(r.as_ptr(), Ends::Reader) }.unwrap());
    drop(r);
    let writer = std::thread::spawn(move || {
        let items: Vec<u64> = (0..N).collect();
        for chunk in items.chunks(1000) {
            let mut off = 0;
            while off < chunk.len() {
                off += w.write_slice(&chunk[off..]).expect("reader open");
            }
        }
        // Dropping the last writer handle ends the stream.
    });
    unsafe {
        let s = obj.get();
        let mut t = ReaderTask::start(s, 256);
        let tp: *mut ReaderTask = &mut *t;
        registration_drop(register(read_ready_subscribe(s), reader_cb, tp.cast()));
        run();
        writer.join().unwrap();
        assert!(t.done && t.in_order);
        assert_eq!((t.count, t.sum), (N, sum_to(N)));
        stream_drop(s);
    }
}

#[test]
fn symmetric_reader_close_stops_a_rust_writer() {
    let (mut w, r) = stream_core::stream::<u64>();
    let obj = unsafe { adopt_raw_stream(r.as_ptr(), Ends::Reader) }.unwrap();
    drop(r);
    unsafe {
        assert!(close_read(obj).is_empty());
        assert!(w.send(1).is_err());
        stream_drop(obj);
    }
}
