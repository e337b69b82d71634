//! The same pipelines under `futures_lite::future::block_on` (one thread per side) and under a
//! multi-threaded tokio runtime (many tasks over many streams), with every element counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt, StreamExt};
use stream_async::{AsyncReader, AsyncWriter, ReadError};

#[cfg(not(miri))]
const ELEMENTS: usize = 20_000;
#[cfg(miri)]
const ELEMENTS: usize = 60;

#[cfg(not(miri))]
const STREAMS: usize = 32;
#[cfg(miri)]
const STREAMS: usize = 2;

/// An element that counts its drops.
struct Counted {
    value: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends `0..n` with a mix of every write operation, chosen by `seed`.
async fn produce(mut w: AsyncWriter<Counted>, n: u64, seed: u64, drops: Arc<AtomicUsize>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut next = 0;
    let mut make = |k: u64| -> Vec<Counted> {
        let v: Vec<Counted> = (next..(next + k).min(n))
            .map(|value| Counted {
                value,
                drops: drops.clone(),
            })
            .collect();
        next += v.len() as u64;
        v
    };
    loop {
        match rng.u8(0..3) {
            0 => {
                let mut items = make(rng.u64(1..40));
                if items.is_empty() {
                    break;
                }
                while !items.is_empty() {
                    w.write_vec(&mut items).await.unwrap();
                }
            }
            1 => match make(1).pop() {
                Some(item) => w.send(item).await.unwrap(),
                None => break,
            },
            _ => {
                let mut items = make(rng.u64(1..40));
                if items.is_empty() {
                    break;
                }
                while !items.is_empty() {
                    let loan = w.loan().await.unwrap();
                    let k = loan.capacity().min(items.len());
                    let sent = loan.fill_from_iter(items.drain(..k));
                    assert_eq!(sent, k);
                }
            }
        }
        if rng.u8(0..8) == 0 {
            future::yield_now().await;
        }
    }
    // Dropping the writer closes the stream.
}

/// Receives until end of stream with a mix of every read operation; returns the values.
async fn consume(mut r: AsyncReader<Counted>, seed: u64) -> Vec<u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut got = Vec::new();
    loop {
        let done = match rng.u8(0..4) {
            0 => match r.recv().await {
                Ok(c) => {
                    got.push(c.value);
                    false
                }
                Err(ReadError::Closed) => true,
                Err(e) => panic!("{e}"),
            },
            1 => {
                let mut v = Vec::new();
                match r.read_append(&mut v, rng.usize(1..50)).await {
                    Ok(n) => {
                        assert_eq!(n, v.len());
                        got.extend(v.iter().map(|c| c.value));
                        false
                    }
                    Err(_) => true,
                }
            }
            2 => match r.fill().await {
                Ok(n) => {
                    let take = rng.usize(1..=n);
                    got.extend(r.buffer()[..take].iter().map(|c| c.value));
                    r.consume(take);
                    false
                }
                Err(_) => true,
            },
            _ => match r.elements().next().await {
                Some(c) => {
                    got.push(c.value);
                    false
                }
                None => true,
            },
        };
        if done {
            break;
        }
    }
    got
}

fn check(got: &[u64], n: u64) {
    assert_eq!(got.len() as u64, n, "lost or duplicated elements");
    assert!(
        got.iter().copied().eq(0..n),
        "elements out of order or wrong"
    );
}

#[test]
fn block_on_one_thread_per_side() {
    for (seed, capacity) in [(1, 1), (2, 7), (3, 64)] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (w, r) = stream_async::stream::<Counted>(capacity);
        let d = drops.clone();
        let t = std::thread::spawn(move || future::block_on(produce(w, ELEMENTS as u64, seed, d)));
        let got = future::block_on(consume(r, seed + 100));
        t.join().unwrap();
        check(&got, ELEMENTS as u64);
        assert_eq!(drops.load(Ordering::Relaxed), ELEMENTS, "dropped once each");
    }
}

#[test]
fn both_sides_in_one_block_on() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (w, r) = stream_async::stream::<Counted>(5);
    let (_, got) = future::block_on(future::zip(
        produce(w, ELEMENTS as u64, 7, drops.clone()),
        consume(r, 8),
    ));
    check(&got, ELEMENTS as u64);
    assert_eq!(drops.load(Ordering::Relaxed), ELEMENTS);
}

#[cfg_attr(miri, ignore = "tokio's multi-threaded runtime is too slow under Miri")]
#[test]
fn many_tasks_over_many_streams_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let per_stream = (ELEMENTS / 4) as u64;
    rt.block_on(async {
        let mut consumers = Vec::new();
        for i in 0..STREAMS as u64 {
            let (w, r) = stream_async::stream::<Counted>(1 + (i as usize * 7) % 50);
            tokio::spawn(produce(w, per_stream, i, drops.clone()));
            consumers.push(tokio::spawn(consume(r, i + 1000)));
        }
        for c in consumers {
            check(&c.await.unwrap(), per_stream);
        }
    });
    drop(rt);
    assert_eq!(drops.load(Ordering::Relaxed), STREAMS * per_stream as usize);
}

#[cfg_attr(miri, ignore = "tokio's multi-threaded runtime is too slow under Miri")]
#[test]
fn futures_awaited_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut readers = Vec::new();
        for i in 0..1000u64 {
            let (writer, reader) = stream_async::future::<u64>();
            readers.push(tokio::spawn(reader));
            if i % 10 == 0 {
                drop(writer); // closed without a value
            } else {
                tokio::spawn(async move { writer.write(i * 3).unwrap() });
            }
        }
        for (i, r) in readers.into_iter().enumerate() {
            let got = r.await.unwrap();
            if i % 10 == 0 {
                assert_eq!(got, Err(stream_future::ReadError));
            } else {
                assert_eq!(got, Ok(i as u64 * 3));
            }
        }
    });
}

#[test]
fn bytes_through_io_copy() {
    let len = if cfg!(miri) { 3_000 } else { 3 << 20 };
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let (mut w, r) = stream_async::stream::<u8>(4096);
    let src = data.clone();
    let t = std::thread::spawn(move || {
        future::block_on(async {
            w.write_all(&src).await.unwrap();
            w.close().await.unwrap();
        })
    });
    let mut out = Vec::new();
    let copied = future::block_on(futures_lite::io::copy(r, &mut out)).unwrap();
    t.join().unwrap();
    assert_eq!(copied, len as u64);
    assert!(out == data, "bytes differ");
}

#[test]
fn async_read_to_end_after_reader_side_close() {
    let (mut w, mut r) = stream_async::stream::<u8>(16);
    let t = std::thread::spawn(move || {
        future::block_on(async {
            // Write until the reader closes: the write fails with BrokenPipe.
            loop {
                if let Err(e) = w.write_all(&[1; 100]).await {
                    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
                    break;
                }
            }
        })
    });
    let mut buf = [0u8; 40];
    future::block_on(r.read_exact(&mut buf)).unwrap();
    r.close();
    t.join().unwrap();
    assert_eq!(buf, [1; 40]);
}

/// A future of an element aligned above the stream header's 64 bytes, awaited.
#[test]
fn over_aligned_future_is_awaited() {
    #[repr(align(256))]
    #[derive(Debug, PartialEq)]
    struct Page(u32);

    let (writer, reader) = stream_async::future::<Page>();
    let t = std::thread::spawn(move || writer.write(Page(5)).unwrap());
    let got = future::block_on(reader);
    t.join().unwrap();
    assert_eq!(got, Ok(Page(5)));
}
