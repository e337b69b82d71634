//! Throughput of the symmetric interface beside the async API of `stream-async`, on the same
//! executor shapes: writer and reader on one thread, and on two threads (one executor each).
//!
//! Rows: a stream of `u64` (256-element buffers) and a stream of 64 KiB byte blocks. The
//! symmetric rows drive the exported C functions as generated code does (callbacks on
//! write-ready / read-ready, `register` + `run`); the async rows are `AsyncWriter` /
//! `AsyncReader` futures under `futures_lite::future::block_on` (one thread: both futures
//! `zip`ped in one `block_on`; two threads: one `block_on` each).
//!
//! `cargo bench -p symmetric-stream` (add `-- --quick` for a shorter run).
#![allow(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_lite::future;

const BLOCK: usize = 64 * 1024;

/// A writer of 64 KiB blocks (elements are bytes).
struct ByteWriter {
    s: Handle,
    left: u64,
    src: Vec<u8>,
}

unsafe extern "C" fn byte_writer_cb(data: *mut u8) -> u8 {
    let w = &mut *data.cast::<ByteWriter>();
    loop {
        if w.left == 0 {
            finish_writing(w.s, None);
            return READY;
        }
        match start_writing(w.s) {
            Ok(b) => {
                let n = (buffer_capacity(b) as usize).min(BLOCK);
                core::ptr::copy_nonoverlapping(w.src.as_ptr(), buffer_addr(b), n);
                buffer_set_size(b, n as u64);
                finish_writing(w.s, Some(b));
                w.left -= 1;
            }
            Err(WOULD_BLOCK) => return PENDING,
            Err(_) => return READY,
        }
    }
}

struct ByteReader {
    s: Handle,
    mem: Vec<u8>,
    bytes: u64,
}

unsafe extern "C" fn byte_reader_cb(data: *mut u8) -> u8 {
    let r = &mut *data.cast::<ByteReader>();
    loop {
        match read_result(r.s) {
            Some(b) => {
                r.bytes += buffer_size(b);
                if let Err(b) = start_reading(r.s, b) {
                    buffer_drop(b);
                }
            }
            None if is_write_closed(r.s) => return READY,
            None => return PENDING,
        }
    }
}

/// One transfer through the symmetric interface; returns the elapsed time.
fn sym_u64(n: u64, two_threads: bool) -> Duration {
    unsafe {
        let s = stream_new();
        let r = stream_clone(s) as usize;
        let start = Instant::now();
        let reader = move || {
            let r = r as Handle;
            let mut t = ReaderTask::start(r, 256);
            let tp: *mut ReaderTask = &mut *t;
            registration_drop(register(read_ready_subscribe(r), reader_cb, tp.cast()));
            run();
            assert_eq!(t.count, n);
            stream_drop(r);
        };
        let mut w = Box::new(WriterTask {
            stream: s,
            next: 0,
            total: n,
            chunk: u64::MAX,
            done: false,
            saw_eof: false,
        });
        let wp: *mut WriterTask = &mut *w;
        if two_threads {
            let t = std::thread::spawn(reader);
            registration_drop(register(write_ready_subscribe(s), writer_cb, wp.cast()));
            run();
            t.join().unwrap();
        } else {
            registration_drop(register(write_ready_subscribe(s), writer_cb, wp.cast()));
            reader();
        }
        let e = start.elapsed();
        stream_drop(s);
        e
    }
}

fn sym_bytes(blocks: u64, two_threads: bool) -> Duration {
    unsafe {
        let s = stream_new();
        let r = stream_clone(s) as usize;
        let start = Instant::now();
        let reader = move || {
            let r = r as Handle;
            let mut t = Box::new(ByteReader {
                s: r,
                mem: vec![0; BLOCK],
                bytes: 0,
            });
            let b = buffer_new(t.mem.as_mut_ptr(), BLOCK as u64);
            start_reading(r, b).unwrap();
            let tp: *mut ByteReader = &mut *t;
            registration_drop(register(read_ready_subscribe(r), byte_reader_cb, tp.cast()));
            run();
            assert_eq!(t.bytes, blocks * BLOCK as u64);
            stream_drop(r);
        };
        let mut w = Box::new(ByteWriter {
            s,
            left: blocks,
            src: vec![7; BLOCK],
        });
        let wp: *mut ByteWriter = &mut *w;
        if two_threads {
            let t = std::thread::spawn(reader);
            registration_drop(register(
                write_ready_subscribe(s),
                byte_writer_cb,
                wp.cast(),
            ));
            run();
            t.join().unwrap();
        } else {
            registration_drop(register(
                write_ready_subscribe(s),
                byte_writer_cb,
                wp.cast(),
            ));
            reader();
        }
        let e = start.elapsed();
        stream_drop(s);
        e
    }
}

/// The async API: `chunk`-element writes of `T`, `total` elements.
fn async_run<T: Copy + Default + Send + 'static>(
    total: usize,
    chunk: usize,
    two_threads: bool,
) -> Duration {
    let (mut w, mut r) = stream_async::stream::<T>(chunk);
    let src = vec![T::default(); chunk];
    let start = Instant::now();
    let write = async move {
        let mut left = total;
        while left > 0 {
            let k = left.min(chunk);
            left -= w.write_slice(&src[..k]).await.unwrap();
        }
        w.close().await.unwrap();
    };
    let read = async move {
        let mut got = 0;
        let mut v = Vec::with_capacity(chunk);
        while let Ok(n) = r.read_append(&mut v, chunk).await {
            got += n;
            v.clear();
        }
        assert_eq!(got, total);
    };
    if two_threads {
        let t = std::thread::spawn(move || future::block_on(read));
        future::block_on(write);
        t.join().unwrap();
    } else {
        future::block_on(future::zip(write, read));
    }
    start.elapsed()
}

/// The best of `reps` runs.
fn best(reps: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..reps).map(|_| f()).min().unwrap()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, blocks, reps) = if quick {
        (200_000u64, 2_000u64, 3)
    } else {
        (2_000_000, 20_000, 5)
    };
    println!("{:<44} {:>12} {:>12}", "row", "ns/element", "GB/s");
    for two in [false, true] {
        let shape = if two { "two threads" } else { "one thread" };
        let d = best(reps, || sym_u64(n, two));
        let ns = d.as_nanos() as f64 / n as f64;
        println!(
            "{:<44} {:>12.2} {:>12.2}",
            format!("symmetric u64, {shape}"),
            ns,
            8.0 / ns
        );
        let d = best(reps, || async_run::<u64>(n as usize, 256, two));
        let ns = d.as_nanos() as f64 / n as f64;
        println!(
            "{:<44} {:>12.2} {:>12.2}",
            format!("stream-async u64, {shape}"),
            ns,
            8.0 / ns
        );
        let d = best(reps, || sym_bytes(blocks, two));
        let ns = d.as_nanos() as f64 / blocks as f64;
        println!(
            "{:<44} {:>12.0} {:>12.2}",
            format!("symmetric 64 KiB blocks, {shape}"),
            ns,
            BLOCK as f64 / ns
        );
        let d = best(reps, || {
            async_run::<u8>(blocks as usize * BLOCK, BLOCK, two)
        });
        let ns = d.as_nanos() as f64 / blocks as f64;
        println!(
            "{:<44} {:>12.0} {:>12.2}",
            format!("stream-async 64 KiB blocks, {shape}"),
            ns,
            BLOCK as f64 / ns
        );
    }
    println!("(64 KiB rows: ns per block)");
}
