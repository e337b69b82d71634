//! Streams used as a channel: `send` per element and `for x in reader`, writer clones as
//! mpsc senders, reader clones as a work queue, request and reply with one-element futures
//! (blocking threads on one side, async code on the other).

use std::thread;

use native_stream::future::FutureWriter;

#[test]
fn send_each_then_for_each() {
    const N: u64 = 100_000;
    let (mut writer, reader) = native_stream::stream::<u64>();
    let producer = thread::spawn(move || {
        for i in 0..N {
            writer.send(i).unwrap();
        }
    });
    let mut expected = 0;
    for x in reader {
        assert_eq!(x, expected);
        expected += 1;
    }
    producer.join().unwrap();
    assert_eq!(expected, N);
}

/// Four clones send at once, as four mpsc `Sender`s would: nothing is lost, no `Busy`, and
/// each clone's elements arrive in the order it sent them.
#[test]
fn writer_clones_are_senders() {
    const CLONES: u64 = 4;
    const EACH: u64 = 10_000;
    let (writer, reader) = native_stream::stream::<u64>();
    let producers: Vec<_> = (0..CLONES)
        .map(|c| {
            let mut writer = writer.clone();
            thread::spawn(move || {
                for i in 0..EACH {
                    writer.send(c * EACH + i).unwrap();
                }
            })
        })
        .collect();
    drop(writer);
    let got: Vec<u64> = reader.into_iter().collect();
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(got.len() as u64, CLONES * EACH);
    for c in 0..CLONES {
        let mine: Vec<u64> = got.iter().copied().filter(|x| x / EACH == c).collect();
        assert_eq!(mine, (c * EACH..(c + 1) * EACH).collect::<Vec<_>>());
    }
}

/// Two clones of the reader share the work: each element goes to one of them, in order, and
/// neither stops before the end of the stream.
#[test]
fn reader_clones_are_a_work_queue() {
    const N: u64 = 100_000;
    let (mut writer, reader) = native_stream::stream::<u64>();
    let workers: Vec<_> = [reader.clone(), reader]
        .into_iter()
        .map(|reader| thread::spawn(move || reader.into_iter().collect::<Vec<u64>>()))
        .collect();
    for i in 0..N {
        writer.send(i).unwrap();
    }
    drop(writer);
    let mut all = Vec::new();
    for w in workers {
        let mine = w.join().unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "out of order");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

/// A request carries the writer of its reply, whichever module made the pair.
struct Request {
    n: u64,
    reply: FutureWriter<u64>,
}

fn serve(requests: native_stream::Reader<Request>) {
    for request in requests {
        request.reply.write(request.n * 2).unwrap();
    }
}

#[test]
fn request_and_reply_between_threads() {
    let (mut requests, incoming) = native_stream::stream::<Request>();
    let server = thread::spawn(move || serve(incoming));
    for n in 0..1_000 {
        let (reply, answer) = native_stream::future::future::<u64>();
        requests.send(Request { n, reply }).unwrap();
        assert_eq!(answer.read().unwrap(), n * 2);
    }
    drop(requests);
    server.join().unwrap();
}

/// The client is async: its replies come from `aio::future` and are awaited; the server is
/// the same blocking thread.
#[test]
fn request_from_async_code_reply_awaited() {
    let (requests, incoming) = native_stream::stream::<Request>();
    let server = thread::spawn(move || serve(incoming));
    let mut requests = native_stream::aio::AsyncWriter::new(requests).unwrap();
    futures::executor::block_on(async {
        for n in 0..1_000 {
            let (reply, answer) = native_stream::aio::future::<u64>();
            requests.send(Request { n, reply }).await.unwrap();
            assert_eq!(answer.await.unwrap(), n * 2);
        }
    });
    drop(requests);
    server.join().unwrap();
}

/// A blocking `future()` reader is awaited as it is.
#[test]
fn a_blocking_future_is_awaited() {
    let (writer, reader) = native_stream::future::future::<String>();
    let t = thread::spawn(move || writer.write("ready".to_string()).unwrap());
    let value = futures::executor::block_on(async { reader.await });
    t.join().unwrap();
    assert_eq!(value.unwrap(), "ready");
}
