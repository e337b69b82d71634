//! The writer × reader action matrix, shared by the threaded, Miri and loom runs.
//!
//! Each side performs one action and then drops its handle (which closes its end, so a
//! partner still blocked wakes up). Afterwards the harness checks what both sides saw: every
//! element is either received or given back, never both, never neither (except none, since no
//! action forgets an element), each is dropped exactly once, and the outcomes that are
//! determined by the pair are the expected ones.

use std::mem::MaybeUninit;
use std::time::Duration;

use stream_core::{Backend, ReadError, ReadTimeoutError, Reader, TryReadError, WriteError, Writer};

use super::{Drops, Tracked};

/// Capacity of the buffer every reading action lends.
pub const CAPACITY: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterAction {
    /// Writes 2 elements (fewer than the capacity).
    Write,
    /// Writes 5 elements: the buffer takes 3, 2 are given back.
    PartialWrite,
    /// Takes a loan, fills 1 element, commits.
    LoanCommit,
    /// Takes a loan and drops it uncommitted.
    LoanDrop,
    /// Closes the writer end, checks that a write then fails at once, closes again.
    Close,
    /// Drops the writer.
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderAction {
    /// Blocking read.
    Read,
    /// One non-blocking read.
    TryRead,
    /// A read with a short timeout.
    ReadTimeout,
    /// Low level: start a read, then cancel it.
    Cancel,
    /// Closes the reader end, checks that a read then fails at once, closes again.
    Close,
    /// Drops the reader.
    Drop,
}

pub const WRITER_ACTIONS: [WriterAction; 6] = [
    WriterAction::Write,
    WriterAction::PartialWrite,
    WriterAction::LoanCommit,
    WriterAction::LoanDrop,
    WriterAction::Close,
    WriterAction::Drop,
];

pub const READER_ACTIONS: [ReaderAction; 6] = [
    ReaderAction::Read,
    ReaderAction::TryRead,
    ReaderAction::ReadTimeout,
    ReaderAction::Cancel,
    ReaderAction::Close,
    ReaderAction::Drop,
];

/// What the writer side ended with.
#[derive(Debug)]
pub struct WriterOutcome {
    /// Elements the writer offered.
    pub offered: usize,
    /// Elements the writer says it delivered.
    pub delivered: usize,
    /// Elements given back (never delivered).
    pub returned: Vec<Tracked>,
    /// Whether the write failed because the stream is closed.
    pub closed: bool,
}

/// What the reader side ended with.
#[derive(Debug)]
pub struct ReaderOutcome {
    /// Elements received.
    pub received: Vec<Tracked>,
    /// Whether the read failed with end of stream / closed.
    pub closed: bool,
}

/// The writer's action, then drop.
pub fn writer_side<B: Backend>(
    mut w: Writer<Tracked, B>,
    action: WriterAction,
    drops: &Drops,
) -> WriterOutcome {
    let mut out = WriterOutcome {
        offered: 0,
        delivered: 0,
        returned: Vec::new(),
        closed: false,
    };
    match action {
        WriterAction::Write | WriterAction::PartialWrite => {
            let n = if action == WriterAction::Write { 2 } else { 5 };
            let mut items = drops.make(0..n);
            out.offered = n;
            match w.write_vec(&mut items) {
                Ok(k) => out.delivered = k,
                Err(WriteError::Closed(())) => out.closed = true,
                Err(e) => panic!("{action:?}: {e:?}"),
            }
            assert_eq!(items.len(), n - out.delivered);
            out.returned = items;
        }
        WriterAction::LoanCommit => {
            out.offered = 1;
            let mut items = drops.make(0..1);
            match w.loan() {
                Ok(loan) => {
                    assert!(loan.capacity() >= 1);
                    out.delivered = loan.fill_from_iter(items.drain(..));
                }
                Err(WriteError::Closed(())) => out.closed = true,
                Err(e) => panic!("{action:?}: {e:?}"),
            }
            out.returned = items;
        }
        WriterAction::LoanDrop => match w.loan() {
            Ok(loan) => drop(loan),
            Err(WriteError::Closed(())) => out.closed = true,
            Err(e) => panic!("{action:?}: {e:?}"),
        },
        WriterAction::Close => {
            w.close();
            // Closed stays closed: a later write fails at once, whatever the reader does.
            assert!(matches!(
                w.write_vec(&mut Vec::new()),
                Err(WriteError::Closed(()))
            ));
            w.close();
        }
        WriterAction::Drop => {}
    }
    drop(w);
    out
}

/// The reader's action, then drop.
pub fn reader_side<B: Backend>(
    mut r: Reader<Tracked, B>,
    action: ReaderAction,
    timeout: Duration,
) -> ReaderOutcome {
    let mut out = ReaderOutcome {
        received: Vec::new(),
        closed: false,
    };
    let mut buf: Vec<MaybeUninit<Tracked>> = (0..CAPACITY).map(|_| MaybeUninit::uninit()).collect();
    let n = match action {
        ReaderAction::Read => match r.read_uninit(&mut buf) {
            Ok(n) => n,
            Err(ReadError::Closed) => {
                out.closed = true;
                0
            }
            Err(e) => panic!("{action:?}: {e:?}"),
        },
        ReaderAction::TryRead => match r.try_read_uninit(&mut buf) {
            Ok(n) => n,
            Err(TryReadError::Empty) => 0,
            Err(TryReadError::Closed) => {
                out.closed = true;
                0
            }
            Err(e) => panic!("{action:?}: {e:?}"),
        },
        ReaderAction::ReadTimeout => match r.read_uninit_timeout(&mut buf, timeout) {
            Ok(n) => n,
            Err(ReadTimeoutError::Timeout) => 0,
            Err(ReadTimeoutError::Closed) => {
                out.closed = true;
                0
            }
            Err(e) => panic!("{action:?}: {e:?}"),
        },
        ReaderAction::Cancel => {
            let raw = r.raw();
            // SAFETY: `buf` outlives the read, which `cancel_read` ends before we use `buf`.
            match unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) } {
                Ok(()) => {
                    super::matrix_pause();
                    // SAFETY: our start succeeded; we own the pending read.
                    unsafe { raw.cancel_read() }
                }
                Err(stream_core::StartReadError::Closed) => {
                    out.closed = true;
                    0
                }
                Err(e) => panic!("{action:?}: {e:?}"),
            }
        }
        ReaderAction::Close => {
            r.close();
            // Closed stays closed: a later read fails at once, whatever the writer does.
            assert_eq!(r.read_uninit(&mut buf), Err(ReadError::Closed));
            r.close();
            0
        }
        ReaderAction::Drop => 0,
    };
    drop(r);
    assert!(n <= CAPACITY);
    for slot in &mut buf[..n] {
        // SAFETY: the read (or cancel) reported `n` initialised elements, each taken once.
        out.received.push(unsafe { slot.assume_init_read() });
    }
    out
}

/// Checks one pair's outcomes, then drops every element and checks each was dropped once.
pub fn check(
    wa: WriterAction,
    ra: ReaderAction,
    w: WriterOutcome,
    r: ReaderOutcome,
    drops: &Drops,
) {
    let ctx = format!("{wa:?} x {ra:?}: {w:?} / {r:?}");
    // Conservation: what the writer delivered is what the reader received, in order.
    assert_eq!(w.delivered, r.received.len(), "{ctx}");
    assert_eq!(w.delivered + w.returned.len(), w.offered, "{ctx}");
    let ids: Vec<usize> = r
        .received
        .iter()
        .chain(w.returned.iter())
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, (0..w.offered).collect::<Vec<_>>(), "{ctx}");
    for id in 0..w.offered {
        assert_eq!(drops.count(id), 0, "{ctx}: element {id} dropped early");
    }

    // Outcomes the pair determines.
    let writes = matches!(
        wa,
        WriterAction::Write | WriterAction::PartialWrite | WriterAction::LoanCommit
    );
    if writes && ra == ReaderAction::Read {
        assert_eq!(w.delivered, w.offered.min(CAPACITY), "{ctx}");
    }
    if matches!(
        wa,
        WriterAction::LoanDrop | WriterAction::Close | WriterAction::Drop
    ) {
        assert!(r.received.is_empty(), "{ctx}");
        if ra == ReaderAction::Read {
            assert!(r.closed, "{ctx}");
        }
    }
    if matches!(ra, ReaderAction::Close | ReaderAction::Drop) && wa != WriterAction::Close {
        // The reader never lent a buffer: a writer action that needs one fails as closed.
        if wa != WriterAction::Drop {
            assert!(w.closed, "{ctx}");
        }
        assert_eq!(w.delivered, 0, "{ctx}");
    }
    drop(r);
    drop(w);
    for id in 0..drops_len(wa) {
        assert_eq!(drops.count(id), 1, "{ctx}: element {id}");
    }
}

/// How many elements the writer action makes.
pub fn drops_len(wa: WriterAction) -> usize {
    match wa {
        WriterAction::Write => 2,
        WriterAction::PartialWrite => 5,
        WriterAction::LoanCommit => 1,
        _ => 0,
    }
}
