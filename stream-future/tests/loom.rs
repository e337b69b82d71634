//! Loom models of the future's writer × reader action matrix.
//!
//! `RUSTFLAGS="--cfg stream_loom" cargo test -p stream-future --test loom --release`.
#![cfg(stream_loom)]

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use stream_events::Futex;
use stream_future::future_with;

mod common;
use common::mixed::{
    run_header_ops, Counted as Tagged, HeaderPtr, BY_HEADER, BY_RUST, CONCURRENT_OPS,
};

/// A value that counts its drops.
struct Counted(Arc<StdAtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn model(name: &str, f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = Arc::new(StdAtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    let n = runs.load(Relaxed);
    println!("loom model {name}: {n} interleavings");
    n
}

#[test]
fn matrix() {
    let mut total = 0;
    for write in [true, false] {
        for reader in ["read", "try_read", "read_timeout", "drop"] {
            total += model(&format!("future write={write} x {reader}"), move || {
                let drops = Arc::new(StdAtomicUsize::new(0));
                let (w, mut r) = future_with::<Counted, Futex>();
                let d = drops.clone();
                let t = loom::thread::spawn(move || {
                    if write {
                        w.write(Counted(d)).err().map(|e| e.into_inner())
                    } else {
                        drop(w);
                        None
                    }
                });
                let got = match reader {
                    "read" => {
                        // `read` consumes the reader; stand a fresh one in for the drop below.
                        let (_, fresh) = future_with::<Counted, Futex>();
                        core::mem::replace(&mut r, fresh).read().ok()
                    }
                    "try_read" => r.try_read().ok(),
                    "read_timeout" => r.read_timeout(Duration::ZERO).ok(),
                    _ => None,
                };
                drop(r);
                let back = t.join().unwrap();
                assert!(!(got.is_some() && back.is_some()));
                if reader == "read" {
                    assert_eq!(got.is_some(), write);
                }
                drop(got);
                drop(back);
                assert_eq!(drops.load(SeqCst), usize::from(write));
            });
        }
    }
    println!("loom future matrix: {total} interleavings in all");
    assert!(total >= 800, "too weak: {total}");
}

/// The mixed matrix under loom: the Rust writer's `write` beside each header-level sequence
/// (C code acting for the writer end, `common/mixed.rs`), then the reader; and each sequence
/// beside the reader's `try_read`. At most one value is delivered, the other comes back or
/// is dropped by its writer, each is dropped once.
#[test]
fn mixed_matrix() {
    let mut total = 0;
    for (ops, open) in CONCURRENT_OPS
        .into_iter()
        .flat_map(|o| [(o, false), (o, true)])
    {
        total += model(
            &format!("future write beside {ops:?}, open {open}"),
            move || {
                let drops = Arc::new(StdAtomicUsize::new(0));
                let (mut w, mut r) = future_with::<Tagged, Futex>();
                if open {
                    w.allow_raw_writes();
                }
                let d = drops.clone();
                let t = loom::thread::spawn(move || w.write(Tagged(BY_RUST, d)));
                let header = run_header_ops(r.raw(), ops, &drops);
                let rust = t.join().unwrap();
                let got = r.try_read().ok();
                assert!(!(header && rust.is_ok()));
                match &got {
                    Some(v) if v.0 == BY_HEADER => assert!(header),
                    Some(_) => assert!(rust.is_ok()),
                    None => assert!(!header && rust.is_err()),
                }
                let created = 1 + usize::from(matches!(
                    ops,
                    common::mixed::HeaderOps::Write | common::mixed::HeaderOps::WriteClose
                ));
                drop((rust, got, r));
                assert_eq!(drops.load(SeqCst), created);
            },
        );
        total += model(
            &format!("future try_read beside {ops:?}, open {open}"),
            move || {
                let drops = Arc::new(StdAtomicUsize::new(0));
                let (mut w, mut r) = future_with::<Tagged, Futex>();
                if open {
                    w.allow_raw_writes();
                }
                let raw = HeaderPtr(r.raw());
                let t = loom::thread::spawn(move || {
                    let got = r.try_read().ok();
                    (got, r)
                });
                // SAFETY: `w`, alive until after the join, keeps the header alive; the
                // sequence acts for it.
                let header = run_header_ops(unsafe { raw.get() }, ops, &drops);
                let (got, r) = t.join().unwrap();
                drop(w);
                if let Some(v) = &got {
                    assert_eq!(v.0, BY_HEADER);
                    assert!(header);
                }
                drop((got, r));
                assert_eq!(
                    drops.load(SeqCst),
                    usize::from(matches!(
                        ops,
                        common::mixed::HeaderOps::Write | common::mixed::HeaderOps::WriteClose
                    ))
                );
            },
        );
    }
    println!("loom future mixed matrix: {total} interleavings in all");
    assert!(total >= 200, "too weak: {total}");
}

/// A reader dropped while a raw writer (acting for the future's writer after
/// `allow_raw_writes`, as C does) may hold the slot: the drop ends the read if it can (the
/// value not yet written, or delivered), and otherwise leaves it, without waiting; the value
/// the raw writer commits is then dropped by the writer handle's release. It is dropped
/// exactly once, the allocation freed once.
#[test]
fn reader_dropped_while_a_raw_writer_holds_the_slot() {
    let n = model(
        "future reader dropped while a raw writer holds the slot",
        || {
            let drops = Arc::new(StdAtomicUsize::new(0));
            let (mut w, r) = future_with::<Counted, Futex>();
            w.allow_raw_writes();
            let raw = HeaderPtr(core::ptr::from_ref(r.raw()));
            let d = drops.clone();
            let t = loom::thread::spawn(move || {
                let raw = raw;
                // SAFETY: `w` keeps the header alive until it is dropped, after the write ends;
                // we act for its handle; the slot holds one `Counted`, written before the commit.
                let value = unsafe {
                    match (*raw.0).start_writing() {
                        Ok((addr, 1)) => {
                            addr.cast::<Counted>().write(Counted(d));
                            assert!((*raw.0).finish_writing(1));
                            None
                        }
                        Ok(_) => unreachable!("a future's slot holds one value"),
                        // The reader closed first: the value was never written.
                        Err(_) => Some(Counted(d)),
                    }
                };
                drop(w);
                value
            });
            drop(r);
            drop(t.join().unwrap());
            assert_eq!(drops.load(SeqCst), 1, "dropped exactly once");
        },
    );
    assert!(n >= 20, "too weak: {n}");
}
