//! The conventions of std::io, iterators and the `try_`/`_timeout`/`_deadline` forms, on real
//! threads for every backend (and under Miri).
#![cfg(not(stream_loom))]

use std::io::{BufRead, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use stream_core::{
    stream_with, Backend, BufferedReader, Futex, Listener, ReadAhead, ReadTimeoutError, Spin,
    TryReadError, TryWriteError, WriteTimeoutError,
};

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn size() -> usize {
    if cfg!(miri) {
        3_000
    } else {
        300_000
    }
}

fn io_copy_both_ways<B: Backend>() {
    let data = bytes(size());
    let (mut w, r) = stream_with::<u8, B>();
    let expected = data.clone();
    let t = thread::spawn(move || {
        let mut r = r;
        let mut got = Vec::new();
        let n = std::io::copy(&mut r, &mut got).unwrap();
        assert_eq!(n as usize, got.len());
        got
    });
    std::io::copy(&mut &data[..], &mut w).unwrap();
    w.flush().unwrap();
    drop(w);
    assert_eq!(t.join().unwrap(), expected);
}

fn buf_read_of_both_buffered_readers<B: Backend>() {
    for read_ahead in [false, true] {
        let data = bytes(size());
        let (mut w, r) = stream_with::<u8, B>();
        let chunks: Vec<Vec<u8>> = data.chunks(1000).map(<[u8]>::to_vec).collect();
        let t = thread::spawn(move || {
            for c in chunks {
                let mut sent = 0;
                while sent < c.len() {
                    sent += w.write_slice(&c[sent..]).unwrap();
                }
            }
        });
        let mut got = Vec::new();
        if read_ahead {
            let mut r = ReadAhead::new(r, 777);
            // Small reads through `Read` exercise partial consumes of a chunk.
            let mut small = [0u8; 100];
            loop {
                let n = r.read(&mut small).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&small[..n]);
            }
            assert!(r.fill_buf().unwrap().is_empty(), "end of stream stays");
        } else {
            let mut r = BufferedReader::new(r, 777);
            r.read_to_end(&mut got).unwrap();
            assert!(r.fill_buf().unwrap().is_empty(), "end of stream stays");
        }
        t.join().unwrap();
        assert_eq!(got, data, "read_ahead {read_ahead}");
    }
}

fn io_errors<B: Backend>() {
    let (mut w, mut r) = stream_with::<u8, B>();
    // The inherent `write`/`read` take `Vec`s and `MaybeUninit` buffers: name the traits.
    assert_eq!(
        Write::write(&mut w, &[]).unwrap(),
        0,
        "an empty write does not wait"
    );
    assert_eq!(
        Read::read(&mut r, &mut []).unwrap(),
        0,
        "an empty read does not wait"
    );
    drop(r);
    let e = Write::write(&mut w, b"x").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    let (w, mut r) = stream_with::<u8, B>();
    drop(w);
    let mut buf = [0u8; 4];
    assert_eq!(
        Read::read(&mut r, &mut buf).unwrap(),
        0,
        "end of stream reads 0"
    );
    assert_eq!(Read::read(&mut r, &mut buf).unwrap(), 0, "and stays");
}

fn timed_forms<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    assert_eq!(r.try_recv(), Err(TryReadError::Empty));
    assert_eq!(
        r.recv_timeout(Duration::from_millis(1)),
        Err(ReadTimeoutError::Timeout)
    );
    assert_eq!(
        r.recv_deadline(Instant::now()),
        Err(ReadTimeoutError::Timeout)
    );
    assert!(matches!(
        w.try_write_slice(&[1, 2]),
        Err(TryWriteError::NotReady(()))
    ));
    assert!(matches!(
        w.write_slice_timeout(&[1], Duration::from_millis(1)),
        Err(WriteTimeoutError::Timeout(()))
    ));
    assert!(matches!(
        w.write_slice_deadline(&[1], Instant::now()),
        Err(WriteTimeoutError::Timeout(()))
    ));
    assert!(matches!(
        w.send_deadline(3, Instant::now()),
        Err(WriteTimeoutError::Timeout(3))
    ));
    assert!(matches!(
        w.write_vec_deadline(&mut vec![4], Instant::now()),
        Err(WriteTimeoutError::Timeout(()))
    ));
    assert!(w.loan_deadline(Instant::now()).is_err());
    // Delivered with the deadline forms.
    let t = thread::spawn(move || {
        let far = Instant::now() + Duration::from_secs(60);
        w.send_deadline(10, far).unwrap();
        let n = w.write_slice_deadline(&[11, 12], far).unwrap();
        assert!(n >= 1);
        if n == 1 {
            w.write_slice_timeout(&[12], Duration::from_secs(60))
                .unwrap();
        }
    });
    let far = Instant::now() + Duration::from_secs(60);
    assert_eq!(r.recv_deadline(far), Ok(10));
    assert_eq!(r.recv_timeout(Duration::from_secs(60)), Ok(11));
    assert_eq!(r.recv(), Ok(12));
    t.join().unwrap();
    assert_eq!(r.try_recv(), Err(TryReadError::Closed));
    assert_eq!(
        r.recv_timeout(Duration::from_secs(60)),
        Err(ReadTimeoutError::Closed)
    );
}

fn iteration<B: Backend>() {
    let n = if cfg!(miri) { 500 } else { 50_000 };
    let (mut w, r) = stream_with::<u64, B>();
    let t = thread::spawn(move || {
        let items: Vec<u64> = (0..n).collect();
        let mut sent = 0;
        while sent < items.len() {
            sent += w.write_slice(&items[sent..]).unwrap();
        }
    });
    let mut expected = 0;
    for v in r {
        assert_eq!(v, expected);
        expected += 1;
    }
    assert_eq!(expected, n);
    t.join().unwrap();

    // `iter()` keeps the reader and holds nothing: stopping early loses no element.
    let (mut w, mut r) = stream_with::<String, B>();
    let t = thread::spawn(move || {
        for i in 0..5 {
            w.send(i.to_string()).unwrap();
        }
    });
    let first: Vec<String> = r.iter().take(2).collect();
    assert_eq!(first, ["0", "1"]);
    let rest: Vec<String> = (&mut r).into_iter().collect();
    assert_eq!(rest, ["2", "3", "4"]);
    t.join().unwrap();

    // `into_parts` gives back the reader and what was read ahead.
    let (mut w, r) = stream_with::<u8, B>();
    let t = thread::spawn(move || w.write_slice(b"abc").unwrap());
    let mut it = r.into_iter();
    assert_eq!(it.next(), Some(b'a'));
    let (mut r, left) = it.into_parts();
    assert_eq!(t.join().unwrap(), 3);
    assert_eq!(left, b"bc");
    assert!(r.recv().is_err());
}

fn read_from_fills_loans<B: Backend>() {
    let data = bytes(size() / 3);
    let (mut w, mut r) = stream_with::<u8, B>();
    let source = data.clone();
    let t = thread::spawn(move || {
        let mut source = &source[..];
        let mut sent = 0;
        while let Ok(loan) = w.loan() {
            match loan.read_from(&mut source).unwrap() {
                0 => break,
                n => sent += n,
            }
        }
        sent
    });
    let mut got = Vec::new();
    while got.len() < data.len() {
        r.read_append(&mut got, 500).unwrap();
    }
    drop(r);
    assert_eq!(t.join().unwrap(), data.len());
    assert_eq!(got, data);
}

fn debug_shows_what_a_user_can_act_on<B: Backend>() {
    let (w, r) = stream_with::<u8, B>();
    let w2 = w.clone();
    assert_eq!(
        format!("{r:?}"),
        format!(
            "Reader {{ backend: {:?}, closed: false, writer_closed: false, busy: false, handles: 1 }}",
            B::NAME
        )
    );
    drop(r);
    assert_eq!(
        format!("{w:?}"),
        format!(
            "Writer {{ backend: {:?}, closed: false, reader_closed: true, busy: false, handles: 2 }}",
            B::NAME
        )
    );
    drop((w, w2));
}

fn all<B: Backend>() {
    debug_shows_what_a_user_can_act_on::<B>();
    io_copy_both_ways::<B>();
    buf_read_of_both_buffered_readers::<B>();
    io_errors::<B>();
    timed_forms::<B>();
    iteration::<B>();
    read_from_fills_loans::<B>();
}

#[test]
fn conventions_spin() {
    all::<Spin>();
}

#[test]
fn conventions_futex() {
    all::<Futex>();
}

#[test]
fn conventions_listener() {
    all::<Listener>();
}

/// With `std::io`'s traits in scope, method syntax on byte handles means what it means on a
/// file or a socket: `write(b"..")`, `flush()`, `read(&mut [u8])` are the traits' methods
/// (the stream's own batch and uninitialised forms are `write_vec` and `read_uninit`).
#[test]
fn io_method_names_resolve_to_the_traits() {
    use std::io::{Read, Write};
    let (mut writer, mut reader) = stream_core::stream::<u8>();
    let t = std::thread::spawn(move || {
        let n = writer.write(b"hello").unwrap();
        writer.flush().unwrap();
        n
    });
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 5 {
        got += reader.read(&mut buf[got..]).unwrap();
    }
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(t.join().unwrap(), 5);
}
