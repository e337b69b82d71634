//! Async streams used as tokio and futures users write them: tokio-util codecs,
//! `tokio::io::copy`, `AsyncReadExt::take`, `flush`/`close`/`shutdown`, futures
//! `forward`/`send_all`, `feed` then await a reply, `select!` on a future reader and on reads
//! it cancels.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

const LINES: usize = 10_000;

/// `FramedWrite::send` per line → `FramedRead`, on the runtime given.
async fn framed_lines() {
    let (writer, reader) = native_stream::aio::stream::<u8>(64 * 1024);
    let producer = tokio::spawn(async move {
        let mut lines = FramedWrite::new(writer, LinesCodec::new());
        for i in 0..LINES {
            lines.send(format!("line {i}")).await.unwrap();
        }
    }); // each `send` flushed its line; the writer is dropped here: end of stream
    let mut lines = FramedRead::new(reader, LinesCodec::new());
    let mut count = 0;
    while let Some(line) = lines.next().await {
        assert_eq!(line.unwrap(), format!("line {count}"));
        count += 1;
    }
    producer.await.unwrap();
    assert_eq!(count, LINES);
}

#[test]
fn framed_lines_current_thread() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(framed_lines());
}

#[test]
fn framed_lines_multi_thread() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(framed_lines());
}

#[tokio::test]
async fn tokio_io_copy_take_and_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut writer, mut reader) = native_stream::aio::stream::<u8>(4096);
    let sent = data.clone();
    let producer = tokio::spawn(async move {
        tokio::io::copy(&mut sent.as_slice(), &mut writer).await?;
        writer.write_all(b"tail").await?;
        writer.flush().await?;
        writer.shutdown().await
    });
    let mut head = Vec::new();
    (&mut reader).take(10).read_to_end(&mut head).await.unwrap();
    assert_eq!(head, data[..10]);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    producer.await.unwrap().unwrap();
    assert_eq!(rest.len(), data.len() - 10 + 4);
    assert!(
        rest[..data.len() - 10] == data[10..],
        "the copied bytes differ"
    );
    assert_eq!(&rest[data.len() - 10..], b"tail");
}

#[test]
fn futures_io_write_then_close() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};

    let (mut writer, mut reader) = native_stream::aio::stream::<u8>(64);
    let producer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            writer.write_all(b"over futures-io").await?;
            writer.flush().await?;
            writer.close().await
        })
    });
    let mut got = String::new();
    futures::executor::block_on(reader.read_to_string(&mut got)).unwrap();
    producer.join().unwrap().unwrap();
    assert_eq!(got, "over futures-io");
}

#[test]
fn forward_and_send_all() {
    const N: u32 = 20_000;
    let (writer, reader) = native_stream::aio::stream::<u32>(256);
    let producer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut sink = writer.into_buf_sink();
            let mut first = futures::stream::iter(0..N / 2).map(Ok);
            sink.send_all(&mut first).await?;
            futures::stream::iter(N / 2..N).map(Ok).forward(sink).await
        })
    });
    let got: Vec<u32> = futures::executor::block_on(reader.into_elements().collect());
    producer.join().unwrap().unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

/// As with an mpsc `Sender`'s `Sink`: feed a request, then wait for its reply, on one
/// thread. The element sink delivers what it is fed.
#[test]
fn feed_then_await_the_reply() {
    let (requests, incoming) =
        native_stream::aio::stream::<(u64, native_stream::future::FutureWriter<u64>)>(16);
    let mut requests = requests.into_sink();
    let mut incoming = incoming.into_elements();
    let client = async move {
        for n in 0..100 {
            let (reply, answer) = native_stream::aio::future::<u64>();
            requests.feed((n, reply)).await.unwrap();
            assert_eq!(answer.await.unwrap(), n + 1);
        }
    };
    let server = async move {
        while let Some((n, reply)) = incoming.next().await {
            reply.write(n + 1).unwrap();
        }
    };
    futures::executor::block_on(async { futures::join!(client, server) });
}

/// `&mut answer` in `select!` leaves the future for a later poll when a timer fires first.
#[tokio::test]
async fn select_on_a_future_reader_by_reference() {
    let (writer, mut answer) = native_stream::aio::future::<u64>();
    let mut ticks = 0;
    let mut writer = Some(writer);
    let value = loop {
        tokio::select! {
            v = &mut answer => break v.unwrap(),
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                ticks += 1;
                if ticks == 3 {
                    writer.take().unwrap().write(42).unwrap();
                }
            }
        }
    };
    assert_eq!(value, 42);
    assert!(ticks >= 3);
}

/// Reads cancelled by `select!` lose nothing: every element arrives once, in order.
#[tokio::test]
async fn reads_cancelled_by_select_lose_nothing() {
    const N: u64 = 2_000;
    let (mut writer, mut reader) = native_stream::aio::stream::<u64>(64);
    let producer = tokio::spawn(async move {
        for i in 0..N {
            writer.send(i).await.unwrap();
            if i % 10 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    let (mut expected, mut cancelled) = (0, 0);
    loop {
        tokio::select! {
            biased;
            () = tokio::task::yield_now() => cancelled += 1,
            r = reader.recv() => match r {
                Ok(x) => {
                    assert_eq!(x, expected);
                    expected += 1;
                }
                Err(_) => break, // end of stream
            },
        }
    }
    producer.await.unwrap();
    assert_eq!(expected, N);
    assert!(cancelled > 0);
}
