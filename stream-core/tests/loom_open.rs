//! Loom models of the open lend (`docs/design.md`, "The open lend"): a writer publishing
//! into a ring the reader keeps lent, against a reader consuming, waiting for room, closing,
//! cancelling and dropping at each point.
//!
//! `RUSTFLAGS="--cfg stream_loom" cargo test -p stream-core --test loom_open --release`.
//! `LOOM_MAX_PREEMPTIONS` bounds the search (default here: 3). Each model prints how many
//! interleavings it explored.
#![cfg(stream_loom)]

mod common;

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use common::Drops;
use stream_core::{stream_with, ReadAhead, ReadError, WriteError};
use stream_events::Futex;

/// Runs `f` under loom with `default_bound` preemptions (unless `LOOM_MAX_PREEMPTIONS` is
/// set) and returns how many interleavings it explored.
fn model(name: &str, default_bound: usize, f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_bound);
    }
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    let n = runs.load(Relaxed);
    println!("loom model {name}: {n} interleavings");
    n
}

/// Six elements through a ring of four (`ReadAhead::new(r, 1)`): the writer runs ahead until
/// the ring is full, then waits for room; the reader consumes chunk by chunk, publishing its
/// position, and sees end of stream after the last. Every element arrives once, in order.
#[test]
fn ring_fills_and_drains() {
    let n = model("ring fills and drains", 2, || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || {
            for v in 0..6 {
                w.send(v).unwrap();
            }
        });
        let mut reader = ReadAhead::new(r, 1);
        let mut got = Vec::new();
        while let Ok(chunk) = reader.next_chunk() {
            got.extend_from_slice(chunk);
        }
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert!(!reader.is_pending());
        writer.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// The reader closes its end while the writer may be waiting for room in a full ring, or
/// holding it: the writer wakes with `Closed` (its element given back), and what it sent
/// before arrives in order.
#[test]
fn reader_closes_while_the_ring_is_full() {
    let n = model("reader closes while the ring is full", 2, || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || {
            for v in 0..6 {
                match w.send(v) {
                    Ok(()) => {}
                    Err(WriteError::Closed(back)) => {
                        assert_eq!(back, v);
                        return v;
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            6
        });
        let mut reader = ReadAhead::new(r, 1);
        let mut got = Vec::new();
        if let Ok(chunk) = reader.next_chunk() {
            got.extend_from_slice(chunk);
        }
        reader.reader().close();
        loop {
            match reader.next_chunk() {
                Ok(chunk) => got.extend_from_slice(chunk),
                Err(ReadError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        let sent = writer.join().unwrap();
        assert!(got.iter().copied().eq(0..sent), "sent {sent}, got {got:?}");
    });
    assert!(n >= 100, "too weak: {n}");
}

/// An iterating reader takes one element and is dropped while the writer sends more into
/// its ring (perhaps holding the ring at that moment: the drop then hands the lend to the
/// writer, whose commit ends it and drops what the ring holds). Every element is dropped
/// exactly once: received, dropped with the ring, or given back by the failed send.
#[test]
fn iterating_reader_dropped_mid_stream() {
    let n = model("iterating reader dropped mid-stream", 3, || {
        let drops = Drops::new(3);
        let (mut w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut back = Vec::new();
            for item in d.make(0..3) {
                if let Err(WriteError::Closed(item)) = w.send(item) {
                    back.push(item);
                }
            }
            back
        });
        let mut it = r.into_iter();
        let first = it.next().expect("the first element");
        assert_eq!(first.id, 0);
        drop(it);
        let back = writer.join().unwrap();
        assert!(back.windows(2).all(|p| p[0].id < p[1].id));
        drop(first);
        drop(back);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 100, "too weak: {n}");
}
