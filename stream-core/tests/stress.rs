//! Stress: many counted elements through random buffer sizes, with random cancels from both
//! sides and random early closes; none lost, none duplicated, none reordered, each dropped
//! exactly once, and every handle released.
//!
//! `STREAM_STRESS_ELEMENTS` sets the element count per backend (default 10^7, far fewer under
//! Miri); `STREAM_STRESS_SEED` replays a run (the seed is printed).
#![cfg(not(stream_loom))]

mod common;

use std::mem::MaybeUninit;
use std::thread;
use std::time::Duration;

use common::{Drops, Tracked};
use stream_core::{
    stream_with, Backend, ReadError, ReadTimeoutError, Reader, TryReadError, TryWriteError,
    WriteError, WriteTimeoutError, Writer,
};

const SEGMENT: usize = 100_000;
const MAX_BUF: usize = 256;

fn total() -> usize {
    if cfg!(miri) {
        return 300;
    }
    std::env::var("STREAM_STRESS_ELEMENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

fn seed() -> u64 {
    std::env::var("STREAM_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            if cfg!(miri) {
                7
            } else {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            }
        })
}

/// When one side stops early.
#[derive(Debug, Clone, Copy)]
enum Early {
    None,
    /// The writer closes after this many elements.
    Writer(usize),
    /// The reader closes after this many elements.
    Reader(usize),
}

fn writer_side<B: Backend>(
    mut w: Writer<Tracked, B>,
    mut source: std::vec::IntoIter<Tracked>,
    early: Early,
    seed: u64,
) -> Vec<Tracked> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut pending: Vec<Tracked> = Vec::with_capacity(2 * MAX_BUF);
    let mut sent = 0usize;
    loop {
        if let Early::Writer(k) = early {
            if sent >= k {
                if rng.bool() {
                    w.close();
                }
                break;
            }
        }
        if pending.len() < MAX_BUF {
            pending.extend(source.by_ref().take(MAX_BUF));
        }
        if pending.is_empty() {
            break;
        }
        let result: Result<usize, &str> = match rng.u8(0..10) {
            0..=4 => w.write_vec(&mut pending).map_err(|e| match e {
                WriteError::Closed(()) => "closed",
                _ => "busy",
            }),
            5 => match w.write_vec_timeout(&mut pending, Duration::from_micros(rng.u64(0..50))) {
                Ok(n) => Ok(n),
                Err(WriteTimeoutError::Timeout(())) => Ok(0),
                Err(WriteTimeoutError::Closed(())) => Err("closed"),
                Err(_) => Err("busy"),
            },
            6 => match w.try_write_vec(&mut pending) {
                Ok(n) => Ok(n),
                Err(TryWriteError::NotReady(())) => Ok(0),
                Err(TryWriteError::Closed(())) => Err("closed"),
                Err(_) => Err("busy"),
            },
            7 => match w.loan() {
                // A cancelled write: the buffer goes back, the read stays pending.
                Ok(loan) => {
                    drop(loan);
                    Ok(0)
                }
                Err(WriteError::Closed(())) => Err("closed"),
                Err(_) => Err("busy"),
            },
            8 => match w.loan() {
                Ok(loan) => {
                    let take = rng.usize(1..=loan.capacity().min(pending.len()));
                    let n = loan.fill_from_iter(pending.drain(..take));
                    // 0: a reader that stopped early dropped its ring while we held it; the
                    // elements were not delivered and were dropped here.
                    match n {
                        0 => Err("closed"),
                        n => {
                            assert_eq!(n, take);
                            Ok(n)
                        }
                    }
                }
                Err(WriteError::Closed(())) => Err("closed"),
                Err(_) => Err("busy"),
            },
            _ => match w.write_vec(&mut Vec::new()) {
                // A readiness probe moves nothing.
                Ok(0) => Ok(0),
                Ok(n) => panic!("a probe wrote {n}"),
                Err(WriteError::Closed(())) => Err("closed"),
                Err(_) => Err("busy"),
            },
        };
        match result {
            Ok(n) => sent += n,
            Err("closed") => break,
            Err(e) => panic!("writer: {e}"),
        }
    }
    drop(w);
    pending.extend(source);
    pending
}

fn read_some<B: Backend>(
    r: &mut Reader<Tracked, B>,
    buf: &mut [MaybeUninit<Tracked>],
    rng: &mut fastrand::Rng,
) -> Result<usize, ()> {
    match rng.u8(0..10) {
        0..=5 => r
            .read_uninit(buf)
            .map_err(|e| assert_eq!(e, ReadError::Closed)),
        6 => match r.read_uninit_timeout(buf, Duration::from_micros(rng.u64(0..50))) {
            Ok(n) => Ok(n),
            Err(ReadTimeoutError::Timeout) => Ok(0),
            Err(ReadTimeoutError::Closed) => Err(()),
            Err(e) => panic!("reader: {e:?}"),
        },
        7 => match r.try_read_uninit(buf) {
            Ok(n) => Ok(n),
            Err(TryReadError::Empty) => Ok(0),
            Err(TryReadError::Closed) => Err(()),
            Err(e) => panic!("reader: {e:?}"),
        },
        _ => {
            // Low level: lend, let the writer run a little, cancel.
            let raw = r.raw();
            // SAFETY: `buf` outlives the read, which `cancel_read` ends below.
            match unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) } {
                Ok(()) => {
                    for _ in 0..rng.u32(0..200) {
                        std::hint::spin_loop();
                    }
                    // SAFETY: our start succeeded; we own the pending read.
                    Ok(unsafe { raw.cancel_read() })
                }
                Err(stream_core::StartReadError::Closed) => Err(()),
                Err(e) => panic!("reader: {e:?}"),
            }
        }
    }
}

/// Runs one stream of `n` elements; returns how many were delivered.
fn segment<B: Backend>(n: usize, rng: &mut fastrand::Rng) -> usize {
    let drops = Drops::new(n);
    let (w, r) = stream_with::<Tracked, B>();
    let early = match rng.u8(0..4) {
        0 => Early::Writer(rng.usize(0..n)),
        1 => Early::Reader(rng.usize(0..n)),
        _ => Early::None,
    };
    let source = drops.make(0..n).into_iter();
    let wseed = rng.u64(..);
    let writer = thread::spawn(move || writer_side(w, source, early, wseed));

    // A third of the segments read through an open lend (a ring lent once): by iteration or
    // through a `BufferedReader`.
    let (received, ring) = match rng.u8(0..6) {
        0 => (iterate(r, early, rng), true),
        1 => (buffered(r, early, rng), true),
        _ => (read_classic(r, early, rng), false),
    };
    let rest = writer.join().unwrap();
    if let Early::None = early {
        assert_eq!(received, n);
    }
    // The writer's leftovers are the stream's last elements, in order. With a ring, a reader
    // that stopped early leaves elements published into it unread (its drop drops them);
    // otherwise nothing is between what was read and what came back.
    let first_back = n - rest.len();
    if ring && matches!(early, Early::Reader(_)) {
        assert!(received <= first_back, "{early:?}");
    } else {
        assert_eq!(received, first_back, "{early:?}");
    }
    for (i, item) in rest.iter().enumerate() {
        assert_eq!(item.id, first_back + i);
    }
    drop(rest);
    drops.assert_each_dropped_once();
    received
}

/// Reads with `for x in reader.iter()` (an open lend); stops after `k` for `Early::Reader(k)`.
fn iterate<B: Backend>(mut r: Reader<Tracked, B>, early: Early, rng: &mut fastrand::Rng) -> usize {
    let mut received = 0usize;
    for item in r.iter() {
        assert_eq!(item.id, received, "lost, duplicated or reordered");
        received += 1;
        if matches!(early, Early::Reader(k) if received >= k) {
            break;
        }
    }
    if rng.bool() {
        r.close();
    }
    received
}

/// Reads through a `BufferedReader` of a random capacity (its ring), taking elements one by
/// one or dropping them in place; stops after `k` for `Early::Reader(k)` (dropping the
/// reader mid-stream, possibly while the writer holds the ring).
fn buffered<B: Backend>(r: Reader<Tracked, B>, early: Early, rng: &mut fastrand::Rng) -> usize {
    let mut br = stream_core::BufferedReader::new(r, rng.usize(1..=MAX_BUF));
    let mut received = 0usize;
    while !matches!(early, Early::Reader(k) if received >= k) {
        match br.fill() {
            Ok(n) => {
                let take = rng.usize(1..=n);
                if rng.bool() {
                    for item in &br.buffer()[..take] {
                        assert_eq!(item.id, received, "lost, duplicated or reordered");
                        received += 1;
                    }
                    br.consume(take);
                } else {
                    for _ in 0..take {
                        let item = br.pop().expect("filled");
                        assert_eq!(item.id, received, "lost, duplicated or reordered");
                        received += 1;
                    }
                }
            }
            Err(ReadError::Closed) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    received
}

/// Reads into buffers of random sizes with random cancels (one buffer lent at a time).
fn read_classic<B: Backend>(
    mut r: Reader<Tracked, B>,
    early: Early,
    rng: &mut fastrand::Rng,
) -> usize {
    let mut buf: Vec<MaybeUninit<Tracked>> = (0..MAX_BUF).map(|_| MaybeUninit::uninit()).collect();
    let mut received = 0usize;
    loop {
        if let Early::Reader(k) = early {
            if received >= k {
                if rng.bool() {
                    r.close();
                }
                break;
            }
        }
        // Sometimes a zero-capacity probe.
        let cap = if rng.u8(0..50) == 0 {
            0
        } else {
            rng.usize(1..=MAX_BUF)
        };
        match read_some(&mut r, &mut buf[..cap], rng) {
            Ok(k) => {
                assert!(k <= cap);
                for slot in &mut buf[..k] {
                    // SAFETY: the read reported `k` initialised elements; each is taken once.
                    let item = unsafe { slot.assume_init_read() };
                    assert_eq!(item.id, received, "lost, duplicated or reordered");
                    received += 1;
                }
            }
            Err(()) => break,
        }
    }
    received
}

fn stress<B: Backend>() {
    let seed = seed();
    println!("stress {}: STREAM_STRESS_SEED={seed}", B::NAME);
    let mut rng = fastrand::Rng::with_seed(seed);
    // Count delivered elements (early closes deliver fewer than offered) until the total.
    let target = total();
    let (mut delivered, mut streams) = (0, 0);
    while delivered < target {
        let n = (target - delivered).min(if cfg!(miri) { 100 } else { SEGMENT });
        delivered += segment::<B>(n, &mut rng);
        streams += 1;
    }
    println!(
        "stress {}: {delivered} elements delivered over {streams} streams",
        B::NAME
    );
}

#[cfg(feature = "spin")]
#[test]
fn stress_spin() {
    stress::<stream_events::Spin>();
}

#[cfg(feature = "futex")]
#[test]
fn stress_futex() {
    stress::<stream_events::Futex>();
}

#[cfg(feature = "listener")]
#[test]
fn stress_listener() {
    stress::<stream_events::Listener>();
}
