//! `closed()`, one `close` name, and a future's reader that is a `Future`, under
//! `futures_lite::future::block_on` (and Miri).

use futures_lite::future::{block_on, poll_once};
use stream_async::FutureReadError;

#[test]
fn closed_resolves_when_either_end_closes() {
    // The writer learns that the reader is gone.
    let (writer, reader) = stream_async::stream::<u8>(4);
    assert!(
        block_on(poll_once(writer.closed())).is_none(),
        "pending while both are open"
    );
    let t = std::thread::spawn(move || drop(reader));
    block_on(writer.closed());
    assert!(writer.is_closed());
    t.join().unwrap();

    // The reader learns that the writer is done; what was written is still read.
    let (mut writer, mut reader) = stream_async::stream::<u8>(4);
    assert!(block_on(poll_once(reader.closed())).is_none());
    let t = std::thread::spawn(move || {
        block_on(writer.send(5)).unwrap();
        block_on(writer.close()).unwrap();
        // Closing twice is a no-op, awaited or not.
        writer.close();
    });
    assert_eq!(block_on(reader.recv()), Ok(5));
    block_on(reader.closed());
    assert!(reader.is_write_closed());
    assert!(block_on(reader.recv()).is_err());
    t.join().unwrap();

    // Closing one's own end resolves one's own `closed()` too.
    let (writer, reader) = stream_async::stream::<u8>(4);
    reader.close();
    block_on(reader.closed());
    block_on(writer.closed());
}

#[test]
fn a_future_reader_is_a_future_that_survives_a_lost_select() {
    let (writer, mut reader) = stream_async::future::<String>();
    // A select that takes another branch polls the reader once and leaves it in place.
    assert!(block_on(poll_once(&mut reader)).is_none());
    assert!(!reader.is_ready());
    let t = std::thread::spawn(move || writer.write("done".to_string()).unwrap());
    assert_eq!(block_on(&mut reader).unwrap(), "done");
    t.join().unwrap();
    // Read once: a later poll says so.
    assert_eq!(block_on(&mut reader), Err(FutureReadError));

    // The writer dropped without a value.
    let (writer, reader) = stream_async::future::<u8>();
    drop(writer);
    assert_eq!(block_on(reader), Err(FutureReadError));

    // The reader dropped: the value comes back to the writer.
    let (writer, reader) = stream_async::future::<Vec<u8>>();
    drop(reader);
    let back: stream_async::FutureWriteError<Vec<u8>> = writer.write(vec![1, 2]).unwrap_err();
    assert_eq!(back.into_inner(), [1, 2]);
}

/// With the `tokio` feature, `tokio::io::copy` moves bytes both ways on a one-thread runtime.
#[cfg(feature = "tokio")]
#[test]
fn tokio_io_copy_on_a_current_thread_runtime() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (mut writer, mut reader) = stream_async::stream::<u8>(4096);
        let send = async {
            let n = tokio::io::copy(&mut &data[..], &mut writer).await.unwrap();
            writer.shutdown().await.unwrap();
            n
        };
        let recv = async {
            let mut got = Vec::new();
            tokio::io::copy(&mut reader, &mut got).await.unwrap();
            got
        };
        let (n, got) = tokio::join!(send, recv);
        assert_eq!(n as usize, data.len());
        assert_eq!(got, data);

        // AsyncBufRead: lines, straight from the reader's buffer.
        let (mut writer, reader) = stream_async::stream::<u8>(16);
        let send = async {
            writer.write_all(b"one\ntwo\n").await.unwrap();
            drop(writer);
        };
        let recv = async {
            let mut lines = reader.lines(); // tokio's AsyncBufRead of the reader itself
            let mut got = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                got.push(line);
            }
            got
        };
        let ((), got) = tokio::join!(send, recv);
        assert_eq!(got, ["one", "two"]);

        // A closed reader end is `BrokenPipe`.
        let (mut writer, reader) = stream_async::stream::<u8>(16);
        drop(reader);
        let e = writer.write_all(b"x").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    });
}

/// With the `tokio` feature, reads and writes spend the task's cooperative budget, as tokio's
/// own I/O types do: a writer whose reader keeps up, and a reader with bytes buffered, return
/// `Pending` once it is spent, so a task spawned beside them runs before they finish.
#[cfg(feature = "tokio")]
#[test]
fn tokio_io_spends_the_task_budget() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Far more than tokio's budget of 128, far less than the ring.
    const BYTES: usize = 10_000;
    /// Spawns a task that sets a flag; the flag, to look at later. (ORDERING: Relaxed for
    /// the flag's store and loads: every task runs on the runtime's one thread.)
    fn spawn_ticker() -> Arc<AtomicBool> {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        tokio::spawn(async move { flag.store(true, Ordering::Relaxed) });
        ran
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // A writer of one byte at a time into a ring that never fills.
        let (mut writer, mut reader) = stream_async::stream::<u8>(1 << 20);
        let recv = tokio::spawn(async move {
            let mut got = Vec::new();
            reader.read_to_end(&mut got).await.unwrap();
            got.len()
        });
        let send = tokio::spawn(async move {
            writer.write_all(b"x").await.unwrap(); // the ring is lent from here on
            let ticker = spawn_ticker();
            for _ in 1..BYTES {
                writer.write_all(b"y").await.unwrap();
            }
            ticker.load(Ordering::Relaxed)
        });
        assert!(send.await.unwrap(), "the writer never yielded");
        assert_eq!(recv.await.unwrap(), BYTES);

        // A reader of one byte at a time from what is buffered.
        let (mut writer, mut reader) = stream_async::stream::<u8>(1 << 20);
        let send = tokio::spawn(async move { writer.write_all(&[7; BYTES]).await.unwrap() });
        let recv = tokio::spawn(async move {
            assert_eq!(reader.read_u8().await.unwrap(), 7);
            let ticker = spawn_ticker();
            for _ in 1..BYTES {
                assert_eq!(reader.read_u8().await.unwrap(), 7);
            }
            ticker.load(Ordering::Relaxed)
        });
        send.await.unwrap();
        assert!(recv.await.unwrap(), "the reader never yielded");
    });
}
