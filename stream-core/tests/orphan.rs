//! A reader dropped while the writer holds its buffer (issue 27): the drop never waits; the
//! read and the buffer are handed to the stream, and the writer's commit or return ends the
//! read, drops what it committed and frees the buffer (each element dropped once, the buffer
//! freed once: Miri checks both). Every test runs both sides on one thread, where a drop
//! that waits for the writer can never return: a watchdog turns that hang into a failure.
//! Also: a panicking element drop in a reader's drop leaks nothing.
#![cfg(not(stream_loom))]

mod common;

use std::mem::MaybeUninit;
use std::sync::mpsc;
use std::time::Duration;

use common::{Drops, Tracked};
use stream_core::{stream_with, BatchWriter, BufferedReader, Futex, ReadAhead};

/// Runs `f` on its own thread and fails if it does not finish within a minute (a drop that
/// waits for a writer on the same thread never does), instead of hanging the test run.
fn within_a_minute<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = f();
        tx.send(()).unwrap();
        r
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => t.join().unwrap(),
        // A panic drops `tx`: report the panic itself.
        Err(mpsc::RecvTimeoutError::Disconnected) => match t.join() {
            Ok(_) => unreachable!(),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("hung: a drop waited for a writer on its own thread")
        }
    }
}

/// The case, without an executor: the writer holds the buffer with an element in
/// it, the reader is dropped on the same thread, then the writer flushes. The drop returns
/// at once; the flush finds nobody to deliver to and gives the element back.
#[test]
fn buffered_reader_dropped_while_a_batch_writer_holds_its_buffer() {
    within_a_minute(|| {
        let drops = Drops::new(3);
        let (w, r) = stream_with::<Tracked, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert_eq!(reader.try_fill(), Err(stream_core::TryReadError::Empty));
        let mut w = BatchWriter::new(w);
        assert_eq!(w.hold(), Ok(4));
        let mut items = drops.make(0..3);
        let third = items.pop().unwrap();
        for item in items {
            w.push(item).unwrap();
        }
        drop(reader); // Must not wait for the writer's commit.
        assert!(w.writer().is_closed());
        assert_eq!(w.pushed(), 2);
        // Writing into the held buffer after the reader is gone is still fine (Miri).
        w.push(third).unwrap();
        assert_eq!(w.commit(), 0, "nobody was left to deliver to");
        let back = w.take_undelivered();
        assert_eq!(back.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((0..3).map(|i| drops.count(i)).sum::<usize>(), 0);
        drop(back);
        assert_eq!(w.hold(), Err(stream_core::WriteError::Closed(())));
        drop(w);
        drops.assert_each_dropped_once();
    });
}

/// As above, and the batch writer is dropped with the elements held: its commit ends the
/// orphaned read, drops the elements and frees the buffer.
#[test]
fn batch_writer_dropped_after_the_reader() {
    within_a_minute(|| {
        let drops = Drops::new(2);
        let (w, r) = stream_with::<Tracked, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let mut w = BatchWriter::new(w);
        w.hold().unwrap();
        for item in drops.make(0..2) {
            w.push(item).unwrap();
        }
        drop(reader);
        drop(w);
        drops.assert_each_dropped_once();
    });
}

/// The writer gives the held buffer back (a flush with nothing pushed, a dropped loan) after
/// the reader is gone: the return ends the read and frees the buffer.
#[test]
fn buffer_given_back_after_the_reader_was_dropped() {
    within_a_minute(|| {
        let (mut w, r) = stream_with::<u64, Futex>();
        let mut reader = BufferedReader::new(r, 8);
        assert!(reader.try_fill().is_err());
        let mut loan = w.try_loan().unwrap();
        loan.as_uninit_mut()[0].write(1);
        drop(reader);
        drop(loan); // Returns the buffer: the orphaned read ends, the buffer is freed.
        assert!(w.is_closed());
        assert!(w.try_send(2).is_err());
        let mut w = BatchWriter::new(w);
        assert_eq!(w.commit(), 0);
    });
}

/// A raw writer (as C code would) commits into the buffer of a reader that was dropped:
/// `finish_writing` succeeds as before, and the elements are dropped once.
#[test]
fn raw_commit_after_the_reader_was_dropped() {
    within_a_minute(|| {
        let drops = Drops::new(2);
        let (w, r) = stream_with::<Tracked, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let raw = w.raw();
        // SAFETY: we act for `w`'s handle and end the write below, before it is dropped;
        // we initialise the two elements we commit.
        unsafe {
            let (addr, capacity) = raw.start_writing().unwrap();
            assert_eq!(capacity, 4);
            for (i, item) in drops.make(0..2).into_iter().enumerate() {
                addr.cast::<Tracked>().add(i).write(item);
            }
            drop(reader);
            assert!(raw.finish_writing(2));
        }
        drops.assert_each_dropped_once();
        assert!(!raw.is_writing());
        assert!(!raw.is_read_pending());
        drop(w);
    });
}

/// A `BufferedReader` over one of two reader handles is dropped while the writer holds its
/// buffer: the other handle sees the read busy until the writer commits, then reads on;
/// the committed elements (the dropped reader's) are dropped, not delivered to the clone.
#[test]
fn reader_clone_reads_on_after_an_orphaned_read() {
    within_a_minute(|| {
        let drops = Drops::new(3);
        let (mut w, r) = stream_with::<Tracked, Futex>();
        let mut clone = r.clone();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let loan = w.try_loan().unwrap();
        drop(reader);
        assert!(!clone.is_closed(), "another reader handle is alive");
        let mut slot = [MaybeUninit::uninit()];
        assert_eq!(
            clone.try_read_uninit(&mut slot),
            Err(stream_core::TryReadError::Busy)
        );
        // Nothing delivered (0): the commit dropped the elements with the orphaned buffer.
        assert_eq!(loan.fill_from_iter(drops.make(0..2)), 0);
        assert_eq!((drops.count(0), drops.count(1)), (1, 1));
        // The reader end is free again: the clone reads the next element.
        let t = std::thread::spawn(move || {
            let item = drops.make(2..3).pop().unwrap();
            w.send(item).map_err(|_| ()).unwrap();
            drops
        });
        let got = clone.recv().unwrap();
        assert_eq!(got.id, 2);
        drop(got);
        t.join().unwrap().assert_each_dropped_once();
    });
}

/// `ReadAhead` dropped while the writer holds its lent (second) buffer: the drop frees the
/// other buffer and returns; the writer's commit frees the lent one.
#[test]
fn read_ahead_dropped_while_the_writer_holds_a_buffer() {
    within_a_minute(|| {
        let (mut w, r) = stream_with::<u32, Futex>();
        let mut reader = ReadAhead::new(r, 4);
        let t = std::thread::spawn(move || {
            w.write_slice(&[1, 2]).unwrap();
            w
        });
        assert_eq!(reader.next_chunk().unwrap(), [1, 2]);
        let mut w = t.join().unwrap();
        assert!(reader.is_pending(), "the other buffer is lent");
        let loan = w.try_loan().unwrap();
        drop(reader);
        assert_eq!(loan.copy_from_slice(&[3, 4, 5]), 0, "nobody to deliver to");
        assert!(w.is_closed());
        assert!(!w.raw().is_read_pending());
    });
}

/// An element whose drop panics once.
struct PanicsOnDrop {
    panics: bool,
    drops: Drops,
    id: usize,
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        let _ = self.drops.make(self.id..self.id + 1).pop();
        if self.panics {
            panic!("element {} panics in its drop", self.id);
        }
    }
}

/// A `BufferedReader` dropped with buffered elements, one of which panics in its drop: the
/// others are still dropped, and the buffer is freed (Miri: no leak).
#[test]
fn buffered_reader_drop_survives_a_panicking_element() {
    let drops = Drops::new(3);
    let (mut w, r) = stream_with::<PanicsOnDrop, Futex>();
    let mut reader = BufferedReader::new(r, 4);
    let d = drops.clone();
    let t = std::thread::spawn(move || {
        let mut items: Vec<_> = (0..3)
            .map(|id| PanicsOnDrop {
                panics: id == 1,
                drops: d.clone(),
                id,
            })
            .collect();
        assert_eq!(w.write_vec(&mut items), Ok(3));
    });
    assert_eq!(reader.fill(), Ok(3));
    t.join().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(reader)));
    assert!(panic.is_err(), "the element's panic reaches the caller");
    drops.assert_each_dropped_once();
}

/// The same panic in an orphaned read's elements, dropped by the writer's commit of a loan:
/// the buffer is freed, the other element dropped, the stream left consistent.
#[test]
fn orphaned_read_survives_a_panicking_element() {
    let drops = Drops::new(2);
    let (mut w, r) = stream_with::<PanicsOnDrop, Futex>();
    let mut reader = BufferedReader::new(r, 4);
    assert!(reader.try_fill().is_err());
    let loan = w.try_loan().unwrap();
    drop(reader);
    let items = (0..2).map(|id| PanicsOnDrop {
        panics: id == 0,
        drops: drops.clone(),
        id,
    });
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loan.fill_from_iter(items)));
    assert!(
        panic.is_err(),
        "the element's panic reaches the committing writer"
    );
    drops.assert_each_dropped_once();
    assert!(!w.raw().is_writing() && !w.raw().is_read_pending());
    assert!(w
        .try_send(PanicsOnDrop {
            panics: false,
            drops: Drops::new(1),
            id: 0
        })
        .is_err());
}

/// End of stream still reads as before when nothing is orphaned (a reader that closes and
/// then reads what the writer committed into its pending read).
#[test]
fn closed_reader_still_takes_a_commit() {
    within_a_minute(|| {
        let (w, r) = stream_with::<u32, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let mut w = BatchWriter::new(w);
        w.hold().unwrap();
        w.push(7).unwrap();
        reader.reader().close();
        assert_eq!(
            w.commit(),
            1,
            "a closed reader with its read pending still reads"
        );
        assert_eq!(reader.try_fill(), Ok(1));
        assert_eq!(reader.pop(), Some(7));
        assert_eq!(
            reader.try_fill().unwrap_err(),
            stream_core::TryReadError::Closed
        );
    });
}

/// A loan's commit into the buffer of a reader that was dropped meanwhile delivers nothing,
/// and says so: `commit_one` and `move_from_vec` give the elements back, `copy_from_slice`
/// returns 0; the writer's own `send` and `write` report `Closed` with the elements.
#[test]
fn commits_that_find_the_reader_gone_give_the_elements_back() {
    within_a_minute(|| {
        let drops = Drops::new(4);
        let (mut w, r) = stream_with::<Tracked, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let loan = w.try_loan().unwrap();
        drop(reader);
        let mut items = drops.make(0..3);
        assert_eq!(loan.move_from_vec(&mut items), 0, "nothing delivered");
        assert_eq!(items.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((0..3).map(|i| drops.count(i)).sum::<usize>(), 0);
        drop(items);

        let (mut w, r) = stream_with::<Tracked, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let loan = w.try_loan().unwrap();
        drop(reader);
        let back = loan
            .commit_one(drops.make(3..4).pop().unwrap())
            .unwrap_err();
        assert_eq!((back.id, drops.count(3)), (3, 0));
        drop(back);
        drops.assert_each_dropped_once();

        let (mut w, r) = stream_with::<u8, Futex>();
        let mut reader = BufferedReader::new(r, 4);
        assert!(reader.try_fill().is_err());
        let loan = w.try_loan().unwrap();
        drop(reader);
        assert_eq!(loan.copy_from_slice(b"abc"), 0);
    });
}
