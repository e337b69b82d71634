//! Clones take turns: writer clones behave as mpsc `Sender`s (every `send` delivered, none
//! refused with `Busy`) and reader clones as a work queue (each element to exactly one of
//! them, iteration ends only at end of stream).
#![cfg(not(stream_loom))]

use std::thread;

use stream_core::{stream, Writer};

/// Runs `clones` writer clones, each on its own thread writing `per` elements with `write`
/// (clone `k` writes `k * per + i`), and checks what the reader iterates: each clone's
/// elements in its order, none lost or duplicated.
fn clones_deliver_in_order(
    clones: u32,
    per: u32,
    write: impl Fn(&mut Writer<u32>, u32) + Clone + Send + 'static,
) {
    let (w, r) = stream::<u32>();
    let senders: Vec<_> = (0..clones)
        .map(|k| {
            let (mut w, write) = (w.clone(), write.clone());
            thread::spawn(move || {
                for i in 0..per {
                    write(&mut w, k * per + i);
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
    for k in 0..clones {
        let mine: Vec<u32> = got.iter().copied().filter(|v| v / per == k).collect();
        assert!(mine.windows(2).all(|p| p[0] < p[1]), "sender {k} reordered");
    }
    got.sort_unstable();
    assert!(
        got.iter().copied().eq(0..clones * per),
        "lost or duplicated"
    );
}

#[test]
fn writer_clones_send_like_mpsc_senders() {
    let per = if cfg!(miri) { 50 } else { 10_000 };
    clones_deliver_in_order(4, per, |w, v| {
        w.send(v).expect("every send is delivered");
    });
}

/// The async loan of a writer clone waits its turn while another clone writes (each sender
/// runs its own executor on its own thread).
#[test]
fn writer_clones_loan_async_in_turn() {
    let per = if cfg!(miri) { 30 } else { 5_000 };
    clones_deliver_in_order(3, per, |w, v| {
        futures_lite::future::block_on(async {
            let loan = w.loan_async().await.expect("no Busy, no close");
            assert_eq!(loan.commit_one(v), Ok(()));
        });
    });
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
