//! The rows of `stream_round_trip`: one-element round trips through two one-way channels
//! ([`round_trips`]), crossbeam-channel's and native streams.
//!
//! May touch: the channels and streams it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::time::Duration;

use stream_core::stream_with;
use stream_events::Backend;

use crate::two_threads;

/// Times `iters` round trips through two crossbeam-channel channels of capacity `cap`: the
/// timed thread sends `i` and asserts that `i + 1` comes back; the partner answers until the
/// first channel disconnects, and must have answered `iters` times.
pub fn crossbeam_round_trips(iters: u64, cap: usize) -> Duration {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(cap);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(cap);
    round_trips(
        iters,
        move |v| ping_tx.send(v).unwrap(),
        move || pong_rx.recv().unwrap(),
        move || ping_rx.recv().ok(),
        move |v| pong_tx.send(v).unwrap(),
    )
}

/// `iters` round trips between two threads through two one-way channels given as closures:
/// the timed thread sends `i` with `send_ping` and expects `i + 1` from `recv_pong`; the
/// partner answers every value `recv_ping` yields until it yields `None`, which it must do
/// once the timed side's closures are dropped (their sender with them). Asserts every reply
/// and that the partner answered `iters` times; returns the timed thread's elapsed time.
pub fn round_trips(
    iters: u64,
    mut send_ping: impl FnMut(u64),
    mut recv_pong: impl FnMut() -> u64,
    mut recv_ping: impl FnMut() -> Option<u64> + Send,
    mut send_pong: impl FnMut(u64) + Send,
) -> Duration {
    let (elapsed, answered) = two_threads(
        move |gate| {
            let start = gate.open();
            for i in 0..iters {
                send_ping(i);
                assert_eq!(recv_pong(), i + 1);
            }
            let elapsed = start.elapsed();
            // Dropping the ping sender ends the partner's loop.
            drop(send_ping);
            elapsed
        },
        move |gate| {
            gate.open();
            let mut answered = 0u64;
            while let Some(v) = recv_ping() {
                send_pong(v + 1);
                answered += 1;
            }
            answered
        },
    );
    assert_eq!(answered, iters);
    elapsed
}

/// `iters` one-element round trips ([`round_trips`]) through two native streams with backend
/// `B`: `send` one way, `recv` the other.
pub fn round_trip_native<B: Backend>(iters: u64) -> Duration {
    let (mut ping_w, mut ping_r) = stream_with::<u64, B>();
    let (mut pong_w, mut pong_r) = stream_with::<u64, B>();
    round_trips(
        iters,
        move |v| ping_w.send(v).unwrap(),
        move || pong_r.recv().unwrap(),
        move || ping_r.recv().ok(),
        move |v| pong_w.send(v).unwrap(),
    )
}
