//! Loom models of the writer × reader action matrix, and of handle counting.
//!
//! `RUSTFLAGS="--cfg stream_loom" cargo test -p stream-core --test loom --release`.
//! `LOOM_MAX_PREEMPTIONS` bounds the search (default here: 2). Each model prints how many
//! interleavings it explored.
#![cfg(stream_loom)]

mod common;

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::matrix::{
    check, drops_len, reader_side, writer_side, ReaderAction, WriterAction, READER_ACTIONS,
    WRITER_ACTIONS,
};
use common::Drops;
use stream_core::stream_with;
use stream_events::Futex;

/// Runs `f` under loom and returns how many interleavings it explored.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    let n = runs.load(Relaxed);
    println!("loom model {name}: {n} interleavings");
    n
}

fn pair(wa: WriterAction, ra: ReaderAction) -> usize {
    model(&format!("matrix {wa:?} x {ra:?}"), move || {
        let drops = Drops::new(drops_len(wa));
        let (w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || writer_side(w, wa, &d));
        let r = reader_side(r, ra, Duration::ZERO);
        let w = writer.join().unwrap();
        check(wa, ra, w, r, &drops);
    })
}

/// Every pair of the matrix. Pairs in which neither side waits for the other explore few
/// interleavings by nature; the total shows the strength of the whole.
#[test]
fn matrix() {
    let mut total = 0;
    let mut weakest = usize::MAX;
    for wa in WRITER_ACTIONS {
        for ra in READER_ACTIONS {
            let n = pair(wa, ra);
            total += n;
            weakest = weakest.min(n);
        }
    }
    println!("loom matrix: {total} interleavings in all, weakest pair {weakest}");
    assert!(total >= 100 * 36, "matrix too weak: {total}");
}

/// Both ends' handles dropped concurrently, with clones: the header is freed once, after
/// every use (loom checks the cells touched before the free).
#[test]
fn concurrent_drops_free_once() {
    let n = model("concurrent drops", || {
        let (w, r) = stream_with::<u8, Futex>();
        let r2 = r.clone();
        let w2 = w.clone();
        let a = loom::thread::spawn(move || drop(r2));
        let b = loom::thread::spawn(move || drop(w2));
        drop(r);
        drop(w);
        a.join().unwrap();
        b.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A writer streaming several elements while the reader reads them one per read.
#[test]
fn stream_of_three() {
    let n = model("stream of three", || {
        let (mut w, mut r) = stream_with::<u32, Futex>();
        let t = loom::thread::spawn(move || {
            for i in 0..3 {
                w.send(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(r.recv(), Ok(i));
        }
        assert_eq!(r.recv(), Err(stream_core::ReadError::Closed));
        t.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}
