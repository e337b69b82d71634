//! `AsyncWriter::into_sink`, the `Sink` that delivers each element in `start_send`: a fed
//! request is answered without a flush; each element is its own commit; an element that
//! found no reader comes back through `take_undelivered`; and the element streams of
//! `AsyncReader` (`elements`, `into_elements`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::task::noop_waker_ref;
use futures::{SinkExt, StreamExt};
use futures_sink::Sink;
use stream_async::{ElementSink, WriteError};

fn cx() -> Context<'static> {
    Context::from_waker(noop_waker_ref())
}

fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut cx())
}

fn poll_ready<T>(w: &mut ElementSink<T>) -> Poll<Result<(), WriteError>> {
    Pin::new(w).poll_ready(&mut cx())
}

/// The trap of a batching sink: feed a request, then wait for the reply. With `into_sink`
/// the request is delivered when `feed` resolves, so the reply comes (the test would hang
/// otherwise; the same code with `into_buf_sink` does, see the next test).
#[test]
fn feed_then_await_the_reply() {
    let (requests, mut served) = stream_async::stream::<u32>(16);
    let (mut replies, answers) = stream_async::stream::<u32>(16);
    let server = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            while let Ok(x) = served.recv().await {
                replies.send(x * 10).await.unwrap();
            }
        })
    });
    futures_lite::future::block_on(async {
        let mut requests = requests.into_sink();
        let mut answers = answers.into_elements();
        for i in 1..=5 {
            requests.feed(i).await.unwrap();
            assert_eq!(answers.next().await, Some(i * 10));
        }
    });
    server.join().unwrap();
}

/// A `BufSink` holds what was fed until a flush: the reader sees nothing; the `ElementSink`
/// commits at once.
#[test]
fn buf_sink_holds_what_element_sink_delivers() {
    let (writer, mut reader) = stream_async::stream::<u32>(16);
    let mut writer = writer.into_buf_sink();
    assert!(reader.poll_fill(&mut cx()).is_pending());
    assert!(poll(&mut writer.feed(1)).is_ready());
    assert!(
        reader.poll_fill(&mut cx()).is_pending(),
        "held, not delivered"
    );
    let writer = writer.into_inner(); // commits
    assert_eq!(reader.poll_fill(&mut cx()), Poll::Ready(Ok(1)));
    assert_eq!(reader.pop(), Some(1));

    let mut writer = writer.into_sink();
    assert!(reader.poll_fill(&mut cx()).is_pending());
    assert_eq!(poll(&mut writer.feed(2)), Poll::Ready(Ok(())));
    assert_eq!(reader.poll_fill(&mut cx()), Poll::Ready(Ok(1)), "delivered");
    assert_eq!(reader.pop(), Some(2));
}

/// One commit per element: the reader, reading batch by batch, gets batches of one while
/// the writer feeds one element per lend.
#[test]
fn each_element_is_its_own_commit() {
    let (writer, mut reader) = stream_async::stream::<u32>(64);
    let mut writer = writer.into_sink();
    for i in 0..3 {
        assert!(reader.poll_fill(&mut cx()).is_pending());
        assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
        Pin::new(&mut writer).start_send(i).unwrap();
        assert_eq!(reader.poll_fill(&mut cx()), Poll::Ready(Ok(1)));
        assert_eq!(reader.pop(), Some(i));
    }
    assert_eq!(poll(&mut writer.flush()), Poll::Ready(Ok(())));
    assert_eq!(poll(&mut writer.close()), Poll::Ready(Ok(())));
    assert!(reader.is_write_closed());
    assert_eq!(
        poll(&mut writer.feed(9)),
        Poll::Ready(Err(WriteError::Closed(())))
    );
}

/// The reader is dropped between `poll_ready` (which took its buffer) and `start_send`: the
/// commit finds nobody, `start_send` says `Closed`, and the element comes back once.
#[test]
fn element_that_found_no_reader_comes_back() {
    let (writer, mut reader) = stream_async::stream::<String>(4);
    let mut writer = writer.into_sink();
    assert!(reader.poll_fill(&mut cx()).is_pending());
    assert_eq!(poll_ready(&mut writer), Poll::Ready(Ok(())));
    drop(reader); // does not wait for the writer, which holds its buffer
    assert_eq!(
        Pin::new(&mut writer).start_send("lost".to_string()),
        Err(WriteError::Closed(()))
    );
    assert_eq!(writer.take_undelivered(), ["lost"]);
    assert_eq!(
        poll_ready(&mut writer),
        Poll::Ready(Err(WriteError::Closed(())))
    );
}

/// `forward` from one stream's elements into another's sink, on two threads.
#[test]
fn forward_between_two_streams() {
    let (mut source, first) = stream_async::stream::<u64>(32);
    let (second, last) = stream_async::stream::<u64>(32);
    let producer = std::thread::spawn(move || {
        futures_lite::future::block_on(async {
            let mut items: Vec<u64> = (0..1000).collect();
            while !items.is_empty() {
                source.write_vec(&mut items).await.unwrap();
            }
        })
    });
    let relay = std::thread::spawn(move || {
        futures_lite::future::block_on(first.into_elements().map(Ok).forward(second.into_sink()))
    });
    let got: Vec<u64> = futures_lite::future::block_on(last.into_elements().collect());
    producer.join().unwrap();
    relay.join().unwrap().unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

/// A borrowed element stream gives the reader back with what it buffered.
#[test]
fn elements_borrow_the_reader() {
    let (mut writer, mut reader) = stream_async::stream::<u8>(8);
    // The writer waits for the reader's lend: it runs on a thread of its own. Its one
    // commit publishes all four elements at once.
    let t = std::thread::spawn(move || {
        futures_lite::future::block_on(writer.write_slice(&[1, 2, 3, 4])).unwrap();
    });
    futures_lite::future::block_on(async {
        assert_eq!(reader.elements().next().await, Some(1));
        t.join().unwrap();
        assert_eq!(reader.buffer(), [2, 3, 4], "the rest stays buffered");
        let rest: Vec<u8> = reader.elements().collect().await;
        assert_eq!(rest, [2, 3, 4]);
        assert_eq!(reader.elements().next().await, None);
    });
}
