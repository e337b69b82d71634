//! Fuzz target `safe_api`: arbitrary interleavings of reader and writer operations of
//! stream-core's safe API, with every element an `Item` whose drops are counted.
//!
//! * One thread (`Mode::OneThread`): both ends on the fuzzing thread, through the forms that
//!   never block or wait a few µs: a `BufferedReader` (whose `try_fill` leaves a lend in
//!   place for a later writer) or a plain `Reader` (`try_recv`, `try_read`, `recv_timeout`),
//!   against cloned `Writer`s (`try_send`, `send_timeout`, `try_write`, `write_timeout`,
//!   `try_loan` then fill, move or drop), closes and drops of either end. Each result is
//!   checked against a model: the `BufferedReader`'s ring lent open, with the positions of
//!   writer and reader as `open_ring.rs` keeps them (the writer's region, the reader's view,
//!   what it published), and the ids at each position.
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
    /// The `BufferedReader`'s ring (none for a plain reader, whose `try_` forms never leave
    /// a lend in place, and none once the reader is dropped).
    ring: Option<Ring>,
    rclosed: bool,
    wclosed: bool,
}

/// The reader's ring, lent open: the positions of `open_ring.rs`, mirrored. Positions
/// count elements from the start: `w` the writer's (published), `p` the reader's position
/// the writer sees (published by the reader), `v` the writer's position as the reader last
/// looked, `r` the reader's. `p <= r <= v <= w`, `w - p <= cap`.
struct Ring {
    cap: usize,
    lent: bool,
    w: usize,
    p: usize,
    v: usize,
    r: usize,
    /// The ids at positions `r..w`, oldest first.
    ids: VecDeque<u32>,
}

impl Ring {
    fn new(cap: usize) -> Ring {
        Ring {
            cap,
            lent: false,
            w: 0,
            p: 0,
            v: 0,
            r: 0,
            ids: VecDeque::new(),
        }
    }

    /// The free region a writer's take gets: from `w` up to the reader's published position
    /// or the ring's end; none when nothing is lent or the ring is full.
    fn region(&self) -> Option<usize> {
        let free = self.cap - (self.w - self.p);
        (self.lent && free > 0).then(|| free.min(self.cap - self.w % self.cap))
    }

    fn refresh(&mut self) -> usize {
        if self.lent {
            self.v = self.w;
        }
        self.v - self.r
    }

    /// What `buffer()` shows: the held elements up to the ring's end.
    fn front(&self) -> Vec<u32> {
        let n = (self.v - self.r).min(self.cap - self.r % self.cap);
        self.ids.iter().take(n).copied().collect()
    }

    fn publish(&mut self) {
        if self.lent {
            self.p = self.r;
        }
    }

    /// `OpenRing::advance`: consumes `n` and publishes once a quarter ring was consumed.
    fn advance(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.r += n;
        if self.r - self.p >= (self.cap / 4).max(1) {
            self.publish();
        }
    }

    fn end(&mut self) {
        if self.lent {
            self.publish();
            self.v = self.w;
            self.lent = false;
        }
    }

    /// `BufferedReader::look`.
    fn look(&mut self, closed: bool) -> Result<usize, TryReadError> {
        if self.refresh() > 0 {
            return Ok(self.front().len());
        }
        if !self.lent {
            if closed {
                return Err(TryReadError::Closed);
            }
            self.lent = true;
            self.p = self.r;
            if self.refresh() > 0 {
                return Ok(self.front().len());
            }
        }
        if closed {
            if self.refresh() == 0 {
                self.end();
            }
            return match self.v - self.r {
                0 => Err(TryReadError::Closed),
                _ => Ok(self.front().len()),
            };
        }
        Ok(0)
    }

    /// Takes `n` held ids from the front.
    fn take(&mut self, n: usize) -> Vec<u32> {
        self.ids.drain(..n).collect()
    }
}

/// The expected outcome of a write attempt: `Err(())` closed, `Ok(None)` nothing lent (or
/// no room), `Ok(Some(cap))` a region to fill.
fn write_outcome(m: &Model) -> Result<Option<usize>, ()> {
    if m.rclosed || m.wclosed {
        Err(())
    } else {
        Ok(m.ring.as_ref().and_then(Ring::region))
    }
}

fn us(n: u8) -> Duration {
    Duration::from_micros(1 + u64::from(n % 20))
}

/// Records `ids` as written into the lent ring.
fn deliver(m: &mut Model, ids: impl IntoIterator<Item = u32>) {
    let ring = m.ring.as_mut().expect("a write needs a lent ring");
    let before = ring.ids.len();
    ring.ids.extend(ids);
    ring.w += ring.ids.len() - before;
}

/// The buffered reader shows what the model holds.
fn check_buffer(b: &BufferedReader<Item>, m: &Model) {
    let ring = m.ring.as_ref().expect("a buffered reader has a ring");
    assert_eq!(
        b.buffer().iter().map(|x| x.0).collect::<Vec<_>>(),
        ring.front(),
        "buffer"
    );
    assert_eq!(b.is_pending(), ring.lent, "is_pending");
}

fn one_thread(input: OneThread) {
    let (w, r) = stream_core::stream::<Item>();
    let mut writers = vec![w];
    let mut reader = match input.buffered {
        Some(c) => ReaderEnd::Buffered(BufferedReader::new(r, 1 + usize::from(c % 8))),
        None => ReaderEnd::Plain(r),
    };
    let mut m = Model::default();
    if let ReaderEnd::Buffered(b) = &reader {
        m.ring = Some(Ring::new(b.capacity()));
    }
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
                    let closed = m.rclosed || m.wclosed;
                    let ring = m.ring.as_mut().expect("a buffered reader has a ring");
                    let want = match ring.look(closed) {
                        Ok(0) => {
                            ring.publish();
                            Err(TryReadError::Empty)
                        }
                        other => other,
                    };
                    assert_eq!(got, want, "try_fill");
                    check_buffer(b, &m);
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
                let ring = m.ring.as_mut().expect("a buffered reader has a ring");
                let held = ring.v - ring.r;
                match op {
                    Op::Pop => {
                        let want = (held > 0).then(|| {
                            ring.advance(1);
                            ring.take(1)[0]
                        });
                        assert_eq!(b.pop().map(|x| x.0), want, "pop");
                    }
                    Op::Drain(k) => {
                        let mut v = Vec::new();
                        let got = b.drain_into(&mut v, usize::from(k));
                        // A contiguous run at a time: up to the ring's end, then the rest.
                        let n = held.min(usize::from(k));
                        let first = n.min(ring.cap - ring.r % ring.cap);
                        ring.advance(first);
                        ring.advance(n - first);
                        assert_eq!(got, n, "drain_into({k})");
                        assert_eq!(v.iter().map(|x| x.0).collect::<Vec<_>>(), ring.take(n));
                    }
                    Op::Consume(k) => {
                        // `Item` needs a drop: consumed one at a time.
                        let n = usize::from(k) % (held + 1);
                        b.consume(n);
                        for _ in 0..n {
                            ring.advance(1);
                        }
                        ring.take(n);
                    }
                    Op::Cancel => {
                        let n = b.cancel();
                        ring.end();
                        assert_eq!(n, ring.v - ring.r, "cancel: what is held");
                    }
                    _ => {
                        assert!(b.try_cancel(), "one thread: the writer is not copying");
                        ring.end();
                    }
                }
                check_buffer(b, &m);
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
                m.ring = None;
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
) -> (Vec<u32>, bool) {
    let mut acked = Vec::new();
    let mut made = 0;
    let mut ended_closed = false;
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
                    if n == 0 && !ids.is_empty() {
                        // The reader was dropped while the loan was held: nothing was
                        // delivered and the commit dropped the elements.
                        true
                    } else {
                        assert_eq!(n, ids.len());
                        acked.extend(ids);
                        false
                    }
                }
                Err(_) => true,
            },
        };
        if closed {
            ended_closed = true;
            break;
        }
    }
    drop(extra);
    drop(w);
    (acked, ended_closed)
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
    let (acked, ended_closed) = writer_thread(w, extra, n, Rng(seed));
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
        assert!(
            !ended_closed,
            "the writer found the stream closed while the reader read on"
        );
    }
}

fuzz_target!(|mode: Mode| {
    match mode {
        Mode::OneThread(t) => one_thread(t),
        Mode::TwoThreads(t) => two_threads(t),
    }
    check_drops();
});
