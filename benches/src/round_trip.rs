//! The rows of the round-trip groups (`stream_round_trip`, the channel peers of
//! `events_round_trip`, the disturbed round trips; every profile): one element there and back
//! through two one-way channels ([`round_trips`]). Each row is defined once, as a
//! [`RoundTripRow`], and a [`Drive`] says how it is run: timed as a whole ([`Timed`]), or one
//! round trip at a time with the partner stopping now and then
//! ([`Disturbed`](crate::Disturbed)).
//!
//! May touch: the channels and streams it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::time::Duration;

use stream_core::stream_with;
use stream_events::{Backend, Futex, Listener, Spin};

use crate::two_threads;

/// A backend of ours, as a value (the rows are values; the backends are types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeBackend {
    /// [`Spin`].
    Spin,
    /// [`Futex`].
    Futex,
    /// [`Listener`].
    Listener,
}

impl NativeBackend {
    /// Every backend, in table order.
    pub const ALL: [NativeBackend; 3] = [
        NativeBackend::Spin,
        NativeBackend::Futex,
        NativeBackend::Listener,
    ];

    /// The row name: `spin`, `futex`, `listener`.
    pub fn name(self) -> &'static str {
        match self {
            NativeBackend::Spin => "spin",
            NativeBackend::Futex => "futex",
            NativeBackend::Listener => "listener",
        }
    }
}

/// What carries the element each way in a round-trip row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundTripRow {
    /// Two native streams of `u64` with this backend (`send` / `recv`).
    Native(NativeBackend),
    /// Two `crossbeam_channel::bounded(cap)`.
    Crossbeam(usize),
    /// Two `kanal::bounded(cap)`.
    Kanal(usize),
    /// Two `flume::bounded(cap)`.
    Flume(usize),
    /// Two `std::sync::mpsc::sync_channel(cap)`.
    StdSyncChannel(usize),
}

/// Every round-trip row, in table order: the native rows, then the peers (the channels users
/// would otherwise pick, each at the capacities that suit a round trip).
pub const ROUND_TRIP_ROWS: &[RoundTripRow] = &[
    RoundTripRow::Native(NativeBackend::Spin),
    RoundTripRow::Native(NativeBackend::Futex),
    RoundTripRow::Native(NativeBackend::Listener),
    RoundTripRow::Crossbeam(1),
    RoundTripRow::Crossbeam(0),
    RoundTripRow::Kanal(1),
    RoundTripRow::Kanal(0),
    RoundTripRow::Flume(1),
    RoundTripRow::StdSyncChannel(1),
    RoundTripRow::StdSyncChannel(0),
];

impl RoundTripRow {
    /// The row's name in every table: `spin`, `crossbeam_bounded1`, `kanal_bounded0`,
    /// `flume_bounded1`, `std_sync_channel0`, ...
    pub fn name(self) -> &'static str {
        match self {
            RoundTripRow::Native(backend) => backend.name(),
            RoundTripRow::Crossbeam(0) => "crossbeam_bounded0",
            RoundTripRow::Crossbeam(1) => "crossbeam_bounded1",
            RoundTripRow::Kanal(0) => "kanal_bounded0",
            RoundTripRow::Kanal(1) => "kanal_bounded1",
            RoundTripRow::Flume(0) => "flume_bounded0",
            RoundTripRow::Flume(1) => "flume_bounded1",
            RoundTripRow::StdSyncChannel(0) => "std_sync_channel0",
            RoundTripRow::StdSyncChannel(1) => "std_sync_channel1",
            _ => "round_trip_other_capacity",
        }
    }

    /// Whether the row is one of ours.
    pub fn is_native(self) -> bool {
        matches!(self, RoundTripRow::Native(_))
    }

    /// Makes the row's two channels and runs `drive` over them.
    pub fn run<D: Drive>(self, drive: D) -> D::Output {
        match self {
            RoundTripRow::Native(NativeBackend::Spin) => native::<Spin, D>(drive),
            RoundTripRow::Native(NativeBackend::Futex) => native::<Futex, D>(drive),
            RoundTripRow::Native(NativeBackend::Listener) => native::<Listener, D>(drive),
            RoundTripRow::Crossbeam(cap) => {
                let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(cap);
                let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(cap);
                drive.drive(
                    move |v| ping_tx.send(v).unwrap(),
                    move || pong_rx.recv().unwrap(),
                    move || ping_rx.recv().ok(),
                    move |v| pong_tx.send(v).unwrap(),
                )
            }
            RoundTripRow::Kanal(cap) => {
                let (ping_tx, ping_rx) = kanal::bounded::<u64>(cap);
                let (pong_tx, pong_rx) = kanal::bounded::<u64>(cap);
                drive.drive(
                    move |v| ping_tx.send(v).unwrap(),
                    move || pong_rx.recv().unwrap(),
                    move || ping_rx.recv().ok(),
                    move |v| pong_tx.send(v).unwrap(),
                )
            }
            RoundTripRow::Flume(cap) => {
                let (ping_tx, ping_rx) = flume::bounded::<u64>(cap);
                let (pong_tx, pong_rx) = flume::bounded::<u64>(cap);
                drive.drive(
                    move |v| ping_tx.send(v).unwrap(),
                    move || pong_rx.recv().unwrap(),
                    move || ping_rx.recv().ok(),
                    move |v| pong_tx.send(v).unwrap(),
                )
            }
            RoundTripRow::StdSyncChannel(cap) => {
                let (ping_tx, ping_rx) = std::sync::mpsc::sync_channel::<u64>(cap);
                let (pong_tx, pong_rx) = std::sync::mpsc::sync_channel::<u64>(cap);
                drive.drive(
                    move |v| ping_tx.send(v).unwrap(),
                    move || pong_rx.recv().unwrap(),
                    move || ping_rx.recv().ok(),
                    move |v| pong_tx.send(v).unwrap(),
                )
            }
        }
    }

    /// Times `iters` round trips of this row ([`Timed`]).
    pub fn time(self, iters: u64) -> Duration {
        self.run(Timed { iters })
    }
}

fn native<B: Backend, D: Drive>(drive: D) -> D::Output {
    let (mut ping_w, mut ping_r) = stream_with::<u64, B>();
    let (mut pong_w, mut pong_r) = stream_with::<u64, B>();
    drive.drive(
        move |v| ping_w.send(v).unwrap(),
        move || pong_r.recv().unwrap(),
        move || ping_r.recv().ok(),
        move |v| pong_w.send(v).unwrap(),
    )
}

/// How a round-trip row is run over its two channels, given as closures: the timed thread
/// sends with `send_ping` and receives with `recv_pong`; the partner answers every value
/// `recv_ping` yields with `send_pong` until it yields `None`, which it must do once the timed
/// side's closures are dropped.
pub trait Drive {
    /// What a run returns.
    type Output;

    /// Runs the row over these channels.
    fn drive(
        self,
        send_ping: impl FnMut(u64),
        recv_pong: impl FnMut() -> u64,
        recv_ping: impl FnMut() -> Option<u64> + Send,
        send_pong: impl FnMut(u64) + Send,
    ) -> Self::Output;
}

/// Runs `iters` round trips with [`round_trips`]; the output is the timed thread's time.
#[derive(Clone, Copy, Debug)]
pub struct Timed {
    /// Round trips.
    pub iters: u64,
}

impl Drive for Timed {
    type Output = Duration;

    fn drive(
        self,
        send_ping: impl FnMut(u64),
        recv_pong: impl FnMut() -> u64,
        recv_ping: impl FnMut() -> Option<u64> + Send,
        send_pong: impl FnMut(u64) + Send,
    ) -> Duration {
        round_trips(self.iters, send_ping, recv_pong, recv_ping, send_pong)
    }
}

/// Times `iters` round trips through two crossbeam-channel channels of capacity `cap`
/// ([`RoundTripRow::Crossbeam`]).
pub fn crossbeam_round_trips(iters: u64, cap: usize) -> Duration {
    RoundTripRow::Crossbeam(cap).time(iters)
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
    native::<B, Timed>(Timed { iters })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_its_own_name_and_answers() {
        let names: Vec<_> = ROUND_TRIP_ROWS.iter().map(|r| r.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "{name} twice");
            assert_ne!(*name, "round_trip_other_capacity");
        }
        for row in ROUND_TRIP_ROWS {
            row.time(100);
        }
    }
}
