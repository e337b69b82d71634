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
