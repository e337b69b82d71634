//! Behaviour and the writer × reader action matrix of futures, on real threads for every
//! backend (and under Miri, with fewer rounds), with a drop-counting value.
#![cfg(not(stream_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use stream_events::Backend;
use stream_future::{
    future_with, FutureReader, FutureWriter, ReadError, ReadTimeoutError, TryReadError,
};

/// A value that counts its drops.
#[derive(Debug)]
struct Counted(u64, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

fn rounds() -> usize {
    if cfg!(miri) {
        4
    } else {
        300
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum WriterAction {
    Write,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ReaderAction {
    Read,
    TryRead,
    ReadTimeout,
    Drop,
}

fn matrix<B: Backend>() {
    for wa in [WriterAction::Write, WriterAction::Drop] {
        for ra in [
            ReaderAction::Read,
            ReaderAction::TryRead,
            ReaderAction::ReadTimeout,
            ReaderAction::Drop,
        ] {
            for round in 0..rounds() {
                let drops = Arc::new(AtomicUsize::new(0));
                let (w, r) = future_with::<Counted, B>();
                let d = drops.clone();
                let writer = thread::spawn(move || match wa {
                    WriterAction::Write => match w.write(Counted(round as u64, d)) {
                        Ok(()) => None,
                        Err(e) => Some(e.into_inner()),
                    },
                    WriterAction::Drop => {
                        drop(w);
                        None
                    }
                });
                if round % 2 == 0 {
                    thread::yield_now();
                }
                let (got, closed) = match ra {
                    ReaderAction::Read => match r.read() {
                        Ok(v) => (Some(v), false),
                        Err(ReadError) => (None, true),
                    },
                    ReaderAction::Drop => {
                        drop(r);
                        (None, false)
                    }
                    ReaderAction::TryRead | ReaderAction::ReadTimeout => {
                        let mut r = r;
                        let res = if ra == ReaderAction::TryRead {
                            r.try_read().map_err(|e| e == TryReadError::Closed)
                        } else {
                            r.read_timeout(Duration::from_micros(200))
                                .map_err(|e| e == ReadTimeoutError::Closed)
                        };
                        match res {
                            Ok(v) => (Some(v), false),
                            Err(closed) => (None, closed),
                        }
                    }
                };
                let back = writer.join().unwrap();
                let ctx = format!("{wa:?} x {ra:?} round {round}: got {got:?} back {back:?}");
                // Nothing is lost or duplicated: the value was read, given back, or (written
                // and never read) dropped by the reader's drop.
                let read = got.is_some() as usize;
                let returned = back.is_some() as usize;
                match wa {
                    WriterAction::Write => {
                        assert!(read + returned <= 1, "{ctx}");
                        if ra == ReaderAction::Read {
                            assert_eq!(read, 1, "{ctx}");
                        }
                        if ra == ReaderAction::Drop && returned == 0 {
                            // Written, then dropped unread by the reader's drop.
                            assert_eq!(drops.load(Ordering::SeqCst), 1, "{ctx}");
                        }
                        if let Some(v) = &got {
                            assert_eq!(v.0, round as u64);
                        }
                    }
                    WriterAction::Drop => {
                        assert_eq!(read + returned, 0, "{ctx}");
                        if ra == ReaderAction::Read {
                            assert!(closed, "{ctx}");
                        }
                    }
                }
                drop(got);
                drop(back);
                let expected = usize::from(wa == WriterAction::Write);
                assert_eq!(drops.load(Ordering::SeqCst), expected, "{ctx}: drops");
            }
        }
    }
}

fn write_never_blocks_and_is_read_later<B: Backend>() {
    let (w, r) = future_with::<String, B>();
    w.write("x".into()).unwrap();
    assert!(r.is_ready());
    assert_eq!(r.read().unwrap(), "x");
}

fn reader_already_waiting<B: Backend>() {
    let (w, r) = future_with::<u64, B>();
    let t = thread::spawn(move || r.read());
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
    w.write(5).unwrap();
    assert_eq!(t.join().unwrap(), Ok(5));
}

fn writer_dropped_is_closed<B: Backend>() {
    let (w, mut r) = future_with::<u64, B>();
    assert_eq!(r.try_read(), Err(TryReadError::Empty));
    let start = Instant::now();
    assert_eq!(
        r.read_timeout(Duration::from_millis(5)),
        Err(ReadTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= Duration::from_millis(5));
    drop(w);
    assert_eq!(r.try_read(), Err(TryReadError::Closed));
    assert_eq!(
        r.read_timeout(Duration::from_secs(60)),
        Err(ReadTimeoutError::Closed)
    );
    assert_eq!(r.read(), Err(ReadError));
}

fn reader_dropped_gives_value_back<B: Backend>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (w, r) = future_with::<Counted, B>();
    assert!(!w.is_closed());
    drop(r);
    assert!(w.is_closed());
    let back = w.write(Counted(9, drops.clone())).unwrap_err().into_inner();
    assert_eq!(back.0, 9);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(back);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

fn value_read_once<B: Backend>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (w, mut r) = future_with::<Counted, B>();
    w.write(Counted(1, drops.clone())).unwrap();
    let v = r.try_read().unwrap();
    assert_eq!(r.try_read().unwrap_err(), TryReadError::Closed);
    drop(r);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(v);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

fn handles_are_one_pointer<B: Backend>() {
    use std::mem::size_of;
    assert_eq!(size_of::<FutureWriter<u64, B>>(), size_of::<usize>());
    assert_eq!(size_of::<FutureReader<[u8; 100], B>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<FutureReader<u8, B>>>(), size_of::<usize>());
}

macro_rules! suite {
    ($name:ident, $backend:ty) => {
        mod $name {
            #[test]
            fn matrix() {
                super::matrix::<$backend>();
            }
            #[test]
            fn write_never_blocks_and_is_read_later() {
                super::write_never_blocks_and_is_read_later::<$backend>();
            }
            #[test]
            fn reader_already_waiting() {
                super::reader_already_waiting::<$backend>();
            }
            #[test]
            fn writer_dropped_is_closed() {
                super::writer_dropped_is_closed::<$backend>();
            }
            #[test]
            fn reader_dropped_gives_value_back() {
                super::reader_dropped_gives_value_back::<$backend>();
            }
            #[test]
            fn value_read_once() {
                super::value_read_once::<$backend>();
            }
            #[test]
            fn handles_are_one_pointer() {
                super::handles_are_one_pointer::<$backend>();
            }
        }
    };
}

suite!(spin, stream_events::Spin);
suite!(futex, stream_events::Futex);
suite!(listener, stream_events::Listener);

/// An element aligned above the header's 64 bytes.
#[repr(C, align(128))]
#[derive(Debug)]
struct Align128(u64, Counted);

/// A page-aligned element, larger than the header.
#[repr(C, align(4096))]
#[derive(Debug)]
struct Align4096([u8; 5000], Counted);

fn over_aligned<B: Backend>() {
    let drops = Arc::new(AtomicUsize::new(0));
    // Written and read on another thread.
    let (w, r) = future_with::<Align128, B>();
    let d = drops.clone();
    let t = thread::spawn(move || w.write(Align128(7, Counted(1, d))).unwrap());
    let v = r.read().unwrap();
    t.join().unwrap();
    assert_eq!((v.0, v.1 .0), (7, 1));
    assert_eq!(core::ptr::from_ref(&v) as usize % 128, 0);
    drop(v);
    // Written and never read: dropped with the reader.
    let (w, r) = future_with::<Align4096, B>();
    w.write(Align4096([9; 5000], Counted(2, drops.clone())))
        .unwrap();
    drop(r);
    // The reader gone first: the value comes back.
    let (w, r) = future_with::<Align4096, B>();
    drop(r);
    let back = w
        .write(Align4096([3; 5000], Counted(3, drops.clone())))
        .unwrap_err()
        .into_inner();
    assert!(back.0.iter().all(|&b| b == 3));
    drop(back);
    // Closed without a value.
    let (w, r) = future_with::<Align128, B>();
    drop(w);
    assert_eq!(r.read().unwrap_err(), ReadError);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn over_aligned_elements() {
    over_aligned::<stream_events::Spin>();
    over_aligned::<stream_events::Futex>();
    over_aligned::<stream_events::Listener>();
}
