//! Every future of the crate dropped at every poll point, on one thread with a counting
//! waker, so that each interleaving is exact (and Miri can run it): elements are counted,
//! none lost, none duplicated, each dropped exactly once; wake-ups happen exactly when the
//! other side acts.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_lite::{AsyncBufRead, AsyncRead, AsyncWrite, Stream};
use stream_async::{AsyncReader, AsyncWriter, ReadError, WriteError};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Task {
    count: Arc<CountWaker>,
    waker: Waker,
}

impl Task {
    fn new() -> Self {
        let count = Arc::new(CountWaker::default());
        Self {
            waker: Waker::from(count.clone()),
            count,
        }
    }

    fn poll<F: Future + Unpin>(&self, f: &mut F) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(&self.waker))
    }

    fn wakes(&self) -> usize {
        self.count.0.load(Ordering::SeqCst)
    }
}

/// An element that records its drop, so that a test can check each was dropped once.
#[derive(Debug)]
struct Counted {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(self.id);
    }
}

struct Ledger {
    log: Arc<Mutex<Vec<usize>>>,
    made: usize,
}

impl Ledger {
    fn new() -> Self {
        Self {
            log: Arc::default(),
            made: 0,
        }
    }

    fn make(&mut self, n: usize) -> Vec<Counted> {
        let v = (self.made..self.made + n)
            .map(|id| Counted {
                id,
                log: self.log.clone(),
            })
            .collect();
        self.made += n;
        v
    }

    /// Every element made was dropped exactly once.
    fn check_all_dropped_once(&self) {
        let mut log = self.log.lock().unwrap().clone();
        log.sort_unstable();
        assert_eq!(log, (0..self.made).collect::<Vec<_>>());
    }
}

fn stream(capacity: usize) -> (AsyncWriter<Counted>, AsyncReader<Counted>) {
    stream_async::stream(capacity)
}

#[test]
fn pending_read_is_woken_by_the_write_only() {
    let (mut w, mut r) = stream_async::stream::<u32>(4);
    let rt = Task::new();
    let wt = Task::new();
    let mut recv = r.recv();
    assert!(rt.poll(&mut recv).is_pending());
    assert!(rt.poll(&mut recv).is_pending());
    assert_eq!(rt.wakes(), 0, "woken with nothing written");
    let mut send = w.send(5);
    assert_eq!(wt.poll(&mut send), Poll::Ready(Ok(())));
    drop(send);
    assert_eq!(rt.wakes(), 1, "the commit wakes the reader once");
    assert_eq!(rt.poll(&mut recv), Poll::Ready(Ok(5)));
    assert_eq!(wt.wakes(), 0);
}

#[test]
fn pending_write_is_woken_by_the_lend_only() {
    let (mut w, mut r) = stream_async::stream::<u32>(4);
    let rt = Task::new();
    let wt = Task::new();
    let items = [1, 2, 3, 4, 5, 6];
    let mut write = w.write_slice(&items);
    assert!(wt.poll(&mut write).is_pending());
    assert_eq!(wt.wakes(), 0);
    let mut fill = r.fill();
    assert!(rt.poll(&mut fill).is_pending());
    assert_eq!(wt.wakes(), 1, "the lend wakes the writer once");
    assert_eq!(wt.poll(&mut write), Poll::Ready(Ok(4)));
    assert_eq!(rt.poll(&mut fill), Poll::Ready(Ok(4)));
    drop(fill);
    assert_eq!(r.buffer(), [1, 2, 3, 4]);
}

#[test]
fn close_wakes_both_sides() {
    let (w, mut r) = stream_async::stream::<u32>(4);
    let rt = Task::new();
    let mut recv = r.recv();
    assert!(rt.poll(&mut recv).is_pending());
    w.close();
    assert_eq!(rt.wakes(), 1);
    assert_eq!(rt.poll(&mut recv), Poll::Ready(Err(ReadError::Closed)));
    drop(recv);

    let (mut w, r) = stream_async::stream::<u32>(4);
    let wt = Task::new();
    let mut send = w.send(9);
    assert!(wt.poll(&mut send).is_pending());
    drop(r);
    assert_eq!(wt.wakes(), 1);
    match wt.poll(&mut send) {
        Poll::Ready(Err(WriteError::Closed(v))) => assert_eq!(v, 9, "the value comes back"),
        other => panic!("{other:?}"),
    }
}

/// A read future (fill, recv, read_append, a `Stream` poll, a `poll_fill`) dropped at every
/// point: before its first poll, while lent, after the writer delivered into the lent buffer
/// but before the reader saw it, and after it resolved. The ring stays lent after each, and
/// the writer writes into what is free without the reader running.
#[test]
fn read_futures_dropped_at_every_point() {
    for kind in 0..5 {
        for point in 0..4 {
            let mut ledger = Ledger::new();
            let (mut w, mut r) = stream(3);
            let rt = Task::new();
            let wt = Task::new();
            let mut items = ledger.make(5);
            let mut got = Vec::new();
            {
                // Each read future, polled `point`-dependently, then dropped.
                let mut vec = Vec::new();
                let mut poll_read = |r: &mut AsyncReader<Counted>,
                                     w: &mut AsyncWriter<Counted>,
                                     items: &mut Vec<Counted>| {
                    macro_rules! run {
                        ($fut:expr) => {{
                            let mut fut = $fut;
                            if point >= 1 {
                                assert!(rt.poll(&mut fut).is_pending());
                            }
                            if point >= 2 {
                                // The writer delivers into the lent ring (of 4: 3
                                // rounded up to a power of two).
                                let mut write = w.write_vec(items);
                                assert_eq!(wt.poll(&mut write), Poll::Ready(Ok(4)));
                            }
                            if point >= 3 {
                                assert!(rt.poll(&mut fut).is_ready());
                            }
                        }};
                    }
                    match kind {
                        0 => run!(r.fill()),
                        1 => run!(r.recv()),
                        2 => run!(r.read_append(&mut vec, 2)),
                        3 => run!(futures_lite::future::poll_fn(|cx| Pin::new(
                            &mut r.elements()
                        )
                        .poll_next(cx)
                        .map(|_| ()))),
                        _ => run!(futures_lite::future::poll_fn(|cx| {
                            r.poll_fill(cx).map(|_| ())
                        })),
                    }
                };
                poll_read(&mut r, &mut w, &mut items);
                got.append(&mut vec);
            }
            // Every read, future or poll, leaves the ring lent once it lent it: the writer
            // goes on writing into it without the reader running.
            assert_eq!(r.is_pending(), point >= 1, "kind {kind} point {point}");
            if point >= 1 {
                // What the writer can write now, without the reader running: an empty ring
                // takes four; a full one nothing, until a read frees slots (a `recv`, a
                // `read_append` of two, a `Stream` item: one slot each published, a
                // quarter of the ring; one item was left to write).
                let expect = match (point, kind) {
                    (1, _) => Some(4),
                    (3, 1..=3) => Some(1),
                    _ => None,
                };
                let mut write = w.write_vec(&mut items);
                match (wt.poll(&mut write), expect) {
                    (Poll::Ready(Ok(n)), Some(e)) => assert_eq!(n, e, "kind {kind} point {point}"),
                    (Poll::Pending, None) => {}
                    (other, _) => {
                        panic!("kind {kind} point {point}: {other:?}, expected {expect:?}")
                    }
                }
            }
            r.cancel();
            assert!(!r.is_pending(), "kind {kind} point {point}: still lent");
            // Whatever was delivered is buffered or was taken: drain the rest.
            let rest_to_send = items.len();
            let delivered_before = 5 - rest_to_send;
            while let Some(v) = r.pop() {
                got.push(v);
            }
            drop(w.into_inner());
            loop {
                let filled = rt.poll(&mut r.fill());
                if !matches!(filled, Poll::Ready(Ok(_))) {
                    break;
                }
                while let Some(v) = r.pop() {
                    got.push(v);
                }
            }
            // Elements moved out by recv/Stream polls were dropped by the test already.
            let taken_by_futures = delivered_before - got.len();
            assert!(taken_by_futures <= 1, "kind {kind} point {point}");
            let ids: Vec<usize> = got.iter().map(|c| c.id).collect();
            let expect_start = taken_by_futures;
            assert_eq!(
                ids,
                (expect_start..delivered_before).collect::<Vec<_>>(),
                "kind {kind} point {point}: lost, duplicated or reordered"
            );
            drop(got);
            drop(items);
            drop(r);
            ledger.check_all_dropped_once();
        }
    }
}

/// A write future (write, write_slice, send, loan) dropped at every point: before its first
/// poll, while waiting for a lend, after the lend but before its next poll, after it
/// resolved.
#[test]
fn write_futures_dropped_at_every_point() {
    for kind in 0..4 {
        for point in 0..4 {
            let mut ledger = Ledger::new();
            let (mut w, mut r) = stream(2);
            let rt = Task::new();
            let wt = Task::new();
            let mut items = ledger.make(3);
            let mut resolved = false;
            {
                let lend = |r: &mut AsyncReader<Counted>| {
                    assert!(rt
                        .poll(&mut futures_lite::future::poll_fn(|cx| r
                            .poll_fill(cx)
                            .map(|_| ())))
                        .is_pending());
                };
                macro_rules! run {
                    ($fut:expr, $on_ready:expr) => {{
                        let mut fut = $fut;
                        if point >= 1 {
                            assert!(wt.poll(&mut fut).is_pending());
                        }
                        if point >= 2 {
                            lend(&mut r);
                            assert_eq!(wt.wakes(), 1);
                        }
                        if point >= 3 {
                            match wt.poll(&mut fut) {
                                Poll::Ready(out) => {
                                    resolved = true;
                                    #[allow(clippy::redundant_closure_call)]
                                    ($on_ready)(out);
                                }
                                Poll::Pending => panic!("kind {kind}: lent but pending"),
                            }
                        }
                    }};
                }
                match kind {
                    0 => run!(w.write_vec(&mut items), |n: Result<usize, _>| assert_eq!(
                        n,
                        Ok(2)
                    )),
                    1 => {
                        let value = items.remove(0);
                        run!(w.send(value), |n: Result<(), _>| assert!(n.is_ok()));
                    }
                    2 => run!(w.loan(), |loan: Result<stream_async::Loan<'_, _, _>, _>| {
                        let loan = loan.unwrap();
                        assert_eq!(loan.capacity(), 2);
                        let n = loan.fill_from_iter(items.drain(..1));
                        assert_eq!(n, 1);
                    }),
                    _ => run!(w.loan(), |loan: Result<
                        stream_async::Loan<'_, Counted, _>,
                        _,
                    >| {
                        // A loan dropped uncommitted: the buffer goes back, nothing moves.
                        drop(loan.unwrap());
                    }),
                }
            }
            // Whatever was not sent is still with the writer's caller, in order.
            let mut got = Vec::new();
            r.cancel();
            while let Some(v) = r.pop() {
                got.push(v);
            }
            drop(w);
            loop {
                let filled = rt.poll(&mut r.fill());
                if !matches!(filled, Poll::Ready(Ok(_))) {
                    break;
                }
                while let Some(v) = r.pop() {
                    got.push(v);
                }
            }
            let sent = match (kind, resolved) {
                (0, true) => 2,
                (1, true) | (2, true) => 1,
                _ => 0,
            };
            assert_eq!(got.len(), sent, "kind {kind} point {point}");
            let mut all: Vec<usize> = got.iter().map(|c| c.id).collect();
            all.extend(items.iter().map(|c| c.id));
            all.sort_unstable();
            let dropped_by_send = if kind == 1 && !resolved { 1 } else { 0 };
            assert_eq!(all.len() + dropped_by_send, 3, "kind {kind} point {point}");
            drop(got);
            drop(items);
            drop(r);
            ledger.check_all_dropped_once();
        }
    }
}

#[test]
fn future_reader_dropped_at_every_point() {
    for point in 0..4 {
        let mut ledger = Ledger::new();
        let (writer, reader) = stream_async::future::<Counted>();
        let t = Task::new();
        let mut fut = reader.into_future();
        if point >= 1 {
            assert!(t.poll(&mut fut).is_pending());
        }
        let value = ledger.make(1).pop().unwrap();
        if point >= 2 {
            writer.write(value).unwrap();
            assert_eq!(t.wakes(), 1);
        } else {
            drop(writer);
            drop(value);
        }
        if point >= 3 {
            let got = t.poll(&mut fut);
            assert!(matches!(&got, Poll::Ready(Ok(c)) if c.id == 0));
        }
        drop(fut);
        ledger.check_all_dropped_once();
    }
}

#[test]
fn future_writer_dropped_gives_closed() {
    let (writer, reader) = stream_async::future::<u8>();
    let t = Task::new();
    let mut fut = reader.into_future();
    assert!(t.poll(&mut fut).is_pending());
    drop(writer);
    assert_eq!(t.wakes(), 1);
    assert_eq!(t.poll(&mut fut), Poll::Ready(Err(stream_future::ReadError)));
}

#[test]
fn reader_dropped_with_elements_buffered_and_lent() {
    let mut ledger = Ledger::new();
    let (mut w, mut r) = stream(4);
    let t = Task::new();
    let mut items = ledger.make(6);
    // Lend (a `Stream` poll leaves it lent), deliver 4, then drop the reader with the 4
    // delivered but never taken.
    assert!(t
        .poll(&mut futures_lite::future::poll_fn(|cx| Pin::new(
            &mut r.elements()
        )
        .poll_next(cx)
        .map(|_| ())))
        .is_pending());
    assert_eq!(t.poll(&mut w.write_vec(&mut items)), Poll::Ready(Ok(4)));
    drop(r);
    // The writer sees the closed reader; the two left come back.
    let mut send_rest = w.write_vec(&mut items);
    assert_eq!(
        t.poll(&mut send_rest),
        Poll::Ready(Err(WriteError::Closed(())))
    );
    assert_eq!(items.len(), 2);
    drop(items);
    drop(w);
    ledger.check_all_dropped_once();
}

#[test]
fn not_unique_handles_are_refused_and_given_back() {
    let (writer, reader) = stream_core::stream_with::<u8, stream_async::Listener>();
    let reader2 = reader.clone();
    let back = AsyncReader::new(reader, 4).unwrap_err().into_inner();
    drop(reader2);
    assert!(AsyncReader::new(back, 4).is_ok());
    let writer2 = writer.clone();
    let back = AsyncWriter::new(writer).unwrap_err().into_inner();
    drop(writer2);
    assert!(AsyncWriter::new(back).is_ok());
}

#[test]
fn bytes_through_async_read_and_write_on_one_thread() {
    let (mut w, mut r) = stream_async::stream::<u8>(5);
    let t = Task::new();
    let data: Vec<u8> = (0..=255).collect();
    let mut out = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 7];
    loop {
        // Alternate: the reader lends, the writer writes what fits, the reader reads.
        let read = Pin::new(&mut r).poll_read(&mut Context::from_waker(&t.waker), &mut buf);
        if let Poll::Ready(n) = read {
            let n = n.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            continue;
        }
        if sent < data.len() {
            match Pin::new(&mut w).poll_write(&mut Context::from_waker(&t.waker), &data[sent..]) {
                Poll::Ready(n) => sent += n.unwrap(),
                Poll::Pending => panic!("the reader lent, the writer must not wait"),
            }
        } else {
            assert!(Pin::new(&mut w)
                .poll_close(&mut Context::from_waker(&t.waker))
                .is_ready());
        }
    }
    assert_eq!(out, data);
    // End of stream is sticky, for `AsyncBufRead` too.
    match Pin::new(&mut r).poll_fill_buf(&mut Context::from_waker(&t.waker)) {
        Poll::Ready(Ok(b)) => assert!(b.is_empty()),
        other => panic!("{other:?}"),
    }
}

/// Polls `r`'s `AsyncRead` as task `t`.
fn poll_read(t: &Task, r: &mut AsyncReader<u8>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
    Pin::new(r).poll_read(&mut Context::from_waker(&t.waker), buf)
}

/// Polls `w`'s `AsyncWrite` as task `t`.
fn poll_write(t: &Task, w: &mut AsyncWriter<u8>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
    Pin::new(w).poll_write(&mut Context::from_waker(&t.waker), bytes)
}

/// An `AsyncRead` reader keeps its ring lent: the writer writes into the free part while the
/// caller works on what it read, without waiting for the reader to empty the ring; a waiting
/// writer is woken when a read frees room, and a reader that polled before the write is woken
/// by the commit.
#[test]
fn async_read_keeps_the_ring_lent() {
    let (mut w, mut r) = stream_async::stream::<u8>(4);
    let (rt, wt) = (Task::new(), Task::new());
    let mut buf = [0u8; 3];
    assert!(poll_read(&rt, &mut r, &mut buf).is_pending());
    assert!(matches!(
        poll_write(&wt, &mut w, b"abcd"),
        Poll::Ready(Ok(4))
    ));
    assert_eq!(rt.wakes(), 1);
    // The ring is full: a write waits.
    assert!(poll_write(&wt, &mut w, b"ef").is_pending());
    // Three of four: a byte stays buffered, the ring stays lent, and the writer, woken by
    // the room made, writes behind it.
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(3))
    ));
    assert_eq!(&buf, b"abc");
    assert!(r.is_pending());
    assert!(wt.wakes() >= 1, "the read that makes room wakes the writer");
    assert!(matches!(poll_write(&wt, &mut w, b"ef"), Poll::Ready(Ok(2))));
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(1))
    ));
    assert_eq!(buf[0], b'd');
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(2))
    ));
    assert_eq!(&buf[..2], b"ef");
    // A read before the writer writes waits for the commit, which wakes it.
    let woken = rt.wakes();
    assert!(poll_read(&rt, &mut r, &mut buf).is_pending());
    assert!(matches!(poll_write(&wt, &mut w, b"g"), Poll::Ready(Ok(1))));
    assert_eq!(rt.wakes(), woken + 1, "the commit wakes the reader");
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(1))
    ));
    // The writer leaves while the ring is lent: end of stream, and it stays so, for
    // `AsyncBufRead` too.
    assert!(r.is_pending());
    drop(w);
    for _ in 0..2 {
        assert!(matches!(
            poll_read(&rt, &mut r, &mut buf),
            Poll::Ready(Ok(0))
        ));
    }
    match Pin::new(&mut r).poll_fill_buf(&mut Context::from_waker(&rt.waker)) {
        Poll::Ready(Ok(b)) => assert!(b.is_empty()),
        other => panic!("{other:?}"),
    }
}

/// Closing the reader while a read-ahead lend is pending keeps what the writer delivered into
/// it: the next reads return those bytes, then end of stream; the writer's next write fails.
#[test]
fn async_read_ahead_keeps_its_bytes_across_a_close() {
    let (mut w, mut r) = stream_async::stream::<u8>(4);
    let (rt, wt) = (Task::new(), Task::new());
    let mut buf = [0u8; 4];
    assert!(poll_read(&rt, &mut r, &mut buf).is_pending());
    assert!(matches!(poll_write(&wt, &mut w, b"ab"), Poll::Ready(Ok(2))));
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(2))
    ));
    assert!(r.is_pending());
    assert!(matches!(poll_write(&wt, &mut w, b"cd"), Poll::Ready(Ok(2))));
    r.close();
    // `close` takes `&self`: the pending read ends at the next read, with its count.
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(2))
    ));
    assert_eq!(&buf[..2], b"cd");
    assert!(matches!(
        poll_read(&rt, &mut r, &mut buf),
        Poll::Ready(Ok(0))
    ));
    assert!(matches!(poll_write(&wt, &mut w, b"e"), Poll::Ready(Err(_))));
}

/// A read future dropped while the writer holds a loan of the buffer on the same thread does
/// not wait for the loan (which would never end): the read stays pending, and the elements
/// committed later arrive in the reader's buffer.
#[test]
fn read_future_dropped_during_a_loan_does_not_wait() {
    let mut ledger = Ledger::new();
    let (mut w, mut r) = stream(4);
    let t = Task::new();
    let mut recv = r.recv();
    assert!(t.poll(&mut recv).is_pending());
    let mut loan_future = w.loan();
    let loan = match t.poll(&mut loan_future) {
        Poll::Ready(Ok(loan)) => loan,
        other => panic!(
            "a lent buffer must be loaned at once: {:?}",
            other.is_ready()
        ),
    };
    drop(recv);
    assert!(
        r.is_pending(),
        "the read stays pending while the loan is held"
    );
    assert_eq!(loan.fill_from_iter(ledger.make(2)), 2);
    let mut recv = r.recv();
    assert!(matches!(t.poll(&mut recv), Poll::Ready(Ok(c)) if c.id == 0));
    drop(recv);
    assert_eq!(r.pop().map(|c| c.id), Some(1));
    drop((w, r));
    ledger.check_all_dropped_once();
}
