//! Clones take turns: writer clones behave as mpsc `Sender`s (every `send` delivered, none
//! refused with `Busy`) and reader clones as a work queue (each element to exactly one of
//! them, iteration ends only at end of stream).
#![cfg(not(stream_loom))]

use std::thread;

use stream_core::stream;

#[test]
fn writer_clones_send_like_mpsc_senders() {
    const PER: u32 = if cfg!(miri) { 50 } else { 10_000 };
    let (w, r) = stream::<u32>();
    let senders: Vec<_> = (0..4)
        .map(|k| {
            let mut w = w.clone();
            thread::spawn(move || {
                for i in 0..PER {
                    w.send(k * PER + i).expect("every send is delivered");
                }
            })
        })
        .collect();
    drop(w);
    let mut got: Vec<u32> = r.into_iter().collect();
    for s in senders {
        s.join().unwrap();
    }
    // Each sender's elements arrive in its order.
    for k in 0..4 {
        let mine: Vec<u32> = got.iter().copied().filter(|v| v / PER == k).collect();
        assert!(mine.windows(2).all(|p| p[0] < p[1]), "sender {k} reordered");
    }
    got.sort_unstable();
    assert!(got.iter().copied().eq(0..4 * PER), "lost or duplicated");
}

/// The async loan of a writer clone waits its turn while another clone writes (each sender
/// runs its own executor on its own thread).
#[test]
fn writer_clones_loan_async_in_turn() {
    const PER: u32 = if cfg!(miri) { 30 } else { 5_000 };
    let (w, r) = stream::<u32>();
    let senders: Vec<_> = (0..3)
        .map(|k| {
            let mut w = w.clone();
            thread::spawn(move || {
                futures_lite::future::block_on(async {
                    for i in 0..PER {
                        let loan = w.loan_async().await.expect("no Busy, no close");
                        assert_eq!(loan.commit_one(k * PER + i), Ok(()));
                    }
                })
            })
        })
        .collect();
    drop(w);
    let mut got: Vec<u32> = r.into_iter().collect();
    for s in senders {
        s.join().unwrap();
    }
    for k in 0..3 {
        let mine: Vec<u32> = got.iter().copied().filter(|v| v / PER == k).collect();
        assert!(mine.windows(2).all(|p| p[0] < p[1]), "sender {k} reordered");
    }
    got.sort_unstable();
    assert!(got.iter().copied().eq(0..3 * PER), "lost or duplicated");
}

/// While one clone holds a loan, another clone's async loan is pending, not `Busy`; it
/// resolves once the first commits and the reader lends again.
#[test]
fn an_async_loan_waits_for_the_clone_that_holds_one() {
    use futures_lite::future::{block_on, poll_once};

    let (mut w, mut r) = stream::<u32>();
    let mut w2 = w.clone();
    let reader = thread::spawn(move || [r.recv().unwrap(), r.recv().unwrap()]);
    let held = w.loan().unwrap();
    let mut second = w2.loan_async();
    assert!(
        block_on(poll_once(&mut second)).is_none(),
        "pending while the other clone writes"
    );
    assert_eq!(held.commit_one(1), Ok(()));
    let loan = block_on(second).expect("its turn came");
    assert_eq!(loan.commit_one(2), Ok(()));
    assert_eq!(reader.join().unwrap(), [1, 2]);
}

#[test]
fn reader_clones_share_the_stream_as_a_work_queue() {
    const N: u64 = if cfg!(miri) { 200 } else { 100_000 };
    let (mut w, r) = stream::<u64>();
    let r2 = r.clone();
    let workers: Vec<_> = [r, r2]
        .into_iter()
        .map(|r| thread::spawn(move || r.into_iter().collect::<Vec<u64>>()))
        .collect();
    for i in 0..N {
        w.send(i).unwrap();
    }
    drop(w);
    let parts: Vec<Vec<u64>> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    for part in &parts {
        assert!(
            part.windows(2).all(|p| p[0] < p[1]),
            "a clone saw elements out of order"
        );
    }
    let mut all: Vec<u64> = parts.concat();
    all.sort_unstable();
    assert!(all.iter().copied().eq(0..N), "lost or duplicated");
}
