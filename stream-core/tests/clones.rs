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
