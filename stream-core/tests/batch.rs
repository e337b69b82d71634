//! `BatchWriter`: elements pushed one at a time into the held buffer, committed when it is
//! full, at `flush`, `writer_mut`, `into_inner` and the drop; each dropped exactly once, on
//! every backend (and under Miri).
#![cfg(not(stream_loom))]

use std::sync::{Arc, Mutex};
use std::thread;

use stream_core::{stream_with, Backend, BatchWriter, Futex, Listener, Spin, WriteError};

/// An element that logs its drop.
struct Counted {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(self.id);
    }
}

fn counted(ids: std::ops::Range<usize>, log: &Arc<Mutex<Vec<usize>>>) -> Vec<Counted> {
    ids.map(|id| Counted {
        id,
        log: log.clone(),
    })
    .collect()
}

fn assert_dropped_once(log: &Mutex<Vec<usize>>, n: usize) {
    let mut log = log.lock().unwrap().clone();
    log.sort_unstable();
    assert_eq!(log, (0..n).collect::<Vec<_>>());
}

/// Pushes `n` elements through a reader buffer of 16: batches of 16, in order.
fn pushes_in_batches<B: Backend>() {
    let n = if cfg!(miri) { 101 } else { 10_003 }; // not a multiple of 16
    let log = Arc::default();
    let items = counted(0..n, &log);
    let (w, mut r) = stream_with::<Counted, B>();
    let t = thread::spawn(move || {
        let mut w = BatchWriter::new(w);
        for item in items {
            assert!(w.hold().unwrap() > 0);
            assert!(w.push(item).is_ok());
        }
        w.commit();
    });
    let (mut got, mut batches) = (Vec::new(), Vec::new());
    while let Ok(k) = r.read_append(&mut got, 16) {
        batches.push(k);
    }
    t.join().unwrap();
    assert!(got.iter().map(|c| c.id).eq(0..n));
    let (last, full) = batches.split_last().unwrap();
    assert!(full.iter().all(|&k| k == 16), "{batches:?}");
    assert_eq!(*last, n % 16);
    drop(got);
    assert_dropped_once(&log, n);
}

#[test]
fn pushes_in_batches_spin() {
    pushes_in_batches::<Spin>();
}

#[test]
fn pushes_in_batches_futex() {
    pushes_in_batches::<Futex>();
}

#[test]
fn pushes_in_batches_listener() {
    pushes_in_batches::<Listener>();
}

#[test]
fn push_without_a_buffer_gives_the_value_back() {
    let (w, _r) = stream_with::<u32, Spin>();
    let mut w = BatchWriter::new(w);
    assert_eq!((w.pushed(), w.room()), (0, 0));
    assert_eq!(w.push(7), Err(7));
    assert_eq!(w.commit(), 0);
}

/// Held elements are committed by `flush`, `writer_mut`, `into_inner` and the drop, before
/// anything written after them; a closed reader drops what it never read.
#[test]
fn held_elements_are_committed_in_order() {
    let log = Arc::default();
    let n = 8;
    let mut items = counted(0..n, &log).into_iter();
    let (w, mut r) = stream_with::<Counted, Spin>();
    let t = thread::spawn(move || {
        let mut w = BatchWriter::new(w);
        w.hold().unwrap();
        w.push(items.next().unwrap()).ok().unwrap();
        assert_eq!(w.pushed(), 1);
        assert_eq!(w.commit(), 1);
        w.hold().unwrap();
        w.push(items.next().unwrap()).ok().unwrap();
        // Another write comes after the held element.
        w.writer_mut().send(items.next().unwrap()).ok().unwrap();
        w.hold().unwrap();
        w.push(items.next().unwrap()).ok().unwrap();
        let mut inner = w.into_inner();
        inner.send(items.next().unwrap()).ok().unwrap();
        let mut w = BatchWriter::new(inner);
        w.hold().unwrap();
        w.push(items.next().unwrap()).ok().unwrap();
        // A `close` through `&Writer` leaves the held element to the drop, before the end.
        w.writer().close();
        assert_eq!(w.hold(), Err(WriteError::Closed(())));
        assert_eq!(w.pushed(), 0);
        drop(w);
        items
    });
    let mut got = Vec::new();
    while r.read_append(&mut got, 4).is_ok() {}
    let rest = t.join().unwrap();
    assert!(got.iter().map(|c| c.id).eq(0..6));
    drop((got, rest));
    assert_dropped_once(&log, n);

    // Pushed, then the writer dropped: delivered; the reader drops them unread.
    let log = Arc::default();
    let (w, mut r) = stream_with::<Counted, Spin>();
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        let _ = r.read_append(&mut got, 4);
        got
    });
    let mut w = BatchWriter::new(w);
    w.hold().unwrap();
    for item in counted(0..3, &log) {
        w.push(item).ok().unwrap();
    }
    drop(w);
    let got = t.join().unwrap();
    assert!(got.iter().map(|c| c.id).eq(0..3));
    drop(got);
    assert_dropped_once(&log, 3);
}

#[test]
fn a_second_handle_is_busy_while_a_buffer_is_held() {
    let (w, mut r) = stream_with::<u32, Spin>();
    let other = w.clone();
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        r.read_append(&mut got, 4).unwrap();
        got
    });
    let mut w = BatchWriter::new(w);
    w.hold().unwrap();
    w.push(1).unwrap();
    let mut other = other;
    assert_eq!(other.try_send(2).map_err(|e| e.into_inner()), Err(2));
    drop(w);
    assert_eq!(t.join().unwrap(), [1]);
}

/// `push_slice` fills the held buffer from several slices and commits it when full: slices of
/// 10 into reader buffers of 64 arrive as full batches of 64, every byte in order.
fn push_slice_fills_whole_buffers<B: Backend>() {
    let rounds = if cfg!(miri) { 20 } else { 1_000 };
    let (w, mut r) = stream_with::<u8, B>();
    let t = thread::spawn(move || {
        let mut w = BatchWriter::new(w);
        for i in 0..rounds {
            let slice: Vec<u8> = (0..10).map(|k| (i * 10 + k) as u8).collect();
            let mut rest = &slice[..];
            while !rest.is_empty() {
                assert!(w.hold().unwrap() > 0);
                let k = w.push_slice(rest);
                assert!(k > 0);
                rest = &rest[k..];
            }
        }
        // Without a held buffer nothing is copied.
        w.commit();
        assert_eq!(w.push_slice(b"x"), 0);
    });
    let (mut got, mut batches) = (Vec::new(), Vec::new());
    while let Ok(k) = r.read_append(&mut got, 64) {
        batches.push(k);
    }
    t.join().unwrap();
    assert!(got.iter().copied().eq((0..rounds * 10).map(|v| v as u8)));
    let (last, full) = batches.split_last().unwrap();
    assert!(full.iter().all(|&k| k == 64), "{batches:?}");
    assert_eq!(*last, rounds * 10 % 64);
}

#[test]
fn push_slice_fills_whole_buffers_spin() {
    push_slice_fills_whole_buffers::<Spin>();
}

#[test]
fn push_slice_fills_whole_buffers_futex() {
    push_slice_fills_whole_buffers::<Futex>();
}

#[test]
fn push_slice_fills_whole_buffers_listener() {
    push_slice_fills_whole_buffers::<Listener>();
}

/// `io::Write` on a `BatchWriter<u8>`: small writes fill the lent buffer and are delivered at
/// the flush; a reader dropped while bytes are held makes the flush fail with `BrokenPipe`
/// and `take_undelivered` gives them back; a write after that fails with `BrokenPipe`.
#[test]
fn io_write_delivers_at_the_flush_and_reports_a_dropped_reader() {
    use std::io::{ErrorKind, Write};
    let (writer, reader) = stream_core::stream::<u8>();
    let mut reader = stream_core::BufferedReader::new(reader, 64);
    let mut writer = BatchWriter::new(writer);
    let t = thread::spawn(move || {
        for i in 0..10u8 {
            assert_eq!(writer.write(&[i, i]).unwrap(), 2);
        }
        Write::flush(&mut writer).unwrap();
        writer
    });
    let mut got = Vec::new();
    while got.len() < 20 {
        reader.fill().unwrap();
        got.extend_from_slice(reader.buffer());
        let n = reader.buffer().len();
        reader.consume(n);
    }
    let mut writer = t.join().unwrap();
    assert_eq!(got, (0..10u8).flat_map(|i| [i, i]).collect::<Vec<_>>());
    // The reader lends its buffer again (without waiting); the writer takes it with a
    // write; then the reader is dropped while the bytes are held.
    assert!(reader.try_fill().is_err(), "nothing written yet");
    assert_eq!(writer.write(b"abc").unwrap(), 3);
    drop(reader);
    let err = Write::flush(&mut writer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(writer.take_undelivered(), b"abc");
    assert_eq!(
        writer.write(b"x").unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}
