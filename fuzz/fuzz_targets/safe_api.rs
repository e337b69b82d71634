//! Fuzz target `safe_api`: arbitrary interleavings of reader and writer operations of
//! stream-core's safe API, with every element an `Item` whose drops are counted.
//!
//! * One thread (`Mode::OneThread`): both ends on the fuzzing thread, through the forms that
//!   never block or wait a few µs: a `BufferedReader` (whose `try_fill` leaves a lend in
//!   place for a later writer) or a plain `Reader` (`try_recv`, `try_read`, `recv_timeout`),
//!   against cloned `Writer`s (`try_send`, `send_timeout`, `try_write`, `write_timeout`,
//!   `try_loan` then fill, move or drop), closes and drops of either end. Each result is
//!   checked against a model of the lend (free or taken), the delivered and the buffered ids.
//! * Two threads (`Mode::TwoThreads`): a writer thread and a reader thread, each choosing its
//!   next operation (blocking, timed or `try_` with yields) and its pauses from a seed; the
//!   reader may drop its end early. The ids read must be exactly the ids the writer was told
//!   were written, in order (a prefix of them if the reader left early).
//!
//! Either way every item made is dropped exactly once by the end of the input (none lost,
//! none duplicated, none leaked).
#![no_main]

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stream_core::{BufferedReader, Reader, TryReadError, TryWriteError, Writer};

const MAX_ITEMS: usize = 1 << 14;
static NEXT: AtomicU32 = AtomicU32::new(0);
static DROPS: [AtomicU8; MAX_ITEMS] = [const { AtomicU8::new(0) }; MAX_ITEMS];

/// An element with an id; its drop is counted, and a second drop panics.
#[derive(Debug)]
struct Item(u32);

impl Item {
    /// A new item, or none when this input has made as many as the registry holds.
    fn new() -> Option<Item> {
        // ORDERING: Relaxed: a counter of ids; each input's items are checked after its
        // threads are joined (the join orders everything before `check_drops`).
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if id as usize >= MAX_ITEMS {
            // ORDERING: Relaxed, as above.
            NEXT.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Item(id))
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        // ORDERING: Relaxed: one counter per item; an RMW sees every earlier drop of the same
        // item, and the check runs after the threads are joined.
        let before = DROPS[self.0 as usize].fetch_add(1, Ordering::Relaxed);
        assert_eq!(before, 0, "item {} dropped twice", self.0);
    }
}

fn items(k: usize) -> Vec<Item> {
    (0..k).map_while(|_| Item::new()).collect()
}

/// Every item made by this input was dropped exactly once; resets the registry.
fn check_drops() {
    // ORDERING: Relaxed: called after every thread of the input was joined.
    let made = NEXT.swap(0, Ordering::Relaxed) as usize;
    for (id, d) in DROPS.iter().enumerate() {
        // ORDERING: Relaxed, as above.
        let d = d.swap(0, Ordering::Relaxed);
        let expected = u8::from(id < made);
        assert_eq!(d, expected, "item {id} of {made} dropped {d} times");
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Fill {
    Iter(u8),
    MoveVec(u8),
    Drop,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    TrySend(u8),
    SendTimeout(u8, u8),
    TryWrite(u8, u8),
    WriteTimeout(u8, u8, u8),
    TryLoan(u8, Fill),
    CloneWriter(u8),
    DropWriter(u8),
    CloseWriter(u8),
    /// `try_fill`, or for a plain reader `try_recv`.
    TryFill,
    /// `try_read` into a buffer of this many slots (plain reader), else `try_fill`.
    TryRead(u8),
    /// `recv_timeout` of this many µs (plain reader), else `try_fill`.
    RecvTimeout(u8),
    Pop,
    Drain(u8),
    Consume(u8),
    Cancel,
    TryCancel,
    CloseReader,
    DropReader,
}

#[derive(Arbitrary, Debug)]
struct OneThread {
    /// A `BufferedReader` of `1 + capacity % 8` slots, or (`None`) a plain `Reader`.
    buffered: Option<u8>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
struct TwoThreads {
    seed: u64,
    items: u16,
    buffered: Option<u8>,
    /// The reader drops its end after this many items.
    stop_after: Option<u16>,
    clone_writer: bool,
}

#[derive(Arbitrary, Debug)]
enum Mode {
    OneThread(OneThread),
    TwoThreads(TwoThreads),
}

enum ReaderEnd {
    Buffered(BufferedReader<Item>),
    Plain(Reader<Item>),
    Gone,
}

/// What the one-thread model knows.
#[derive(Default)]
struct Model {
    /// A lend no writer has taken: its capacity.
    lent: Option<usize>,
    /// Ids committed into the lent buffer, not yet seen by the reader.
    delivered: Vec<u32>,
    /// Ids in the `BufferedReader`'s buffer, oldest first.
    buffered: VecDeque<u32>,
    rclosed: bool,
    wclosed: bool,
}

/// The expected outcome of a write attempt: `Err(())` closed, `Ok(None)` nothing lent,
/// `Ok(Some(cap))` a lend to fill.
fn write_outcome(m: &Model) -> Result<Option<usize>, ()> {
    if m.rclosed || m.wclosed {
        Err(())
    } else {
        Ok(m.lent)
    }
}

fn us(n: u8) -> Duration {
    Duration::from_micros(1 + u64::from(n % 20))
}

/// Records `ids` as delivered into the lend.
fn deliver(m: &mut Model, ids: impl IntoIterator<Item = u32>) {
    let before = m.delivered.len();
    m.delivered.extend(ids);
    if m.delivered.len() > before {
        m.lent = None;
    }
}

fn one_thread(input: OneThread) {
    let (w, r) = stream_core::stream::<Item>();
    let mut writers = vec![w];
    let mut reader = match input.buffered {
        Some(c) => ReaderEnd::Buffered(BufferedReader::new(r, 1 + usize::from(c % 8))),
        None => ReaderEnd::Plain(r),
    };
    let mut m = Model::default();
    for op in input.ops.into_iter().take(300) {
        let wi = |i: u8, n: usize| usize::from(i) % n.max(1);
        match op {
            Op::TrySend(i) | Op::SendTimeout(i, _) => {
                if writers.is_empty() {
                    continue;
                }
                let Some(item) = Item::new() else { continue };
                let id = item.0;
                let at = wi(i, writers.len());
                let w = &mut writers[at];
                let timed = matches!(op, Op::SendTimeout(..));
                let got = match op {
                    Op::SendTimeout(_, t) => w.send_timeout(item, us(t)).map_err(|e| {
                        let closed = matches!(e, stream_core::WriteTimeoutError::Closed(_));
                        (closed, e.into_inner())
                    }),
                    _ => w
                        .try_send(item)
                        .map_err(|e| (matches!(e, TryWriteError::Closed(_)), e.into_inner())),
                };
                match (write_outcome(&m), got) {
                    (Ok(Some(_)), Ok(())) => deliver(&mut m, [id]),
                    (Ok(None), Err((false, back))) | (Err(()), Err((true, back))) => {
                        assert_eq!(back.0, id, "the value given back");
                    }
                    (want, got) => panic!("send (timed {timed}): {want:?} but {got:?}"),
                }
            }
            Op::TryWrite(i, k) | Op::WriteTimeout(i, k, _) => {
                if writers.is_empty() {
                    continue;
                }
                let mut v = items(usize::from(k % 10));
                let ids: Vec<u32> = v.iter().map(|x| x.0).collect();
                let at = wi(i, writers.len());
                let w = &mut writers[at];
                let got = match op {
                    Op::WriteTimeout(_, _, t) => w
                        .write_vec_timeout(&mut v, us(t))
                        .map_err(|e| matches!(e, stream_core::WriteTimeoutError::Closed(_))),
                    _ => w
                        .try_write_vec(&mut v)
                        .map_err(|e| matches!(e, TryWriteError::Closed(_))),
                };
                match (write_outcome(&m), got) {
                    (Ok(Some(cap)), Ok(n)) => {
                        assert_eq!(n, cap.min(ids.len()), "moved of {} into {cap}", ids.len());
                        deliver(&mut m, ids[..n].iter().copied());
                        let rest: Vec<u32> = v.iter().map(|x| x.0).collect();
                        assert_eq!(rest, ids[n..], "the rest stays in order");
                    }
                    (Ok(None), Err(false)) | (Err(()), Err(true)) => {
                        assert_eq!(v.len(), ids.len(), "unchanged on error");
                    }
                    (want, got) => panic!("write of {}: {want:?} but {got:?}", ids.len()),
                }
            }
            Op::TryLoan(i, fill) => {
                if writers.is_empty() {
                    continue;
                }
                let at = wi(i, writers.len());
                let w = &mut writers[at];
                let want = write_outcome(&m);
                match (want, w.try_loan()) {
                    (Ok(Some(cap)), Ok(loan)) => {
                        assert_eq!(loan.capacity(), cap);
                        match fill {
                            Fill::Iter(k) => {
                                let mut made = Vec::new();
                                let iter = (0..usize::from(k % 10)).map_while(|_| {
                                    let it = Item::new()?;
                                    made.push(it.0);
                                    Some(it)
                                });
                                let n = loan.fill_from_iter(iter);
                                assert_eq!(made.len(), n, "pulled only what fits");
                                deliver(&mut m, made);
                            }
                            Fill::MoveVec(k) => {
                                let mut v = items(usize::from(k % 10));
                                let ids: Vec<u32> = v.iter().map(|x| x.0).collect();
                                let n = loan.move_from_vec(&mut v);
                                assert_eq!(n, cap.min(ids.len()));
                                deliver(&mut m, ids[..n].iter().copied());
                                assert_eq!(v.iter().map(|x| x.0).collect::<Vec<_>>(), ids[n..]);
                            }
                            Fill::Drop => drop(loan),
                        }
                    }
                    (Ok(None), Err(TryWriteError::NotReady(()))) => {}
                    (Err(()), Err(TryWriteError::Closed(()))) => {}
                    (want, got) => panic!("try_loan: {want:?} but {:?}", got.map(|l| l.capacity())),
                }
            }
            Op::CloneWriter(i) => {
                if !writers.is_empty() {
                    let c = writers[wi(i, writers.len())].clone();
                    writers.push(c);
                }
            }
            Op::DropWriter(i) => {
                if !writers.is_empty() {
                    writers.swap_remove(wi(i, writers.len()));
                    if writers.is_empty() {
                        m.wclosed = true;
                    }
                }
            }
            Op::CloseWriter(i) => {
                if !writers.is_empty() {
                    writers[wi(i, writers.len())].close();
                    m.wclosed = true;
                }
            }
            Op::TryFill | Op::TryRead(_) | Op::RecvTimeout(_) => match &mut reader {
                ReaderEnd::Buffered(b) => {
                    let got = b.try_fill();
                    let want = if !m.buffered.is_empty() {
                        Ok(m.buffered.len())
                    } else if !m.delivered.is_empty() {
                        m.buffered.extend(m.delivered.drain(..));
                        Ok(m.buffered.len())
                    } else if m.rclosed || m.wclosed {
                        m.lent = None;
                        Err(TryReadError::Closed)
                    } else {
                        m.lent.get_or_insert(b.capacity());
                        Err(TryReadError::Empty)
                    };
                    assert_eq!(got, want, "try_fill");
                    assert_eq!(
                        b.buffer().iter().map(|x| x.0).collect::<VecDeque<_>>(),
                        m.buffered
                    );
                    assert_eq!(b.is_pending(), m.lent.is_some());
                }
                ReaderEnd::Plain(r) => {
                    // One thread: no writer ever waits, so nothing can be read.
                    let closed = m.rclosed || m.wclosed;
                    match op {
                        Op::RecvTimeout(t) => {
                            let e = r.recv_timeout(us(t)).map(|x| x.0).unwrap_err();
                            let want = if closed {
                                stream_core::ReadTimeoutError::Closed
                            } else {
                                stream_core::ReadTimeoutError::Timeout
                            };
                            assert_eq!(e, want, "recv_timeout");
                        }
                        Op::TryRead(k) => {
                            let mut buf: Vec<MaybeUninit<Item>> = (0..usize::from(k % 5))
                                .map(|_| MaybeUninit::uninit())
                                .collect();
                            let e = r.try_read_uninit(&mut buf).unwrap_err();
                            let want = if closed {
                                TryReadError::Closed
                            } else {
                                TryReadError::Empty
                            };
                            assert_eq!(e, want, "try_read");
                        }
                        _ => {
                            let e = r.try_recv().map(|x| x.0).unwrap_err();
                            let want = if closed {
                                TryReadError::Closed
                            } else {
                                TryReadError::Empty
                            };
                            assert_eq!(e, want, "try_recv");
                        }
                    }
                }
                ReaderEnd::Gone => {}
            },
            Op::Pop | Op::Drain(_) | Op::Consume(_) | Op::Cancel | Op::TryCancel => {
                let ReaderEnd::Buffered(b) = &mut reader else {
                    continue;
                };
                match op {
                    Op::Pop => assert_eq!(b.pop().map(|x| x.0), m.buffered.pop_front(), "pop"),
                    Op::Drain(k) => {
                        let mut v = Vec::new();
                        let n = b.drain_into(&mut v, usize::from(k));
                        let want: Vec<u32> = m
                            .buffered
                            .drain(..m.buffered.len().min(usize::from(k)))
                            .collect();
                        assert_eq!(n, want.len(), "drain_into({k})");
                        assert_eq!(v.iter().map(|x| x.0).collect::<Vec<_>>(), want, "drain");
                    }
                    Op::Consume(k) => {
                        let n = usize::from(k) % (m.buffered.len() + 1);
                        b.consume(n);
                        m.buffered.drain(..n);
                    }
                    _ => {
                        let n = if matches!(op, Op::Cancel) {
                            b.cancel()
                        } else {
                            assert!(b.try_cancel(), "one thread: the writer is not copying");
                            m.delivered.len()
                        };
                        assert_eq!(n, m.delivered.len(), "cancel");
                        m.buffered.extend(m.delivered.drain(..));
                        m.lent = None;
                    }
                }
                assert_eq!(
                    b.buffer().iter().map(|x| x.0).collect::<VecDeque<_>>(),
                    m.buffered
                );
            }
            Op::CloseReader => {
                match &reader {
                    ReaderEnd::Buffered(b) => b.reader().close(),
                    ReaderEnd::Plain(r) => r.close(),
                    ReaderEnd::Gone => continue,
                }
                m.rclosed = true;
            }
            Op::DropReader => {
                reader = ReaderEnd::Gone;
                m.rclosed = true;
                m.lent = None;
                m.delivered.clear();
                m.buffered.clear();
            }
        }
    }
    drop(reader);
    drop(writers);
}

/// A small xorshift generator for the two threads' schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Now and then a yield or a pause of a few µs, so that the two threads interleave in
    /// different ways.
    fn pause(&mut self) {
        match self.below(8) {
            0 => std::thread::yield_now(),
            1 => std::thread::sleep(Duration::from_micros(self.below(30))),
            _ => {}
        }
    }
}

fn writer_thread(
    mut w: Writer<Item>,
    extra: Option<Writer<Item>>,
    n: usize,
    mut rng: Rng,
) -> Vec<u32> {
    let mut acked = Vec::new();
    let mut made = 0;
    while made < n {
        rng.pause();
        let k = (1 + rng.below(8) as usize).min(n - made);
        let closed = match rng.below(6) {
            0 => {
                let Some(it) = Item::new() else { break };
                let id = it.0;
                made += 1;
                w.send(it).map(|()| acked.push(id)).is_err()
            }
            1 | 5 => {
                let mut v = items(k);
                made += k;
                let ids: Vec<u32> = v.iter().map(|x| x.0).collect();
                let r = if rng.below(2) == 0 {
                    w.write_vec(&mut v).map_err(|_| true)
                } else {
                    w.write_vec_timeout(&mut v, Duration::from_micros(rng.below(50)))
                        .map_err(|e| matches!(e, stream_core::WriteTimeoutError::Closed(_)))
                };
                match r {
                    Ok(moved) => {
                        acked.extend_from_slice(&ids[..moved]);
                        false
                    }
                    Err(closed) => closed,
                }
            }
            2 => {
                let Some(it) = Item::new() else { break };
                let id = it.0;
                made += 1;
                match w.send_timeout(it, Duration::from_micros(rng.below(50))) {
                    Ok(()) => {
                        acked.push(id);
                        false
                    }
                    Err(e) => matches!(e, stream_core::WriteTimeoutError::Closed(_)),
                }
            }
            3 => {
                let Some(it) = Item::new() else { break };
                let id = it.0;
                made += 1;
                match w.try_send(it) {
                    Ok(()) => {
                        acked.push(id);
                        false
                    }
                    Err(e) => matches!(e, TryWriteError::Closed(_)),
                }
            }
            _ => match w.loan() {
                Ok(loan) => {
                    made += k;
                    let mut ids = Vec::new();
                    let n = loan.fill_from_iter((0..k).map_while(|_| {
                        let it = Item::new()?;
                        ids.push(it.0);
                        Some(it)
                    }));
                    assert_eq!(n, ids.len());
                    acked.extend(ids);
                    false
                }
                Err(_) => true,
            },
        };
        if closed {
            break;
        }
    }
    drop(extra);
    drop(w);
    acked
}

fn reader_thread(
    r: Reader<Item>,
    buffered: Option<u8>,
    stop: Option<usize>,
    mut rng: Rng,
) -> Vec<u32> {
    let mut got = Vec::new();
    let done = |got: &Vec<u32>| stop.is_some_and(|s| got.len() >= s);
    match buffered {
        Some(c) => {
            let mut b = BufferedReader::new(r, 1 + usize::from(c % 8));
            while !done(&got) {
                rng.pause();
                let r = match rng.below(4) {
                    0 => b.try_fill().or_else(|e| match e {
                        TryReadError::Empty => Ok(0),
                        _ => Err(()),
                    }),
                    1 => {
                        b.cancel();
                        Ok(0)
                    }
                    _ => b.fill().map_err(|_| ()),
                };
                if r.is_err() {
                    break;
                }
                if rng.below(2) == 0 {
                    while let Some(x) = b.pop() {
                        got.push(x.0);
                    }
                } else {
                    let mut v = Vec::new();
                    b.drain_into(&mut v, 1 + rng.below(4) as usize);
                    got.extend(v.iter().map(|x| x.0));
                }
            }
        }
        None => {
            let mut r = r;
            while !done(&got) {
                rng.pause();
                let ended = match rng.below(5) {
                    0 => r.recv().map(|x| got.push(x.0)).is_err(),
                    1 => {
                        let mut v = Vec::new();
                        let e = r.read_append(&mut v, 1 + rng.below(8) as usize).is_err();
                        got.extend(v.iter().map(|x| x.0));
                        e
                    }
                    2 => match r.recv_timeout(Duration::from_micros(rng.below(50))) {
                        Ok(x) => {
                            got.push(x.0);
                            false
                        }
                        Err(e) => e == stream_core::ReadTimeoutError::Closed,
                    },
                    3 => match r.try_recv() {
                        Ok(x) => {
                            got.push(x.0);
                            false
                        }
                        Err(e) => e == TryReadError::Closed,
                    },
                    _ => {
                        let mut buf: Vec<MaybeUninit<Item>> = (0..1 + rng.below(6))
                            .map(|_| MaybeUninit::uninit())
                            .collect();
                        match r.read_uninit_timeout(&mut buf, Duration::from_micros(rng.below(50)))
                        {
                            Ok(n) => {
                                for slot in &mut buf[..n] {
                                    // SAFETY: the read initialised the first `n` slots.
                                    got.push(unsafe { slot.assume_init_read() }.0);
                                }
                                false
                            }
                            Err(e) => e == stream_core::ReadTimeoutError::Closed,
                        }
                    }
                };
                if ended {
                    break;
                }
            }
        }
    }
    got
}

fn two_threads(input: TwoThreads) {
    let n = usize::from(input.items % 600);
    let (w, r) = stream_core::stream::<Item>();
    let extra = input.clone_writer.then(|| w.clone());
    let seed = input.seed | 1;
    let stop = input.stop_after.map(|s| usize::from(s) % (n + 1));
    let buffered = input.buffered;
    let reader =
        std::thread::spawn(move || reader_thread(r, buffered, stop, Rng(seed ^ 0x9e37_79b9)));
    let acked = writer_thread(w, extra, n, Rng(seed));
    let got = reader.join().expect("reader thread");
    assert!(
        got.len() <= acked.len(),
        "read {} of {} written",
        got.len(),
        acked.len()
    );
    assert_eq!(
        got,
        acked[..got.len()],
        "read in the order written, none twice"
    );
    if stop.is_none() {
        assert_eq!(got.len(), acked.len(), "every written item read");
    }
}

fuzz_target!(|mode: Mode| {
    match mode {
        Mode::OneThread(t) => one_thread(t),
        Mode::TwoThreads(t) => two_threads(t),
    }
    check_drops();
});
