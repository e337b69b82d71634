//! The behaviour the crate docs promise, one test each, for every backend.
#![cfg(not(stream_loom))]

mod common;

use std::mem::MaybeUninit;
use std::thread;
use std::time::{Duration, Instant};

use common::{scaled, Drops, Tracked};
use stream_core::{
    stream_with, Backend, RawStream, ReadAhead, ReadError, ReadTimeoutError, TryReadError,
    TryWriteError, WriteError, WriteTimeoutError,
};

fn short() -> Duration {
    Duration::from_millis(if cfg!(miri) { 5 } else { 20 })
}

/// Waits (polling) until `f` holds: for "the other thread is now blocked" set-ups.
fn eventually(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "condition never held"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn uninit<T>(n: usize) -> Vec<MaybeUninit<T>> {
    (0..n).map(|_| MaybeUninit::uninit()).collect()
}

fn eof_is_sticky<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    let t = thread::spawn(move || {
        w.write_vec(&mut vec![1, 2, 3]).unwrap();
        w.close();
        // Closed writers cannot write.
        assert_eq!(w.send(4), Err(WriteError::Closed(4)));
    });
    let mut got = Vec::new();
    assert_eq!(r.read_append(&mut got, 8), Ok(3));
    assert_eq!(got, [1, 2, 3]);
    t.join().unwrap();
    for _ in 0..3 {
        assert_eq!(r.read_append(&mut got, 8), Err(ReadError::Closed));
        assert_eq!(r.try_read_uninit(&mut uninit(4)), Err(TryReadError::Closed));
        assert_eq!(
            r.read_uninit_timeout(&mut uninit(4), Duration::from_secs(60)),
            Err(ReadTimeoutError::Closed)
        );
    }
    assert!(r.is_write_closed());
}

fn committed_before_close_is_delivered_first<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    let reader = thread::spawn(move || {
        let mut got = Vec::new();
        while r.read_append(&mut got, 2).is_ok() {}
        got
    });
    w.write_slice(&[1, 2]).unwrap();
    w.write_slice(&[3]).unwrap();
    drop(w);
    assert_eq!(reader.join().unwrap(), [1, 2, 3]);
}

fn reader_close_wakes_waiting_writer_and_gives_back<B: Backend>() {
    let drops = Drops::new(3);
    let (mut w, r) = stream_with::<Tracked, B>();
    let r2 = r.clone();
    let t = thread::spawn(move || {
        let mut items = drops.make(0..3);
        let res = w.write_vec(&mut items);
        (
            res,
            items,
            w.send_timeout(drops.make(0..1).pop().unwrap(), short()),
        )
    });
    thread::sleep(short());
    r.close();
    let (res, items, sent) = t.join().unwrap();
    assert_eq!(res, Err(WriteError::Closed(())));
    assert_eq!(items.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
    let back = sent.unwrap_err();
    assert!(matches!(back, WriteTimeoutError::Closed(_)));
    assert_eq!(back.into_inner().id, 0);
    drop(r2);
}

fn reader_drop_is_seen_as_closed<B: Backend>() {
    let (mut w, r) = stream_with::<u8, B>();
    assert!(!w.is_closed());
    drop(r);
    assert!(w.is_closed());
    assert_eq!(w.send(1), Err(WriteError::Closed(1)));
    assert_eq!(w.try_send(2), Err(TryWriteError::Closed(2)));
    assert_eq!(w.write_vec(&mut vec![]), Err(WriteError::Closed(())));
}

fn cancel_before_take_returns_zero<B: Backend>() {
    let (w, mut r) = stream_with::<u8, B>();
    let mut buf = uninit(4);
    let start = Instant::now();
    assert_eq!(
        r.read_uninit_timeout(&mut buf, short()),
        Err(ReadTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= short());
    assert_eq!(r.try_read_uninit(&mut buf), Err(TryReadError::Empty));
    // Low level: lend, cancel, and the buffer is ours again with 0 elements.
    let raw = r.raw();
    // SAFETY: `buf` outlives the read, which the cancel below ends.
    unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) }.unwrap();
    assert!(raw.is_ready_to_write());
    // SAFETY: we own the pending read.
    assert_eq!(unsafe { raw.cancel_read() }, 0);
    assert!(!raw.is_ready_to_write());
    drop(w);
}

fn cancel_waits_for_writer_commit<B: Backend>() {
    let (mut w, mut r) = stream_with::<u64, B>();
    let t = thread::spawn(move || {
        let mut loan = w.loan().unwrap();
        // Hold the buffer well past the reader's deadline, then commit.
        thread::sleep(short() * 4);
        loan.as_uninit_mut()[0].write(42);
        // SAFETY: element 0 is written.
        unsafe { loan.commit(1) };
        w
    });
    let mut buf = uninit::<u64>(4);
    // Until the writer has taken a buffer, reads time out (and are cancelled) normally.
    let (got, took) = loop {
        let start = Instant::now();
        match r.read_uninit_timeout(&mut buf, short()) {
            Err(ReadTimeoutError::Timeout) => continue,
            other => break (other, start.elapsed()),
        }
    };
    // The deadline passed while the writer held the buffer: the cancel waited for the
    // commit (well past the deadline) and returned the count.
    assert_eq!(got, Ok(1));
    assert!(
        took >= short() * 2,
        "returned after {took:?}, before the commit"
    );
    // SAFETY: one element was delivered.
    assert_eq!(unsafe { buf[0].assume_init() }, 42);
    drop(t.join().unwrap());
}

fn dropped_loan_leaves_read_pending<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    let t = thread::spawn(move || {
        let loan = w.loan().unwrap();
        assert!(loan.capacity() >= 1);
        drop(loan);
        // The buffer is lent again; the reader was not woken with a result.
        let loan = w.try_loan().unwrap();
        loan.copy_from_slice(&[7, 8]);
    });
    let mut got = Vec::new();
    assert_eq!(r.read_append(&mut got, 4), Ok(2));
    assert_eq!(got, [7, 8]);
    t.join().unwrap();
}

fn close_twice_is_noop_and_wakes_everyone<B: Backend>() {
    // A reader blocked in read wakes when another reader handle closes.
    let (w, r) = stream_with::<u8, B>();
    let mut r2 = r.clone();
    let t = thread::spawn(move || r2.recv());
    thread::sleep(short());
    r.close();
    r.close();
    assert_eq!(t.join().unwrap(), Err(ReadError::Closed));
    assert!(w.is_closed());
    drop(w);

    // A writer blocked in write wakes when another writer handle closes.
    let (w, r) = stream_with::<u8, B>();
    let mut w2 = w.clone();
    let t = thread::spawn(move || w2.send(5));
    thread::sleep(short());
    w.close();
    w.close();
    assert_eq!(t.join().unwrap(), Err(WriteError::Closed(5)));
    drop(r);

    // A reader blocked in read wakes when the writer closes.
    let (w, mut r) = stream_with::<u8, B>();
    let t = thread::spawn(move || r.recv());
    thread::sleep(short());
    w.close();
    assert_eq!(t.join().unwrap(), Err(ReadError::Closed));
}

fn zero_length_read_is_a_probe<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    let t = thread::spawn(move || {
        // The writer's write answers the probe and then waits for a real buffer.
        assert_eq!(w.write_vec(&mut vec![9]), Ok(1));
    });
    assert_eq!(r.read_uninit(&mut []), Ok(0));
    assert_eq!(r.recv(), Ok(9));
    t.join().unwrap();
    assert_eq!(r.read_uninit(&mut []), Err(ReadError::Closed));
}

fn zero_length_write_is_a_probe<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    assert_eq!(
        w.try_write_vec(&mut vec![]),
        Err(TryWriteError::NotReady(()))
    );
    assert_eq!(
        w.write_vec_timeout(&mut vec![], short()),
        Err(WriteTimeoutError::Timeout(()))
    );
    let t = thread::spawn(move || r.recv());
    // Returns once the reader lends, leaving the read pending ...
    assert_eq!(w.write_vec(&mut vec![]), Ok(0));
    assert!(w.raw().is_ready_to_write());
    // ... which the next write completes.
    w.send(3).unwrap();
    assert_eq!(t.join().unwrap(), Ok(3));
}

fn elements_move_exactly_once<B: Backend>() {
    let n = 64;
    let drops = Drops::new(n);
    let (mut w, mut r) = stream_with::<Tracked, B>();
    let mut items = drops.make(0..n);
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        // Read half, then drop the reader: the rest must come back to the writer.
        while got.len() < n / 2 {
            r.read_append(&mut got, 5).unwrap();
        }
        got
    });
    let mut sent = 0;
    while sent < n / 2 {
        sent += w.write_vec(&mut items).unwrap();
    }
    let got = t.join().unwrap();
    assert!(matches!(
        w.write_vec(&mut items),
        Err(WriteError::Closed(()))
    ));
    assert_eq!(got.len() + items.len(), n);
    for (i, t) in got.iter().chain(items.iter()).enumerate() {
        assert_eq!(t.id, i);
    }
    for id in 0..n {
        assert_eq!(drops.count(id), 0);
    }
    drop(got);
    drop(items);
    drops.assert_each_dropped_once();
}

/// `recv` of an element that fits the header's inline word (a `Box`, one pointer) by the only
/// reader handle lends that word; with a clone, a slot on the stack. Both move each element
/// once, and a dropped loan leaves the inline read pending.
fn recv_moves_one_word_elements_once<B: Backend>() {
    let n = 40;
    let drops = Drops::new(n + 1);
    let (mut w, mut r) = stream_with::<Box<Tracked>, B>();
    let mut items: Vec<_> = drops.make(0..n + 1).into_iter().map(Box::new).collect();
    let last = items.pop().unwrap();
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        // The only handle: the inline word.
        while got.len() < n / 2 {
            got.push(r.recv().unwrap());
        }
        // With a clone: a stack slot, through either handle.
        let mut r2 = r.clone();
        while got.len() < n {
            let v = if got.len() % 2 == 0 {
                r.recv()
            } else {
                r2.recv()
            };
            got.push(v.unwrap());
        }
        got
    });
    // A loan dropped without commit while the reader waits in `recv` (inline or not): the
    // read stays pending and takes the next element.
    for (i, item) in items.into_iter().enumerate() {
        if i % 7 == 3 {
            drop(w.loan().unwrap());
        }
        w.send(item).unwrap();
    }
    let got = t.join().unwrap();
    assert_eq!(got.len(), n);
    for (i, b) in got.iter().enumerate() {
        assert_eq!(b.id, i);
    }
    // Every reader handle is gone: the last element comes back.
    let back = match w.send(last) {
        Err(WriteError::Closed(back)) => back,
        other => panic!("send to a dropped reader: {other:?}"),
    };
    assert_eq!(back.id, n);
    for id in 0..=n {
        assert_eq!(drops.count(id), 0);
    }
    drop(got);
    drop(back);
    drops.assert_each_dropped_once();

    // An element larger than the inline word goes through a slot on the stack.
    let (mut w, mut r) = stream_with::<[u64; 4], B>();
    let t = thread::spawn(move || w.send([1, 2, 3, 4]));
    assert_eq!(r.recv(), Ok([1, 2, 3, 4]));
    t.join().unwrap().unwrap();
}

/// A `ReadAhead` delivers every element in order, in chunks no larger than one buffer, while
/// the writer writes pieces of every size; then end of stream, for good.
fn read_ahead_delivers_everything_in_order<B: Backend>() {
    let total = scaled(200_000);
    let (mut w, r) = stream_with::<u16, B>();
    let t = thread::spawn(move || {
        let data: Vec<u16> = (0..total).map(|i| i as u16).collect();
        let mut at = 0;
        let mut piece = 1;
        while at < data.len() {
            let end = (at + piece).min(data.len());
            let mut done = at;
            while done < end {
                done += w.write_slice(&data[done..end]).unwrap();
            }
            at = end;
            piece = piece * 7 % 1000 + 1;
        }
    });
    let mut reader = ReadAhead::new(r, 97);
    let mut next = 0usize;
    while let Ok(chunk) = reader.next_chunk() {
        assert!(!chunk.is_empty() && chunk.len() <= 97);
        for &v in chunk {
            assert_eq!(v, next as u16);
            next += 1;
        }
    }
    assert_eq!(next, total);
    assert_eq!(reader.next_chunk(), Err(ReadError::Closed));
    assert!(!reader.is_pending());
    t.join().unwrap();
}

/// A `ReadAhead` dropped after its first chunk, with its ring lent: the writer's writes then
/// fail and give their elements back, and nothing hangs.
fn read_ahead_dropped_mid_stream<B: Backend>() {
    let (mut w, r) = stream_with::<u8, B>();
    let t = thread::spawn(move || {
        let mut sent = 0;
        loop {
            match w.send(sent as u8) {
                Ok(()) => sent += 1,
                Err(WriteError::Closed(back)) => {
                    assert_eq!(back, sent as u8);
                    return sent;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    });
    let mut reader = ReadAhead::new(r, 1);
    assert_eq!(reader.next_chunk(), Ok(&[0u8][..]));
    assert!(reader.is_pending() || reader.reader().is_closed());
    // The writer may be blocked waiting, or copying into the lent buffer right now.
    thread::sleep(short());
    drop(reader);
    let sent = t.join().unwrap();
    // The first element, and perhaps more into the ring lent ahead (four elements for a
    // chunk capacity of one).
    assert!((1..=5).contains(&sent), "sent {sent}");
}

/// A read left pending on the only reader handle through the raw API owns the buffer fields:
/// a safe read on that handle (which lends in one step when the handle is unique) reports
/// `Busy` and leaves the pending read untouched, and the writer fills the raw buffer.
fn safe_read_beside_a_raw_pending_read_is_busy<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    let mut raw_buf = uninit::<u32>(4);
    // SAFETY: `raw_buf` outlives the read, which ends below (`read_amount` returns a count).
    unsafe { r.raw().start_reading(raw_buf.as_mut_ptr().cast(), 4) }.unwrap();
    assert_eq!(r.read_uninit(&mut uninit(2)), Err(ReadError::Busy));
    assert_eq!(r.recv(), Err(ReadError::Busy));
    assert_eq!(w.write_slice(&[1, 2, 3]), Ok(3));
    // SAFETY: our `start_reading` succeeded and the read has not ended.
    assert_eq!(unsafe { r.raw().read_amount() }, 3);
    // SAFETY: the writer initialised the first 3 elements before its commit.
    let got: Vec<u32> = raw_buf[..3]
        .iter()
        .map(|v| unsafe { v.assume_init() })
        .collect();
    assert_eq!(got, [1, 2, 3]);
    // The handle reads normally again.
    let t = thread::spawn(move || w.send(4));
    assert_eq!(r.recv(), Ok(4));
    t.join().unwrap().unwrap();
}

fn fill_from_iter_drops_written_on_panic<B: Backend>() {
    let drops = Drops::new(3);
    let (mut w, mut r) = stream_with::<Tracked, B>();
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        r.read_append(&mut got, 8).map(|_| got)
    });
    let loan = w.loan().unwrap();
    let mut source = drops.make(0..3).into_iter();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        loan.fill_from_iter(std::iter::from_fn(|| {
            let item = source.next().unwrap();
            assert!(item.id < 2, "source fails at the third element");
            Some(item)
        }))
    }));
    assert!(res.is_err());
    // Elements 0 and 1 were written into the buffer, then dropped by the unwinding filler;
    // element 2 was dropped by the panicking closure.
    for id in 0..3 {
        assert_eq!(drops.count(id), 1);
    }
    drop(w);
    assert!(matches!(t.join().unwrap(), Err(ReadError::Closed)));
}

fn busy_second_operation<B: Backend>() {
    // Readers: one waits for a buffer; a clone's `try_` form is refused, its timed form times
    // out, its blocking form waits its turn and reads the next element.
    let (mut w, r) = stream_with::<u8, B>();
    let mut r1 = r.clone();
    let mut r2 = r.clone();
    let t = thread::spawn(move || r1.recv());
    eventually(|| w.raw().is_ready_to_write());
    assert_eq!(r2.try_read_uninit(&mut uninit(1)), Err(TryReadError::Busy));
    assert_eq!(r2.recv_timeout(short()), Err(ReadTimeoutError::Timeout));
    let t2 = thread::spawn(move || r2.recv());
    w.send(1).unwrap();
    w.send(2).unwrap();
    let mut got = [t.join().unwrap().unwrap(), t2.join().unwrap().unwrap()];
    got.sort_unstable();
    assert_eq!(got, [1, 2], "each element to one clone");

    // Writers: one waits for a buffer; a clone's `try_` form is refused, its timed form times
    // out with the element, its blocking form waits its turn and delivers.
    let mut w2 = w.clone();
    let mut w3 = w.clone();
    let t = thread::spawn(move || w2.send(2));
    eventually(|| format!("{:?}", w.raw()).contains("writer_busy: true"));
    assert_eq!(w3.try_send(3), Err(TryWriteError::Busy(3)));
    assert_eq!(
        w3.send_timeout(3, short()),
        Err(WriteTimeoutError::Timeout(3))
    );
    let t3 = thread::spawn(move || w3.send(3));
    let mut r3 = r.clone();
    let mut got = [r3.recv().unwrap(), r3.recv().unwrap()];
    got.sort_unstable();
    assert_eq!(got, [2, 3], "both writers delivered");
    t.join().unwrap().unwrap();
    t3.join().unwrap().unwrap();
    drop((w, r, r3));
}

fn try_operations_need_a_waiting_partner<B: Backend>() {
    let (mut w, mut r) = stream_with::<u32, B>();
    assert_eq!(r.try_read_uninit(&mut uninit(2)), Err(TryReadError::Empty));
    assert_eq!(w.try_send(1), Err(TryWriteError::NotReady(1)));
    // A writer waiting in `send`: try_read takes its element.
    let t = thread::spawn(move || {
        w.send(5).unwrap();
        w
    });
    let mut buf = uninit(2);
    let got = loop {
        match r.try_read_uninit(&mut buf) {
            Ok(n) => break n,
            Err(TryReadError::Empty) => thread::yield_now(),
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(got, 1);
    let mut w = t.join().unwrap();
    // A reader waiting in `read`: try_send delivers.
    let t = thread::spawn(move || r.recv());
    let mut v = 6;
    loop {
        match w.try_send(v) {
            Ok(()) => break,
            Err(TryWriteError::NotReady(back)) => {
                v = back;
                thread::yield_now();
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(t.join().unwrap(), Ok(6));
}

fn handles_are_counted<B: Backend>() {
    let (w, r) = stream_with::<u8, B>();
    let one_each = stream_abi::ACTIVE_READER_ONE + stream_abi::ACTIVE_WRITER_ONE;
    assert_eq!(w.raw().active_instances(), one_each);
    let r2 = r.clone();
    let w2 = w.clone();
    assert_eq!(w.raw().active_instances(), 2 * one_each);
    drop(r);
    assert!(!w.is_closed(), "one reader handle is left");
    drop(r2);
    assert!(w.is_closed());
    assert_eq!(
        w.raw().active_instances(),
        2 * stream_abi::ACTIVE_WRITER_ONE
    );
    drop(w2);
    assert!(!w.raw().is_write_closed());
    drop(w);
}

fn raw_low_level_sequence<B: Backend>() {
    let raw_ptr = RawStream::<B>::create_stream();
    // SAFETY: we hold both handles until the releases at the end.
    let raw = unsafe { raw_ptr.as_ref() };
    let mut buf = [0u32; 4];
    let ptr = buf.as_mut_ptr();
    assert_eq!(
        // SAFETY: we hold the writer handle; no buffer is taken by this call.
        unsafe { raw.start_writing() },
        Err(stream_core::StartWriteError::Blocked)
    );
    // SAFETY: `buf` outlives the read, which ends below.
    unsafe { raw.start_reading(ptr.cast(), 4) }.unwrap();
    assert_eq!(
        // SAFETY: as above; a second start while one is pending.
        unsafe { raw.start_reading(ptr.cast(), 4) },
        Err(stream_core::StartReadError::Busy)
    );
    // SAFETY: we own the pending read.
    assert_eq!(unsafe { raw.read_amount() }, stream_abi::BLOCKED);
    // SAFETY: we hold the writer handle and finish the write below.
    let (addr, cap) = unsafe { raw.start_writing() }.unwrap();
    assert_eq!(cap, 4);
    // SAFETY: the lent buffer is 4 u32s.
    unsafe { addr.cast::<u32>().write(11) };
    // SAFETY: we own the buffer; a count above the capacity is refused.
    assert!(!unsafe { raw.finish_writing(5) });
    // SAFETY: we own the buffer and initialised one element.
    assert!(unsafe { raw.finish_writing(1) });
    // SAFETY: we own the pending read.
    assert_eq!(unsafe { raw.read_amount() }, 1);
    // SAFETY: the read ended; `ptr` is still the buffer's pointer.
    assert_eq!(unsafe { ptr.read() }, 11);
    // SAFETY: `finish_writing(CLOSED)` closes; we hold no buffer.
    assert!(unsafe { raw.finish_writing(stream_abi::CLOSED) });
    assert!(raw.is_write_closed());
    assert_eq!(
        // SAFETY: as above.
        unsafe { raw.start_reading(ptr.cast(), 4) },
        Err(stream_core::StartReadError::Closed)
    );
    // SAFETY: each handle is released once, and not used after.
    unsafe {
        RawStream::release_writer(raw_ptr);
        RawStream::release_reader(raw_ptr);
    }
}

fn ping_pong_many<B: Backend>() {
    let n = scaled(20_000) as u64;
    let (mut w1, mut r1) = stream_with::<u64, B>();
    let (mut w2, mut r2) = stream_with::<u64, B>();
    let t = thread::spawn(move || {
        while let Ok(v) = r1.recv() {
            w2.send(v + 1).unwrap();
        }
    });
    for i in 0..n {
        w1.send(i * 2).unwrap();
        assert_eq!(r2.recv(), Ok(i * 2 + 1));
    }
    drop(w1);
    t.join().unwrap();
}

macro_rules! suite {
    ($name:ident, $backend:ty, [$($test:ident),* $(,)?]) => {
        mod $name {
            $(
                #[test]
                fn $test() {
                    super::$test::<$backend>();
                }
            )*
        }
    };
}

macro_rules! backends {
    ($($test:ident),* $(,)?) => {
        #[cfg(feature = "spin")]
        suite!(spin, stream_events::Spin, [$($test),*]);
        #[cfg(feature = "futex")]
        suite!(futex, stream_events::Futex, [$($test),*]);
        #[cfg(feature = "listener")]
        suite!(listener, stream_events::Listener, [$($test),*]);
    };
}

backends!(
    eof_is_sticky,
    committed_before_close_is_delivered_first,
    reader_close_wakes_waiting_writer_and_gives_back,
    reader_drop_is_seen_as_closed,
    cancel_before_take_returns_zero,
    cancel_waits_for_writer_commit,
    dropped_loan_leaves_read_pending,
    close_twice_is_noop_and_wakes_everyone,
    zero_length_read_is_a_probe,
    zero_length_write_is_a_probe,
    elements_move_exactly_once,
    recv_moves_one_word_elements_once,
    read_ahead_delivers_everything_in_order,
    read_ahead_dropped_mid_stream,
    safe_read_beside_a_raw_pending_read_is_busy,
    fill_from_iter_drops_written_on_panic,
    busy_second_operation,
    try_operations_need_a_waiting_partner,
    handles_are_counted,
    raw_low_level_sequence,
    ping_pong_many,
);
