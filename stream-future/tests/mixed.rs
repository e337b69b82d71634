//! The mixed-API matrix of futures: each safe operation of the Rust handles after, and
//! concurrently with, each header-level sequence that stream-ffi documents for C code acting
//! on a Rust future (`common/mixed.rs`), on real threads for every backend and under Miri.
//! Each value is counted: none lost, none duplicated, each dropped exactly once.
#![cfg(not(stream_loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::mixed::{
    run_header_ops, Counted, HeaderOps, HeaderPtr, BY_HEADER, BY_RUST, CONCURRENT_OPS,
};
use stream_events::{Backend, Futex, Listener, Spin};
use stream_future::{future_with, FutureReader, WriteError};

fn rounds() -> usize {
    if cfg!(miri) {
        1
    } else {
        40
    }
}

/// The regression of the soundness bug: a Rust write after C delivered through the stream
/// functions wrote into the delivered slot before it looked at the phase, and gave back the
/// bits the reader then read again (a double free of the `String`).
#[test]
fn write_after_a_delivery_through_the_header_gives_the_value_back() {
    let (mut writer, reader) = future_with::<String, Futex>();
    writer.allow_raw_writes();
    let raw = reader.raw();
    // SAFETY: acting for `writer`'s end, which it keeps alive; the slot holds one `String`.
    unsafe {
        let (addr, capacity) = raw.start_writing().unwrap();
        assert_eq!(capacity, 1);
        addr.cast::<String>().write("first".to_string());
        assert!(raw.finish_writing(1));
        assert!(raw.finish_writing(stream_abi::CLOSED));
    }
    let back = writer.write("second".to_string()).unwrap_err();
    assert_eq!(back.into_inner(), "second");
    assert_eq!(reader.read().unwrap(), "first");
}

/// The same with the reader waiting on another thread (Miri reported a data race between the
/// slot write and the reader's take of the count), and with the writer end left open.
#[test]
fn write_after_an_open_delivery_through_the_header_races_with_nobody() {
    for close in [false, true] {
        let (mut writer, mut reader) = future_with::<String, Futex>();
        writer.allow_raw_writes();
        let raw_ptr = HeaderPtr(reader.raw());
        let t = thread::spawn(move || {
            let got = reader.read_timeout(Duration::from_secs(60));
            (got, reader)
        });
        // SAFETY: the reader handle (moved to the thread, returned by it) keeps the header
        // alive until the join below; we act for `writer`'s end.
        let raw = unsafe { raw_ptr.get() };
        // SAFETY: as in the test above.
        unsafe {
            let (addr, _) = raw.start_writing().unwrap();
            addr.cast::<String>().write("first".to_string());
            assert!(raw.finish_writing(1));
            if close {
                assert!(raw.finish_writing(stream_abi::CLOSED));
            }
        }
        let back = writer.write("second".to_string());
        let (got, reader) = t.join().unwrap();
        assert_eq!(back.unwrap_err().into_inner(), "second");
        assert_eq!(got.unwrap(), "first");
        drop(reader);
    }
}

/// A write that finds the slot taken by someone acting for the writer end fails with the
/// value untouched, and leaves that write to finish.
#[test]
fn write_while_the_slot_is_taken_gives_the_value_back() {
    let (mut writer, reader) = future_with::<String, Spin>();
    writer.allow_raw_writes();
    let raw = reader.raw();
    // SAFETY: acting for `writer`'s end; the buffer is finished below.
    let (addr, _) = unsafe { raw.start_writing() }.unwrap();
    let back = writer.write("rust".to_string());
    assert_eq!(
        back.map_err(WriteError::into_inner),
        Err("rust".to_string())
    );
    // SAFETY: still ours (the Rust writer's release did not return it); one `String`.
    unsafe {
        addr.cast::<String>().write("header".to_string());
        assert!(raw.finish_writing(1));
    }
    assert_eq!(reader.read().unwrap(), "header");
}

/// Until the writer allows raw writes, the writer end is its alone: a raw `start_writing` gets
/// `Busy` and touches nothing, and the Rust write delivers.
#[test]
fn raw_writes_wait_for_the_writer_to_allow_them() {
    let (writer, reader) = future_with::<String, Futex>();
    let raw = reader.raw();
    // SAFETY: the take must fail; nothing is written.
    let taken = unsafe { raw.start_writing() };
    assert_eq!(taken.unwrap_err(), stream_core::StartWriteError::Busy);
    writer.write("rust".to_string()).unwrap();
    assert_eq!(reader.read().unwrap(), "rust");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriterOp {
    Write,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderOp {
    Read,
    TryRead,
    ReadTimeout,
    Drop,
}

const WRITER_OPS: [WriterOp; 2] = [WriterOp::Write, WriterOp::Drop];
const READER_OPS: [ReaderOp; 4] = [
    ReaderOp::Read,
    ReaderOp::TryRead,
    ReaderOp::ReadTimeout,
    ReaderOp::Drop,
];

/// Runs the reader's operation; returns the value it got and the reader if it was not
/// consumed (dropped by the caller once every other party is done).
fn reader_op<B: Backend>(
    op: ReaderOp,
    mut r: FutureReader<Counted, B>,
) -> (Option<Counted>, Option<FutureReader<Counted, B>>) {
    match op {
        ReaderOp::Read => (r.read().ok(), None),
        ReaderOp::TryRead => (r.try_read().ok(), Some(r)),
        ReaderOp::ReadTimeout => (r.read_timeout(Duration::from_millis(1)).ok(), Some(r)),
        ReaderOp::Drop => {
            drop(r);
            (None, None)
        }
    }
}

/// Checks one run's outcome. `header` is whether the header-level sequence delivered its
/// value, `rust` the Rust writer's result (`None` when it was dropped unwritten).
fn check(
    ops: HeaderOps,
    w: WriterOp,
    r: ReaderOp,
    header: bool,
    rust: Option<Result<(), WriteError<Counted>>>,
    got: Option<Counted>,
) {
    let ctx = format!("{ops:?} x {w:?} x {r:?}");
    let rust_ok = matches!(rust, Some(Ok(())));
    assert!(!(header && rust_ok), "two deliveries: {ctx}");
    if let Some(Err(e)) = &rust {
        assert_eq!(e.0 .0, BY_RUST, "{ctx}");
    }
    if let Some(v) = &got {
        let expected = if v.0 == BY_HEADER { header } else { rust_ok };
        assert!(expected, "read a value nobody delivered ({}): {ctx}", v.0);
    }
    if r == ReaderOp::Read {
        assert_eq!(got.is_some(), header || rust_ok, "{ctx}");
    }
}

fn after_matrix<B: Backend>() {
    let mut all = CONCURRENT_OPS.to_vec();
    all.push(HeaderOps::ProbeRead);
    for (ops, open) in all.into_iter().flat_map(|o| [(o, false), (o, true)]) {
        for w in WRITER_OPS {
            for r in READER_OPS {
                let drops = Arc::new(AtomicUsize::new(0));
                let (mut writer, reader) = future_with::<Counted, B>();
                if open {
                    writer.allow_raw_writes();
                }
                let header = run_header_ops(reader.raw(), ops, &drops);
                let rust = match w {
                    WriterOp::Write => Some(writer.write(Counted(BY_RUST, drops.clone()))),
                    WriterOp::Drop => {
                        drop(writer);
                        None
                    }
                };
                let (got, rest) = reader_op(r, reader);
                let created = usize::from(w == WriterOp::Write)
                    + usize::from(matches!(ops, HeaderOps::Write | HeaderOps::WriteClose));
                check(ops, w, r, header, rust, got);
                drop(rest);
                assert_eq!(drops.load(SeqCst), created, "{ops:?} x {w:?} x {r:?}");
            }
        }
    }
}

fn concurrent_matrix<B: Backend>() {
    for (ops, open) in CONCURRENT_OPS
        .into_iter()
        .flat_map(|o| [(o, false), (o, true)])
    {
        for w in WRITER_OPS {
            for r in READER_OPS {
                for _ in 0..rounds() {
                    let drops = Arc::new(AtomicUsize::new(0));
                    let (mut writer, reader) = future_with::<Counted, B>();
                    if open {
                        writer.allow_raw_writes();
                    }
                    let raw_ptr = HeaderPtr(reader.raw());
                    let d = drops.clone();
                    let h = thread::spawn(move || {
                        // SAFETY: the reader handle keeps the header alive until this thread
                        // is joined (the reader is dropped only after the join).
                        let raw = unsafe { raw_ptr.get() };
                        run_header_ops(raw, ops, &d)
                    });
                    let d = drops.clone();
                    let wt = thread::spawn(move || match w {
                        WriterOp::Write => Some(writer.write(Counted(BY_RUST, d))),
                        WriterOp::Drop => {
                            drop(writer);
                            None
                        }
                    });
                    // The blocking read and the drop would end the reader's handle while the
                    // header-level sequence may still run: they wait for it first.
                    let (header, got, rest) = match r {
                        ReaderOp::Read | ReaderOp::Drop => {
                            let header = h.join().unwrap();
                            let (got, rest) = reader_op(r, reader);
                            (header, got, rest)
                        }
                        _ => {
                            let (got, rest) = reader_op(r, reader);
                            (h.join().unwrap(), got, rest)
                        }
                    };
                    let rust = wt.join().unwrap();
                    let created = usize::from(w == WriterOp::Write)
                        + usize::from(matches!(ops, HeaderOps::Write | HeaderOps::WriteClose));
                    check(ops, w, r, header, rust, got);
                    drop(rest);
                    assert_eq!(drops.load(SeqCst), created, "{ops:?} x {w:?} x {r:?}");
                }
            }
        }
    }
}

#[test]
fn after_header_ops_spin() {
    after_matrix::<Spin>();
}

#[test]
fn after_header_ops_futex() {
    after_matrix::<Futex>();
}

#[test]
fn after_header_ops_listener() {
    after_matrix::<Listener>();
}

#[test]
fn beside_header_ops_spin() {
    concurrent_matrix::<Spin>();
}

#[test]
fn beside_header_ops_futex() {
    concurrent_matrix::<Futex>();
}

#[test]
fn beside_header_ops_listener() {
    concurrent_matrix::<Listener>();
}
