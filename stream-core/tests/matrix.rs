//! The writer × reader action matrix on real threads, for every backend (and under Miri,
//! with fewer rounds).
#![cfg(not(stream_loom))]

mod common;

use std::thread;
use std::time::Duration;

use common::matrix::{check, drops_len, reader_side, writer_side, READER_ACTIONS, WRITER_ACTIONS};
use common::{scaled, Drops};
use stream_core::{stream_with, Backend};

fn matrix<B: Backend>() {
    let rounds = scaled(100);
    for wa in WRITER_ACTIONS {
        for ra in READER_ACTIONS {
            for round in 0..rounds {
                let drops = Drops::new(drops_len(wa));
                let (w, r) = stream_with::<_, B>();
                // Vary who starts first and the reader's timeout.
                let timeout = Duration::from_micros([0, 50, 2_000][round % 3]);
                let d = drops.clone();
                let writer = thread::spawn(move || writer_side(w, wa, &d));
                if round % 2 == 0 {
                    thread::yield_now();
                }
                let r = reader_side(r, ra, timeout);
                let w = writer.join().unwrap();
                check(wa, ra, w, r, &drops);
            }
        }
    }
}

#[cfg(feature = "spin")]
#[test]
fn matrix_spin() {
    matrix::<stream_events::Spin>();
}

#[cfg(feature = "futex")]
#[test]
fn matrix_futex() {
    matrix::<stream_events::Futex>();
}

#[cfg(feature = "listener")]
#[test]
fn matrix_listener() {
    matrix::<stream_events::Listener>();
}
