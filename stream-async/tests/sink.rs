//! `AsyncWriter::into_buf_sink`, the batching `futures_sink::Sink`: elements fed one at a
//! time land in the reader's buffer in order, batched; none is lost or duplicated, each is dropped exactly once (also
//! when the reader closes mid-way and when the writer is dropped with elements held); the
//! sink's `get_mut` and `into_inner` commit held elements first; errors once the reader
//! closed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::task::noop_waker_ref;
use futures::{SinkExt, StreamExt};
use futures_sink::Sink;
use stream_async::{AsyncReader, AsyncWriter, BufSink, ReadError, WriteError};

#[cfg(not(miri))]
const ELEMENTS: usize = 10_000;
#[cfg(miri)]
const ELEMENTS: usize = 600;

/// The reader's buffer: the writer batches this many elements per commit.
const CAPACITY: usize = 256;

/// An element that logs its drop, so that a test can check each was dropped exactly once.
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

/// Makes `Counted` elements and checks their drops.
#[derive(Default)]
struct Ledger {
    log: Arc<Mutex<Vec<usize>>>,
    made: usize,
}

impl Ledger {
    fn make(&mut self) -> Counted {
        self.made += 1;
        Counted {
            id: self.made - 1,
            log: self.log.clone(),
        }
    }

    fn dropped(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Every element made was dropped exactly once.
    fn assert_all_dropped_once(&self) {
        let mut log = self.log.lock().unwrap().clone();
        log.sort_unstable();
        assert_eq!(log, (0..self.made).collect::<Vec<_>>());
    }
}

fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(noop_waker_ref()))
}

fn poll_ready<T>(w: &mut BufSink<T>) -> Poll<Result<(), WriteError>> {
    Pin::new(w).poll_ready(&mut Context::from_waker(noop_waker_ref()))
}

fn start_send<T>(w: &mut BufSink<T>, item: T) -> Result<(), WriteError> {
    Pin::new(w).start_send(item)
}

fn poll_flush<T>(w: &mut BufSink<T>) -> Poll<Result<(), WriteError>> {
    Pin::new(w).poll_flush(&mut Context::from_waker(noop_waker_ref()))
}

/// Reads batch by batch until end of stream; returns the elements and the batch sizes.
async fn read_batches<T>(mut reader: AsyncReader<T>) -> (Vec<T>, Vec<usize>) {
    let (mut all, mut batches) = (Vec::new(), Vec::new());
    while let Ok(n) = reader.fill().await {
        batches.push(n);
        while let Some(x) = reader.pop() {
            all.push(x);
        }
    }
    (all, batches)
}

/// Feeds `0..ELEMENTS` one at a time, then closes (a flush first).
async fn feed_all(writer: AsyncWriter<usize>) {
    let mut writer = writer.into_buf_sink();
    for i in 0..ELEMENTS {
        writer.feed(i).await.unwrap();
    }
    writer.close().await.unwrap();
}

/// `feed` batches: every element arrives in order, and a commit carries a whole loan, not
/// one element. The reader's ring hands room back a quarter at a time, so a loan is the
/// room it had at the time (a quarter of the ring up to all of it, timing decides); a
/// commit per element would make `ELEMENTS` batches.
fn assert_batched(all: &[usize], batches: &[usize]) {
    assert_eq!(all, (0..ELEMENTS).collect::<Vec<_>>());
    assert!(batches.iter().all(|&n| n <= CAPACITY), "{batches:?}");
    let most = 2 * ELEMENTS.div_ceil(CAPACITY / 4);
    assert!(
        batches.len() <= most,
        "{} batches: {batches:?}",
        batches.len()
    );
}

#[test]
fn feed_one_at_a_time_tokio_current_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (writer, reader) = stream_async::stream::<usize>(CAPACITY);
    let ((), (all, batches)) =
        rt.block_on(async { tokio::join!(feed_all(writer), read_batches(reader)) });
    assert_batched(&all, &batches);
}

#[test]
fn feed_one_at_a_time_block_on_threads() {
    let (writer, reader) = stream_async::stream::<usize>(CAPACITY);
    let t = std::thread::spawn(move || futures_lite::future::block_on(feed_all(writer)));
    let (all, batches) = futures_lite::future::block_on(read_batches(reader));
    t.join().unwrap();
    assert_batched(&all, &batches);
}

#[test]
fn every_element_dropped_once_on_threads() {
    let mut ledger = Ledger::default();
    let items: Vec<Counted> = (0..ELEMENTS).map(|_| ledger.make()).collect();
    let (writer, reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            for item in items {
                writer.feed(item).await.unwrap();
            }
            writer.flush().await.unwrap();
        })
    });
    let got: Vec<Counted> = futures_lite::future::block_on(reader.into_elements().collect());
    t.join().unwrap();
    assert_eq!(
        got.iter().map(|c| c.id).collect::<Vec<_>>(),
        (0..ELEMENTS).collect::<Vec<_>>()
    );
    assert_eq!(ledger.dropped(), 0);
    drop(got);
    ledger.assert_all_dropped_once();
}

#[test]
fn reader_dropped_mid_way_on_threads() {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    let maker = ledger.clone();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            loop {
                let item = maker.lock().unwrap().make();
                // A closed reader is seen by `poll_ready`, before the item is handed over;
                // `feed` then drops it (it owns it).
                if writer.feed(item).await.is_err() {
                    break;
                }
            }
        })
    });
    let taken = ELEMENTS / 2;
    let got: Vec<Counted> = futures_lite::future::block_on(async {
        let mut got = Vec::new();
        while got.len() < taken {
            got.push(reader.recv().await.unwrap());
        }
        got
    });
    // Drops the buffered elements, waiting for a commit of the buffer the writer holds.
    drop(reader);
    t.join().unwrap();
    assert_eq!(
        got.iter().map(|c| c.id).collect::<Vec<_>>(),
        (0..taken).collect::<Vec<_>>()
    );
    drop(got);
    ledger.lock().unwrap().assert_all_dropped_once();
}

#[test]
fn reader_closed_while_elements_are_held() {
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending()); // lends its buffer, which stays lent
    for _ in 0..3 {
        assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
        start_send(&mut writer, ledger.make()).unwrap();
    }
    reader.close();
    // The held elements are committed into the closed reader's pending read: they are
    // delivered (the reader still takes them), so the flush is `Ok` (issue 27: a `Closed`
    // here made a producer that reroutes on this error send them twice).
    assert_eq!(poll_flush(&mut writer), Poll::Ready(Ok(())));
    assert!(writer.take_undelivered().is_empty());
    assert_eq!(
        poll_ready(&mut writer),
        Poll::Ready(Err(WriteError::Closed(())))
    );
    // Without a buffer the item cannot be accepted: `start_send` drops it, once.
    assert_eq!(
        start_send(&mut writer, ledger.make()),
        Err(WriteError::Closed(()))
    );
    assert_eq!(ledger.dropped(), 1);
    assert_eq!(
        reader.poll_fill(&mut Context::from_waker(noop_waker_ref())),
        Poll::Ready(Ok(3))
    );
    assert_eq!(
        std::iter::from_fn(|| reader.pop().map(|c| c.id)).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    drop(writer);
    drop(reader);
    ledger.assert_all_dropped_once();
}

/// The reader is dropped (not only closed) while the writer holds elements: its drop does not
/// wait, the flush finds nobody to deliver to and says `Closed`, and the elements come back
/// through `take_undelivered`, once.
#[test]
fn reader_dropped_while_elements_are_held() {
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending());
    for _ in 0..3 {
        assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
        start_send(&mut writer, ledger.make()).unwrap();
    }
    drop(reader); // Would wait for the writer's commit, on this thread, forever (issue 27).
    assert_eq!(
        poll_flush(&mut writer),
        Poll::Ready(Err(WriteError::Closed(())))
    );
    let back = writer.take_undelivered();
    assert_eq!(back.iter().map(|c| c.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(ledger.dropped(), 0);
    drop(back);
    assert_eq!(poll_flush(&mut writer), Poll::Ready(Ok(())), "nothing held");
    drop(writer);
    ledger.assert_all_dropped_once();
}

#[test]
fn start_send_without_poll_ready() {
    let mut ledger = Ledger::default();
    let (writer, reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert_eq!(
        start_send(&mut writer, ledger.make()),
        Err(WriteError::Busy(()))
    );
    assert_eq!(ledger.dropped(), 1);
    drop(reader);
    assert_eq!(
        poll_ready(&mut writer),
        Poll::Ready(Err(WriteError::Closed(())))
    );
    assert_eq!(
        start_send(&mut writer, ledger.make()),
        Err(WriteError::Closed(()))
    );
    ledger.assert_all_dropped_once();
}

#[test]
fn poll_ready_holds_nothing_while_pending() {
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(poll_ready(&mut writer).is_pending()); // no buffer lent yet
    {
        // A `feed` future dropped mid-way drops the element it owns; nothing is held.
        let mut feed = writer.feed(ledger.make());
        assert!(poll(&mut feed).is_pending());
    }
    assert_eq!(ledger.dropped(), 1);
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending());
    assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
    start_send(&mut writer, ledger.make()).unwrap();
    assert_eq!(poll_flush(&mut writer), Poll::Ready(Ok(())));
    assert_eq!(
        poll(&mut reader.recv()).map(|r| r.map(|c| c.id)),
        Poll::Ready(Ok(1))
    );
    ledger.assert_all_dropped_once();
}

#[test]
fn writer_dropped_with_held_elements_delivers_them() {
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending());
    for _ in 0..5 {
        assert!(poll(&mut writer.feed(ledger.make())).is_ready());
    }
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending()); // nothing committed yet
    drop(writer); // commits the 5, then closes
    assert_eq!(
        reader.poll_fill(&mut Context::from_waker(noop_waker_ref())),
        Poll::Ready(Ok(5))
    );
    let ids: Vec<usize> = std::iter::from_fn(|| reader.pop()).map(|c| c.id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    assert!(matches!(
        poll(&mut reader.recv()),
        Poll::Ready(Err(ReadError::Closed))
    ));
    ledger.assert_all_dropped_once();

    // Dropped with elements held and the reader dropped afterwards, unread.
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending());
    for _ in 0..5 {
        assert!(poll(&mut writer.feed(ledger.make())).is_ready());
    }
    drop(writer);
    assert_eq!(ledger.dropped(), 0);
    drop(reader);
    ledger.assert_all_dropped_once();
}

#[test]
fn into_inner_commits_held_elements() {
    let (writer, mut reader) = stream_async::stream::<u32>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    assert!(reader
        .poll_fill(&mut Context::from_waker(noop_waker_ref()))
        .is_pending());
    for i in 0..3 {
        assert!(poll(&mut writer.feed(i)).is_ready());
    }
    let writer = writer.into_inner();
    assert_eq!(
        reader.poll_fill(&mut Context::from_waker(noop_waker_ref())),
        Poll::Ready(Ok(3))
    );
    assert_eq!(reader.buffer(), [0, 1, 2]);
    drop(writer);
}

#[test]
fn the_writers_operations_commit_held_elements_first() {
    let (writer, reader) = stream_async::stream::<u32>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            writer.feed(0).await.unwrap();
            writer.feed(1).await.unwrap();
            // `get_mut` commits 0 and 1.
            assert_eq!(writer.get_mut().write_vec(&mut vec![2, 3]).await, Ok(2));
            writer.feed(4).await.unwrap();
            assert_eq!(writer.get_mut().write_slice(&[5]).await, Ok(1));
            writer.feed(6).await.unwrap();
            writer.get_mut().send(7).await.unwrap();
            writer.feed(8).await.unwrap();
            let loan = writer.get_mut().loan().await.unwrap();
            assert_eq!(loan.fill_from_iter([9]), 1);
            writer.feed(10).await.unwrap();
            let mut inner = writer.into_inner().into_inner(); // commits 10
            inner.send(11).unwrap();
            let mut writer = AsyncWriter::new(inner).unwrap().into_buf_sink();
            writer.feed(12).await.unwrap();
            // `close` flushes 12 first.
            writer.close().await.unwrap();
            assert!(writer.get_ref().is_closed());
        })
    });
    let all: Vec<u32> = futures_lite::future::block_on(reader.into_elements().collect());
    t.join().unwrap();
    assert_eq!(all, (0..=12).collect::<Vec<_>>());
}

#[test]
fn send_all_then_close() {
    let (writer, reader) = stream_async::stream::<usize>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            let mut items = futures::stream::iter(0..ELEMENTS).map(Ok);
            writer.send_all(&mut items).await.unwrap();
            writer.close().await.unwrap();
            // Closed: nothing is accepted any more.
            assert_eq!(writer.feed(0).await, Err(WriteError::Closed(())));
        })
    });
    let all: Vec<usize> = futures_lite::future::block_on(reader.into_elements().collect());
    t.join().unwrap();
    assert_eq!(all, (0..ELEMENTS).collect::<Vec<_>>());
}

/// `SinkExt::send` commits each element: the reader sees element `i` before the writer
/// sends `i + 1` (it waits for the reader's word first; an element still held by the `Sink`
/// would never arrive, and the test would hang).
#[test]
fn sink_send_flushes_each_element() {
    let (writer, mut reader) = stream_async::stream::<u32>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    let (ack, acked) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            for i in 0..4 {
                writer.send(i).await.unwrap();
                acked.recv().unwrap();
            }
        })
    });
    let batches = futures_lite::future::block_on(async {
        let mut batches = Vec::new();
        while let Ok(n) = reader.fill().await {
            batches.push(reader.buffer().to_vec());
            reader.consume(n);
            let _ = ack.send(());
        }
        batches
    });
    t.join().unwrap();
    assert_eq!(batches, [[0], [1], [2], [3]]);
}

#[test]
fn poll_close_ends_the_stream() {
    let (writer, mut reader) = stream_async::stream::<u32>(CAPACITY);
    let mut writer = writer.into_buf_sink();
    futures_lite::future::block_on(async {
        let write = async {
            for i in 0..3 {
                writer.feed(i).await.unwrap();
            }
            writer.close().await.unwrap();
        };
        let read = async {
            let mut got = Vec::new();
            while let Ok(x) = reader.recv().await {
                got.push(x);
            }
            got
        };
        let ((), got) = futures_lite::future::zip(write, read).await;
        assert_eq!(got, [0, 1, 2]);
    });
    assert!(reader.is_write_closed());
    assert_eq!(
        poll_ready(&mut writer),
        Poll::Ready(Err(WriteError::Closed(())))
    );
}

/// Reads leave the reader's buffer lent, so a `BufSink` may take it between reads and hold
/// it until it flushes: meanwhile `try_cancel` leaves the lend in place (where `cancel` would
/// wait for the flush), and ends it once the sink has flushed.
#[test]
fn try_cancel_leaves_a_buffer_a_sink_holds() {
    let mut ledger = Ledger::default();
    let (writer, mut reader) = stream_async::stream::<Counted>(4);
    let mut writer = writer.into_buf_sink();
    let mut cx = Context::from_waker(noop_waker_ref());
    // One element through, so that a read resolved and its future is gone.
    {
        let mut recv = reader.recv();
        assert!(
            Pin::new(&mut recv).poll(&mut cx).is_pending(),
            "lends the buffer"
        );
        assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
        start_send(&mut writer, ledger.make()).unwrap();
        assert_eq!(poll_flush(&mut writer), Poll::Ready(Ok(())));
        match Pin::new(&mut recv).poll(&mut cx) {
            Poll::Ready(Ok(c)) => assert_eq!(c.id, 0),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        reader.is_pending(),
        "the resolved read left the buffer lent"
    );
    // The sink takes the buffer and holds an element in it.
    assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
    start_send(&mut writer, ledger.make()).unwrap();
    assert!(
        !reader.try_cancel(),
        "the sink holds the buffer: nothing changes"
    );
    assert!(reader.is_pending());
    assert_eq!(poll_flush(&mut writer), Poll::Ready(Ok(())));
    assert!(reader.try_cancel(), "flushed: the lend ends at once");
    assert!(!reader.is_pending());
    assert_eq!(
        reader.pop().map(|c| c.id),
        Some(1),
        "the flushed element is buffered"
    );
    drop((writer, reader));
    ledger.assert_all_dropped_once();
}
