//! Fuzz target `c_api`: arbitrary sequences of every exported C function of stream-ffi,
//! called through its `extern "C"` functions as a C caller would, on a few streams and
//! futures, each call's status, out-parameters and delivered element values checked against
//! a model of the stream (handle counts per end, closed flags, the pending read's phase, an
//! open lend's positions and the writer's region of it: `c_api_open.rs`) and of each future
//! (size, written, read).
//!
//! The caller is one thread acting for both ends, so the model leaves out what the API
//! documents as undetectable misuse or as a wait that cannot end on the thread that holds the
//! buffer: no handle is used after the last release of its stream (a dead slot is only
//! re-created), no `cancel_read` or last reader release while this thread holds the taken
//! buffer, no negative (endless) timeout unless the condition already holds, no stream
//! functions on a future's header, no handles beyond what `active_instances` counts.
//! Everything else is fed: released ends, null handles and out-parameters, zero, huge and
//! negative counts, wrong sizes and alignments, and timeouts of 0, negative and a few µs.
#![no_main]

use std::ffi::c_void;
use std::ptr::{self, null_mut};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stream_abi::{StreamHeader, BLOCKED, CLOSED};
use stream_ffi::*;

#[path = "c_api_open.rs"]
mod open;

use open::{open_op, OpenOp};

const STREAMS: usize = 3;
const FUTURES: usize = 2;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Timeout {
    Zero,
    /// Forever: used only when the model says the condition holds (else 0).
    Negative,
    /// 1 to 20 µs.
    Tiny(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ReadCount {
    Small(u8),
    /// Above `PTRDIFF_MAX`: refused before anything is lent.
    Huge(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Commit {
    /// This many elements (refused above the capacity).
    Count(u8),
    /// `NATIVE_STREAM_CLOSED`: closes the writer end.
    Closed,
    /// Negative, not `CLOSED`.
    Negative(u32),
    Huge(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pred {
    ReadyToWrite,
    WriteClosed,
    ReadClosed,
    ReadPending,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Which {
    StreamRead,
    StreamWrite,
    FutureRead,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Create(u8),
    CloneReader(u8),
    CloneWriter(u8),
    ReleaseReader(u8),
    ReleaseWriter(u8),
    StartReading {
        s: u8,
        count: ReadCount,
        null_addr: bool,
    },
    ReadAmount {
        s: u8,
        null_out: bool,
    },
    WaitRead {
        s: u8,
        t: Timeout,
        null_out: bool,
    },
    CancelRead {
        s: u8,
        null_out: bool,
    },
    StartWriting {
        s: u8,
        null_addr: bool,
        null_cap: bool,
    },
    WaitWritable {
        s: u8,
        t: Timeout,
    },
    FinishWriting {
        s: u8,
        commit: Commit,
    },
    CloseRead(u8),
    CloseWrite(u8),
    Predicate(u8, Pred),
    Event {
        s: u8,
        which: Which,
        activate: bool,
        cond: Option<bool>,
        t: Timeout,
    },
    /// Every call with a null handle.
    Null(u8),
    FutureCreate {
        f: u8,
        size: u8,
        align: u8,
        bad: Option<bool>,
    },
    FutureWrite {
        f: u8,
        wrong_size: bool,
        null_value: bool,
        value: u8,
    },
    FutureRead {
        f: u8,
        wrong_size: bool,
        null_out: bool,
        t: Timeout,
    },
    FutureIsReady(u8),
    FutureCloneReader(u8),
    FutureCloneWriter(u8),
    FutureReleaseReader(u8),
    FutureReleaseWriter(u8),
    /// An operation of the open lend (`c_api_open.rs`) on stream `s`.
    Open {
        s: u8,
        op: OpenOp,
    },
}

/// A buffer this thread lent: `cap` elements (at least one slot, for a probe's address).
struct Buf {
    ptr: *mut u32,
    len: usize,
    cap: usize,
}

impl Buf {
    fn new(cap: usize) -> Buf {
        let len = cap.max(1);
        let ptr = Box::into_raw(vec![0xdead_beef_u32; len].into_boxed_slice()).cast::<u32>();
        Buf { ptr, len, cap }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: from `Box::into_raw` of a slice of `len`; the read that lent it has ended
        // (the model drops a `Buf` only then).
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
    }
}

enum Read {
    None,
    Lent(Buf),
    /// This thread took it with `start_writing` and holds it.
    Taken(Buf),
    Done(Buf, usize),
    /// A ring lent open (and the region of it this thread took as the writer, if any).
    Open(open::Ring),
}

struct Stream {
    h: *mut StreamHeader,
    readers: u32,
    writers: u32,
    rclosed: bool,
    wclosed: bool,
    read: Read,
    /// The next element value the writer commits, and the next the reader must see.
    next: u32,
    expect: u32,
}

struct Future {
    h: *mut StreamHeader,
    size: usize,
    readers: u32,
    writers: u32,
    /// The value written and not yet read.
    value: Option<Vec<u8>>,
    written: bool,
    /// The pending read of the slot ended (read, or the last reader released).
    read_over: bool,
}

#[derive(Default)]
struct Model {
    streams: [Option<Stream>; STREAMS],
    futures: [Option<Future>; FUTURES],
}

fn ns(t: Timeout, holds: bool) -> i64 {
    match t {
        Timeout::Zero => 0,
        Timeout::Negative if holds => -1,
        Timeout::Negative => 0,
        Timeout::Tiny(n) => 1_000 + i64::from(n % 19_000),
    }
}

/// The code a wait returns when its condition does not hold.
fn missed(t: i64) -> i32 {
    assert!(t >= 0, "an endless wait on a condition that does not hold");
    if t == 0 {
        NATIVE_STREAM_ERR_WOULD_BLOCK
    } else {
        NATIVE_STREAM_ERR_TIMEOUT
    }
}

unsafe extern "C" fn cond(ctx: *mut c_void) -> i32 {
    // SAFETY: `ctx` is the `bool` of `Op::Event`, alive during the wait.
    i32::from(unsafe { *ctx.cast::<bool>() })
}

impl Stream {
    fn new(h: *mut StreamHeader) -> Stream {
        Stream {
            h,
            readers: 1,
            writers: 1,
            rclosed: false,
            wclosed: false,
            read: Read::None,
            next: 0,
            expect: 0,
        }
    }

    fn lent(&self) -> Option<&Buf> {
        match &self.read {
            Read::Lent(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this thread, as the writer, holds a buffer or an open lend's region.
    fn taken(&self) -> bool {
        match &self.read {
            Read::Taken(_) => true,
            Read::Open(r) => r.taken.is_some(),
            _ => false,
        }
    }

    /// Whether a writer's take would get a buffer: one lent, or room in an open lend.
    fn writable(&self) -> bool {
        match &self.read {
            Read::Lent(_) => true,
            Read::Open(r) => r.writable(),
            _ => false,
        }
    }

    /// What a lend (`start_reading`, `start_reading_open`) with valid arguments returns.
    fn lend_code(&self) -> i32 {
        if self.readers == 0 {
            NATIVE_STREAM_ERR_RELEASED
        } else if self.rclosed {
            NATIVE_STREAM_ERR_CLOSED
        } else if !matches!(self.read, Read::None) {
            NATIVE_STREAM_ERR_BUSY
        } else if self.wclosed {
            NATIVE_STREAM_ERR_CLOSED
        } else {
            NATIVE_STREAM_OK
        }
    }

    /// Checks the elements a read delivered and moves past them.
    fn delivered(&mut self, buf: &Buf, n: usize) {
        for i in 0..n {
            // SAFETY: the read ended with `n <= cap` elements, written by this thread.
            let v = unsafe { buf.ptr.add(i).read() };
            assert_eq!(v, self.expect, "element {i} of {n}");
            self.expect = self.expect.wrapping_add(1);
        }
    }

    /// `read_amount` / `wait_read` once the read ended: the count or `CLOSED`.
    fn end_read(&mut self) -> Option<isize> {
        match std::mem::replace(&mut self.read, Read::None) {
            Read::Done(buf, n) => {
                self.delivered(&buf, n);
                Some(n as isize)
            }
            Read::Lent(buf) if self.rclosed || self.wclosed => {
                drop(buf);
                Some(CLOSED)
            }
            other => {
                self.read = other;
                None
            }
        }
    }
}

fn stream_op(m: &mut Model, op: Op) {
    let slot = |i: u8| usize::from(i) % STREAMS;
    match op {
        Op::Open { s: i, op } => {
            if let Some(s) = m.streams[slot(i)].as_mut() {
                open_op(s, op);
            }
        }
        Op::Create(i) => {
            if m.streams[slot(i)].is_none() {
                let h = native_stream_create();
                assert!(!h.is_null());
                m.streams[slot(i)] = Some(Stream::new(h));
            }
        }
        Op::CloneReader(i) | Op::CloneWriter(i) => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let reader = matches!(op, Op::CloneReader(_));
            // SAFETY: a live stream (the model holds a handle of some end).
            let rc = unsafe {
                if reader {
                    native_stream_clone_reader(s.h)
                } else {
                    native_stream_clone_writer(s.h)
                }
            };
            let count = if reader {
                &mut s.readers
            } else {
                &mut s.writers
            };
            if *count == 0 {
                assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
            } else {
                assert_eq!(rc, NATIVE_STREAM_OK);
                *count += 1;
            }
        }
        Op::ReleaseReader(i) => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            if s.readers == 1 && s.taken() {
                return; // would wait for this thread's own commit
            }
            // SAFETY: a live stream; the model gives up a reader handle it counts.
            let rc = unsafe { native_stream_release_reader(s.h) };
            if s.readers == 0 {
                assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
                return;
            }
            assert_eq!(rc, NATIVE_STREAM_OK);
            s.readers -= 1;
            if s.readers == 0 {
                s.rclosed = true;
                // The last reader handle ends its read: a delivered count (an open lend's
                // published elements) is discarded.
                match &s.read {
                    Read::Done(_, n) => s.expect = s.expect.wrapping_add(*n as u32),
                    Read::Open(r) => s.expect = s.expect.wrapping_add(r.available() as u32),
                    _ => {}
                }
                s.read = Read::None;
            }
            free_if_dead(m, slot(i));
        }
        Op::ReleaseWriter(i) => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            // SAFETY: a live stream; the model gives up a writer handle it counts.
            let rc = unsafe { native_stream_release_writer(s.h) };
            if s.writers == 0 {
                assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
                return;
            }
            assert_eq!(rc, NATIVE_STREAM_OK);
            s.writers -= 1;
            if s.writers == 0 {
                // The last writer handle returns a buffer it holds, then closes its end.
                s.read = match std::mem::replace(&mut s.read, Read::None) {
                    Read::Taken(b) => Read::Lent(b),
                    Read::Open(mut r) => {
                        r.taken = None;
                        Read::Open(r)
                    }
                    other => other,
                };
                s.wclosed = true;
            }
            free_if_dead(m, slot(i));
        }
        Op::StartReading {
            s: i,
            count,
            null_addr,
        } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let (n, huge) = match count {
                ReadCount::Small(n) => (usize::from(n % 40), false),
                ReadCount::Huge(k) => (isize::MAX as usize + 1 + k as usize, true),
            };
            let buf = Buf::new(if huge { 1 } else { n });
            let addr = if null_addr {
                null_mut()
            } else {
                buf.ptr.cast()
            };
            // SAFETY: a live stream; `buf` holds `n` elements (or the call is refused) and
            // the model keeps it until the read ends.
            let rc = unsafe { native_stream_start_reading(s.h, addr, n) };
            let expected = if null_addr {
                NATIVE_STREAM_ERR_NULL
            } else if huge {
                NATIVE_STREAM_ERR_INVALID
            } else {
                s.lend_code()
            };
            assert_eq!(rc, expected, "start_reading({n})");
            if rc == NATIVE_STREAM_OK {
                s.read = Read::Lent(buf);
            }
        }
        Op::ReadAmount { s: i, null_out } | Op::WaitRead { s: i, null_out, .. } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let wait = match op {
                Op::WaitRead { t, .. } => {
                    let holds = matches!(s.read, Read::Done(..))
                        || (s.lent().is_some() && (s.rclosed || s.wclosed));
                    Some(ns(t, holds))
                }
                _ => None,
            };
            let mut amount: isize = 12345;
            let out = if null_out {
                null_mut()
            } else {
                ptr::from_mut(&mut amount)
            };
            // SAFETY: a live stream; `out` is null or writable; this thread started the
            // pending read, if any.
            let rc = unsafe {
                match wait {
                    Some(t) => native_stream_wait_read(s.h, t, out),
                    None => native_stream_read_amount(s.h, out),
                }
            };
            if null_out {
                return assert_eq!(rc, NATIVE_STREAM_ERR_NULL);
            }
            if s.readers == 0 {
                return assert_eq!((rc, amount), (NATIVE_STREAM_ERR_RELEASED, 12345));
            }
            if matches!(s.read, Read::None) {
                return assert_eq!((rc, amount), (NATIVE_STREAM_ERR_NOT_PENDING, 12345));
            }
            if matches!(s.read, Read::Open(_)) {
                return assert_eq!((rc, amount), (NATIVE_STREAM_ERR_INVALID, 12345));
            }
            match (s.end_read(), wait) {
                (Some(n), _) => assert_eq!((rc, amount), (NATIVE_STREAM_OK, n)),
                (None, None) => assert_eq!((rc, amount), (NATIVE_STREAM_OK, BLOCKED)),
                (None, Some(t)) => assert_eq!((rc, amount), (missed(t), BLOCKED)),
            }
        }
        Op::CancelRead { s: i, null_out } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            if matches!(s.read, Read::Taken(_)) {
                return; // would wait for this thread's own commit
            }
            let mut delivered = 777usize;
            let out = if null_out {
                null_mut()
            } else {
                ptr::from_mut(&mut delivered)
            };
            // SAFETY: a live stream; this thread started the pending read, if any, and does
            // not hold its buffer.
            let rc = unsafe { native_stream_cancel_read(s.h, out) };
            let expected = if s.readers == 0 {
                Err(NATIVE_STREAM_ERR_RELEASED)
            } else if matches!(s.read, Read::Open(_)) {
                Err(NATIVE_STREAM_ERR_INVALID)
            } else {
                match std::mem::replace(&mut s.read, Read::None) {
                    Read::None => Err(NATIVE_STREAM_ERR_NOT_PENDING),
                    Read::Lent(_) => Ok(0),
                    Read::Done(buf, n) => {
                        s.delivered(&buf, n);
                        Ok(n)
                    }
                    Read::Taken(_) | Read::Open(_) => unreachable!(),
                }
            };
            match expected {
                Err(code) => assert_eq!((rc, delivered), (code, 777)),
                Ok(n) if null_out => assert_eq!((rc, delivered), (NATIVE_STREAM_OK, 777), "{n}"),
                Ok(n) => assert_eq!((rc, delivered), (NATIVE_STREAM_OK, n)),
            }
        }
        Op::StartWriting {
            s: i,
            null_addr,
            null_cap,
        } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let mut addr: *mut c_void = ptr::dangling_mut();
            let mut cap = 999usize;
            let a = if null_addr {
                null_mut()
            } else {
                ptr::from_mut(&mut addr)
            };
            let c = if null_cap {
                null_mut()
            } else {
                ptr::from_mut(&mut cap)
            };
            // SAFETY: a live stream; out-parameters null or writable; the model finishes a
            // taken buffer before it releases the last writer handle (the release returns it).
            let rc = unsafe { native_stream_start_writing(s.h, a, c) };
            let expected = if null_addr || null_cap {
                NATIVE_STREAM_ERR_NULL
            } else if s.writers == 0 {
                NATIVE_STREAM_ERR_RELEASED
            } else if s.rclosed || s.wclosed {
                NATIVE_STREAM_ERR_CLOSED
            } else if s.taken() {
                NATIVE_STREAM_ERR_BUSY
            } else if !s.writable() {
                NATIVE_STREAM_ERR_WOULD_BLOCK
            } else {
                NATIVE_STREAM_OK
            };
            assert_eq!(rc, expected, "start_writing");
            if rc == NATIVE_STREAM_OK {
                match std::mem::replace(&mut s.read, Read::None) {
                    Read::Lent(b) => {
                        assert_eq!((addr, cap), (b.ptr.cast(), b.cap), "the lent buffer");
                        s.read = Read::Taken(b);
                    }
                    Read::Open(mut r) => {
                        let (start, len) = r.region();
                        assert_eq!((addr, cap), (r.addr(start), len), "the open region");
                        r.taken = Some(len);
                        s.read = Read::Open(r);
                    }
                    _ => unreachable!(),
                }
            } else {
                assert_eq!((addr, cap), (ptr::dangling_mut(), 999), "written on error");
            }
        }
        Op::WaitWritable { s: i, t } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let closed = s.rclosed || s.wclosed;
            let ready = s.writable();
            let t = ns(t, closed || ready);
            // SAFETY: a live stream.
            let rc = unsafe { native_stream_wait_writable(s.h, t) };
            let expected = if closed {
                NATIVE_STREAM_ERR_CLOSED
            } else if ready {
                NATIVE_STREAM_OK
            } else {
                missed(t)
            };
            assert_eq!(rc, expected, "wait_writable({t})");
        }
        Op::FinishWriting { s: i, commit } => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let count = match commit {
                Commit::Count(n) => isize::from(n % 48),
                Commit::Closed => CLOSED,
                Commit::Negative(k) => -1 - (k as isize),
                Commit::Huge(k) => isize::MAX - k as isize,
            };
            let cap = match &s.read {
                Read::Taken(b) => Some(b.cap),
                // An open lend's region as it is now: the reader may have freed more slots
                // up to the ring's end since the take, and `finish_writing` accepts a count
                // up to them (the header keeps no copy of the handed length).
                Read::Open(r) => r.taken.map(|_| r.region().1),
                _ => None,
            };
            // Write the elements before committing them (the caller's side of the contract).
            if let (Some(cap), Ok(n)) = (cap, usize::try_from(count)) {
                if n <= cap {
                    match &s.read {
                        Read::Taken(b) => {
                            for k in 0..n {
                                // SAFETY: this thread holds the taken buffer of `cap >= n`
                                // elements.
                                unsafe { b.ptr.add(k).write(s.next.wrapping_add(k as u32)) };
                            }
                        }
                        Read::Open(r) => r.write(s.next, n),
                        _ => unreachable!(),
                    }
                }
            }
            // SAFETY: a live stream; this thread holds the buffer (if any) and wrote `count`
            // elements of it when the count is within the capacity.
            let rc = unsafe { native_stream_finish_writing(s.h, count) };
            if count == CLOSED {
                assert_eq!(
                    rc,
                    if s.wclosed {
                        NATIVE_STREAM_ERR_CLOSED
                    } else {
                        NATIVE_STREAM_OK
                    }
                );
                s.wclosed = true;
                return;
            }
            let expected = if s.writers == 0 {
                NATIVE_STREAM_ERR_RELEASED
            } else if count < 0 {
                NATIVE_STREAM_ERR_INVALID
            } else if let Some(cap) = cap {
                if count as usize > cap {
                    NATIVE_STREAM_ERR_INVALID
                } else {
                    NATIVE_STREAM_OK
                }
            } else {
                NATIVE_STREAM_ERR_NOT_PENDING
            };
            assert_eq!(rc, expected, "finish_writing({count}) on capacity {cap:?}");
            if rc == NATIVE_STREAM_OK {
                let n = count as usize;
                if let Read::Open(r) = &mut s.read {
                    r.publish(n);
                    s.next = s.next.wrapping_add(n as u32);
                    return;
                }
                let Read::Taken(b) = std::mem::replace(&mut s.read, Read::None) else {
                    unreachable!()
                };
                if n == 0 && b.cap > 0 {
                    s.read = Read::Lent(b);
                } else {
                    s.next = s.next.wrapping_add(n as u32);
                    s.read = Read::Done(b, n);
                }
            }
        }
        Op::CloseRead(i) | Op::CloseWrite(i) => {
            let Some(s) = m.streams[slot(i)].as_mut() else {
                return;
            };
            let read = matches!(op, Op::CloseRead(_));
            // SAFETY: a live stream.
            let rc = unsafe {
                if read {
                    native_stream_close_read(s.h)
                } else {
                    native_stream_close_write(s.h)
                }
            };
            let flag = if read { &mut s.rclosed } else { &mut s.wclosed };
            assert_eq!(
                rc,
                if *flag {
                    NATIVE_STREAM_ERR_CLOSED
                } else {
                    NATIVE_STREAM_OK
                }
            );
            *flag = true;
        }
        Op::Predicate(i, p) => {
            let Some(s) = m.streams[slot(i)].as_ref() else {
                return;
            };
            // SAFETY: a live stream.
            let (rc, expected) = unsafe {
                match p {
                    Pred::ReadyToWrite => (
                        native_stream_is_ready_to_write(s.h),
                        s.writable() && !s.rclosed && !s.wclosed,
                    ),
                    Pred::WriteClosed => (native_stream_is_write_closed(s.h), s.wclosed),
                    Pred::ReadClosed => (native_stream_is_read_closed(s.h), s.rclosed),
                    Pred::ReadPending => (
                        native_stream_is_read_pending(s.h),
                        !matches!(s.read, Read::None),
                    ),
                }
            };
            assert_eq!(rc, i32::from(expected), "{p:?}");
        }
        Op::Event {
            s: i,
            which,
            activate,
            cond: c,
            t,
        } => {
            let h = match which {
                Which::FutureRead => match &m.futures[usize::from(i) % FUTURES] {
                    Some(f) => f.h,
                    None => return,
                },
                _ => match &m.streams[slot(i)] {
                    Some(s) => s.h,
                    None => return,
                },
            };
            // SAFETY: a live stream or future of the kind the getter expects.
            let e = unsafe {
                match which {
                    Which::StreamRead => native_stream_read_ready_event(h),
                    Which::StreamWrite => native_stream_write_ready_event(h),
                    Which::FutureRead => native_future_read_ready_event(h),
                }
            };
            assert!(!e.is_null());
            if activate {
                // SAFETY: an event of a live stream.
                assert_eq!(unsafe { native_stream_event_activate(e) }, NATIVE_STREAM_OK);
            }
            let mut holds = c.unwrap_or(false);
            let t = ns(t, holds);
            let f = c.map(|_| cond as unsafe extern "C" fn(*mut c_void) -> i32);
            // SAFETY: an event of a live stream; `cond` reads the `bool` behind `ctx`.
            let rc = unsafe { native_stream_event_wait(e, f, ptr::from_mut(&mut holds).cast(), t) };
            let expected = match c {
                None => NATIVE_STREAM_ERR_NULL,
                Some(true) => NATIVE_STREAM_OK,
                Some(false) => missed(t),
            };
            assert_eq!(rc, expected, "event_wait({t})");
        }
        _ => unreachable!(),
    }
}

fn free_if_dead(m: &mut Model, i: usize) {
    if let Some(s) = &m.streams[i] {
        if s.readers == 0 && s.writers == 0 {
            m.streams[i] = None;
        }
    }
}

/// Every call with a null handle (or null event) answers `ERR_NULL` (or null).
fn null_op(k: u8) {
    let n: *mut StreamHeader = null_mut();
    let mut amount = 0isize;
    let mut addr = null_mut();
    let mut cap = 0usize;
    let mut byte = 0u8;
    let b = ptr::from_mut(&mut byte).cast::<c_void>();
    let (mut pos, mut pos2) = (0usize, 0usize);
    let lend = stream_abi::OpenLend {
        buffer: b,
        capacity: 1,
        element_size: 1,
    };
    // SAFETY: null handles are checked before anything is read through them.
    let rc = unsafe {
        match k % 32 {
            0 => native_stream_clone_reader(n),
            1 => native_stream_clone_writer(n),
            2 => native_stream_release_reader(n),
            3 => native_stream_release_writer(n),
            4 => native_stream_start_reading(n, b, 1),
            5 => native_stream_read_amount(n, &mut amount),
            6 => native_stream_wait_read(n, 0, &mut amount),
            7 => native_stream_cancel_read(n, null_mut()),
            8 => native_stream_start_writing(n, &mut addr, &mut cap),
            9 => native_stream_wait_writable(n, -1),
            10 => native_stream_finish_writing(n, 0),
            11 => native_stream_close_read(n),
            12 => native_stream_close_write(n),
            13 => native_stream_is_ready_to_write(n),
            14 => native_stream_is_write_closed(n),
            15 => native_stream_is_read_closed(n),
            16 => native_stream_is_read_pending(n),
            17 => native_stream_event_activate(null_mut()),
            18 => native_stream_event_wait(null_mut(), Some(cond), b, -1),
            19 => native_future_write(n, b, 1),
            20 => native_future_read(n, b, 1, -1),
            21 => native_future_is_ready(n),
            22 => native_future_clone_reader(n),
            23 => native_future_clone_writer(n),
            24 => native_future_release_reader(n),
            25 => native_future_release_writer(n),
            26 => native_stream_start_reading_open(n, &lend),
            27 => native_stream_open_readable(n, &mut pos, &mut pos2),
            28 => native_stream_open_consume(n, 0),
            29 => native_stream_wait_open(n, -1, &mut pos, &mut pos2),
            30 => native_stream_end_open(n, -1, &mut pos, &mut pos2),
            _ => {
                assert!(native_stream_read_ready_event(n).is_null());
                assert!(native_stream_write_ready_event(n).is_null());
                assert!(native_future_read_ready_event(n).is_null());
                NATIVE_STREAM_ERR_NULL
            }
        }
    };
    assert_eq!(rc, NATIVE_STREAM_ERR_NULL, "null handle, call {}", k % 32);
}

fn future_op(m: &mut Model, op: Op) {
    let slot = |i: u8| usize::from(i) % FUTURES;
    match op {
        Op::FutureCreate {
            f: i,
            size,
            align,
            bad,
        } => {
            if m.futures[slot(i)].is_some() {
                return;
            }
            let size = usize::from(size % 33);
            let align = 1usize << (align % 7);
            match bad {
                // Not a power of two.
                Some(false) => assert!(native_future_create(size, 3 * align).is_null()),
                // A size no layout can have.
                Some(true) => {
                    assert!(native_future_create(isize::MAX as usize, align * 2).is_null())
                }
                None => {
                    let h = native_future_create(size, align);
                    assert!(!h.is_null());
                    m.futures[slot(i)] = Some(Future {
                        h,
                        size,
                        readers: 1,
                        writers: 1,
                        value: None,
                        written: false,
                        read_over: false,
                    });
                }
            }
        }
        Op::FutureWrite {
            f: i,
            wrong_size,
            null_value,
            value,
        } => {
            let Some(f) = m.futures[slot(i)].as_mut() else {
                return;
            };
            let size = if wrong_size { f.size + 1 } else { f.size };
            let bytes: Vec<u8> = (0..size).map(|k| value.wrapping_add(k as u8)).collect();
            let v = if null_value {
                ptr::null()
            } else {
                bytes.as_ptr().cast()
            };
            // SAFETY: a live future; `v` null or readable for `size` bytes.
            let rc = unsafe { native_future_write(f.h, v, size) };
            let expected = if wrong_size {
                NATIVE_STREAM_ERR_INVALID
            } else if null_value && size != 0 {
                NATIVE_STREAM_ERR_NULL
            } else if f.writers == 0 {
                NATIVE_STREAM_ERR_RELEASED
            } else if f.written || f.readers == 0 {
                NATIVE_STREAM_ERR_CLOSED
            } else {
                NATIVE_STREAM_OK
            };
            assert_eq!(rc, expected, "future_write({size})");
            if rc == NATIVE_STREAM_OK {
                f.written = true;
                f.value = Some(bytes);
            }
        }
        Op::FutureRead {
            f: i,
            wrong_size,
            null_out,
            t,
        } => {
            let Some(f) = m.futures[slot(i)].as_mut() else {
                return;
            };
            let size = if wrong_size { f.size + 1 } else { f.size };
            let mut out = vec![0xa5u8; size];
            let o = if null_out {
                null_mut()
            } else {
                out.as_mut_ptr().cast()
            };
            // Ready: the value is there, or the writer end closed, or the read is over.
            let holds = f.value.is_some() || f.written || f.writers == 0 || f.read_over;
            let t = ns(t, holds);
            // SAFETY: a live future; `o` null or writable for `size` bytes; the only reader.
            let rc = unsafe { native_future_read(f.h, o, size, t) };
            let expected = if wrong_size {
                NATIVE_STREAM_ERR_INVALID
            } else if null_out && size != 0 {
                NATIVE_STREAM_ERR_NULL
            } else if f.readers == 0 {
                NATIVE_STREAM_ERR_RELEASED
            } else if f.read_over {
                NATIVE_STREAM_ERR_CLOSED
            } else if f.value.is_some() {
                NATIVE_STREAM_OK
            } else if f.written || f.writers == 0 {
                NATIVE_STREAM_ERR_CLOSED
            } else {
                missed(t)
            };
            assert_eq!(rc, expected, "future_read({size}, {t})");
            if rc == NATIVE_STREAM_OK {
                let v = f.value.take().unwrap();
                if !null_out {
                    assert_eq!(out, v, "the future's value");
                }
            }
            if rc == NATIVE_STREAM_OK || (rc == NATIVE_STREAM_ERR_CLOSED && !f.read_over) {
                f.read_over = true;
            }
            if rc != NATIVE_STREAM_OK && !null_out {
                assert!(out.iter().all(|&b| b == 0xa5), "written on error");
            }
        }
        Op::FutureIsReady(i) => {
            let Some(f) = m.futures[slot(i)].as_ref() else {
                return;
            };
            // SAFETY: a live future.
            let rc = unsafe { native_future_is_ready(f.h) };
            let ready = f.read_over || f.written || f.writers == 0;
            assert_eq!(rc, i32::from(ready), "future_is_ready");
        }
        Op::FutureCloneReader(i) | Op::FutureCloneWriter(i) => {
            let Some(f) = m.futures[slot(i)].as_mut() else {
                return;
            };
            let reader = matches!(op, Op::FutureCloneReader(_));
            // SAFETY: a live future.
            let rc = unsafe {
                if reader {
                    native_future_clone_reader(f.h)
                } else {
                    native_future_clone_writer(f.h)
                }
            };
            let count = if reader {
                &mut f.readers
            } else {
                &mut f.writers
            };
            if *count == 0 {
                assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
            } else {
                assert_eq!(rc, NATIVE_STREAM_OK);
                *count += 1;
            }
        }
        Op::FutureReleaseReader(i) | Op::FutureReleaseWriter(i) => {
            let Some(f) = m.futures[slot(i)].as_mut() else {
                return;
            };
            let reader = matches!(op, Op::FutureReleaseReader(_));
            // SAFETY: a live future; the model gives up a handle it counts.
            let rc = unsafe {
                if reader {
                    native_future_release_reader(f.h)
                } else {
                    native_future_release_writer(f.h)
                }
            };
            let count = if reader {
                &mut f.readers
            } else {
                &mut f.writers
            };
            if *count == 0 {
                return assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
            }
            assert_eq!(rc, NATIVE_STREAM_OK);
            *count -= 1;
            if reader && f.readers == 0 {
                f.value = None;
                f.read_over = true;
            }
            if f.readers == 0 && f.writers == 0 {
                m.futures[slot(i)] = None;
            }
        }
        _ => unreachable!(),
    }
}

/// Releases every handle the model still holds (finishing a taken buffer first), so that
/// LeakSanitizer sees every stream and future freed.
fn release_all(m: &mut Model) {
    for i in 0..STREAMS {
        let Some(s) = m.streams[i].as_mut() else {
            continue;
        };
        if let Read::Open(r) = &mut s.read {
            if r.taken.is_some() {
                // SAFETY: a live stream; this thread holds the region (a writer handle is
                // left: the last writer's release gave it back).
                let rc = unsafe { native_stream_finish_writing(s.h, 0) };
                assert_eq!(rc, NATIVE_STREAM_OK);
                r.publish(0);
            }
        }
        if matches!(s.read, Read::Taken(_)) {
            // SAFETY: a live stream; this thread holds the taken buffer.
            let rc = unsafe { native_stream_finish_writing(s.h, 0) };
            let b = match std::mem::replace(&mut s.read, Read::None) {
                Read::Taken(b) => b,
                _ => unreachable!(),
            };
            if s.writers == 0 {
                // The buffer was taken through a handle released since: nothing to finish.
                assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
                s.read = Read::Taken(b);
                continue;
            }
            assert_eq!(rc, NATIVE_STREAM_OK);
            s.read = if b.cap == 0 {
                Read::Done(b, 0)
            } else {
                Read::Lent(b)
            };
        }
        while m.streams[i].is_some() {
            let s = m.streams[i].as_ref().unwrap();
            let op = if s.readers > 0 {
                Op::ReleaseReader(i as u8)
            } else {
                Op::ReleaseWriter(i as u8)
            };
            stream_op(m, op);
        }
    }
    for i in 0..FUTURES {
        while let Some(f) = &m.futures[i] {
            let op = if f.readers > 0 {
                Op::FutureReleaseReader(i as u8)
            } else {
                Op::FutureReleaseWriter(i as u8)
            };
            future_op(m, op);
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut m = Model::default();
    for op in ops.into_iter().take(400) {
        match op {
            Op::Null(k) => null_op(k),
            Op::FutureCreate { .. }
            | Op::FutureWrite { .. }
            | Op::FutureRead { .. }
            | Op::FutureIsReady(_)
            | Op::FutureCloneReader(_)
            | Op::FutureCloneWriter(_)
            | Op::FutureReleaseReader(_)
            | Op::FutureReleaseWriter(_) => future_op(&mut m, op),
            _ => stream_op(&mut m, op),
        }
    }
    release_all(&mut m);
});
