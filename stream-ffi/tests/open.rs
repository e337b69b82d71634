//! The open lend through the C interface: a C reader lends a ring once and consumes what a
//! C writer (the usual `start_writing`/`finish_writing`) or a Rust `Writer` publishes into
//! it; bad input gets an error code and changes nothing.

use std::mem::MaybeUninit;
use std::ptr;

use stream_abi::{OpenLend, StreamHeader};
use stream_ffi::*;

/// A ring of `N` `u32`s and its descriptor, kept together (the descriptor points into it).
/// The slots are reached only through the raw pointer, as the writer reaches them.
struct Ring<const N: usize> {
    slots: *mut [MaybeUninit<u32>; N],
    lend: Box<OpenLend>,
}

impl<const N: usize> Ring<N> {
    fn new() -> Self {
        let slots = Box::into_raw(Box::new([MaybeUninit::<u32>::uninit(); N]));
        let lend = Box::new(OpenLend {
            buffer: slots.cast(),
            capacity: N,
            element_size: 4,
        });
        Ring { slots, lend }
    }

    /// The element at stream position `i` (published, so initialised).
    fn at(&self, i: usize) -> u32 {
        // SAFETY: the caller asks only for published positions, written by the writer
        // before it published them; the allocation lives until our drop.
        unsafe { self.slots.cast::<u32>().add(i % N).read() }
    }
}

impl<const N: usize> Drop for Ring<N> {
    fn drop(&mut self) {
        // SAFETY: from `Box::into_raw` in `new`; the lend ended before the ring drops.
        drop(unsafe { Box::from_raw(self.slots) });
    }
}

/// Takes the writer's buffer and writes `values` into it, as many as fit; returns how many.
///
/// # Safety
///
/// `s` is a live stream whose writer handle the caller holds.
unsafe fn c_write(s: *mut StreamHeader, values: &[u32]) -> usize {
    let mut addr = ptr::null_mut();
    let mut cap = 0;
    // SAFETY: by the caller; out-parameters are ours.
    let code = unsafe { native_stream_start_writing(s, &mut addr, &mut cap) };
    assert_eq!(code, NATIVE_STREAM_OK);
    let n = cap.min(values.len());
    // SAFETY: the taken buffer holds `cap` u32 slots.
    unsafe { ptr::copy_nonoverlapping(values.as_ptr(), addr.cast::<u32>(), n) };
    // SAFETY: `n` elements written into the taken buffer.
    let code = unsafe { native_stream_finish_writing(s, n as isize) };
    assert_eq!(code, NATIVE_STREAM_OK);
    n
}

/// The reader's view: `(position, available, status)`.
fn readable(s: *mut StreamHeader) -> (usize, usize, i32) {
    let (mut pos, mut avail) = (0, 0);
    // SAFETY: a live stream; out-parameters are ours.
    let code = unsafe { native_stream_open_readable(s, &mut pos, &mut avail) };
    (pos, avail, code)
}

#[test]
fn a_c_writer_runs_ahead_in_an_open_ring() {
    let s = native_stream_create();
    let ring = Ring::<8>::new();
    // SAFETY: a live stream; the ring outlives the lend (ended below).
    unsafe {
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_OK
        );
        let (mut pos, mut avail) = (1, 1);
        let code = native_stream_wait_open(s, 0, &mut pos, &mut avail);
        assert_eq!((code, pos, avail), (NATIVE_STREAM_ERR_WOULD_BLOCK, 0, 0));
        let code = native_stream_wait_open(s, 1_000_000, &mut pos, &mut avail);
        assert_eq!((code, pos, avail), (NATIVE_STREAM_ERR_TIMEOUT, 0, 0));
        // The writer writes twice without the reader running in between.
        assert_eq!(c_write(s, &[0, 1, 2]), 3);
        assert_eq!(
            c_write(s, &[3, 4, 5, 6, 7, 8, 9]),
            5,
            "only the free part is handed out"
        );
        assert_eq!(readable(s), (0, 8, NATIVE_STREAM_OK));
        assert_eq!(native_stream_is_ready_to_write(s), 0, "the ring is full");
        assert!((0..8).all(|i| ring.at(i) == i as u32));
        assert_eq!(native_stream_open_consume(s, 5), NATIVE_STREAM_OK);
        // The free part wraps: the next take is the 5 slots from position 8 (slots 0..5).
        assert_eq!(c_write(s, &[8, 9, 10, 11, 12, 13]), 5);
        assert_eq!(readable(s), (5, 8, NATIVE_STREAM_OK));
        assert!((5..13).all(|i| ring.at(i) == i as u32));
        assert_eq!(native_stream_open_consume(s, 8), NATIVE_STREAM_OK);
        assert_eq!(native_stream_close_write(s), NATIVE_STREAM_OK);
        assert_eq!(
            readable(s),
            (13, 0, NATIVE_STREAM_ERR_CLOSED),
            "end of stream"
        );
        let (mut pos, mut written) = (0, 0);
        assert_eq!(
            native_stream_end_open(s, -1, &mut pos, &mut written),
            NATIVE_STREAM_OK
        );
        assert_eq!((pos, written), (13, 13));
        assert_eq!(native_stream_is_read_pending(s), 0);
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
    }
}

#[test]
fn bad_input_gets_a_code_and_changes_nothing() {
    let s = native_stream_create();
    let mut ring = Ring::<8>::new();
    let mut buf = [0u32; 4];
    let (mut pos, mut n) = (0usize, 0usize);
    let mut amount = 0isize;
    // SAFETY: a live stream; every pointer is ours and outlives the calls.
    unsafe {
        assert_eq!(
            native_stream_start_reading_open(s, ptr::null()),
            NATIVE_STREAM_ERR_NULL
        );
        ring.lend.capacity = 6;
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_ERR_INVALID
        );
        ring.lend.capacity = 0;
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_ERR_INVALID
        );
        let null_ring = OpenLend {
            buffer: ptr::null_mut(),
            capacity: 8,
            element_size: 4,
        };
        assert_eq!(
            native_stream_start_reading_open(s, &null_ring),
            NATIVE_STREAM_ERR_NULL
        );
        assert_eq!(
            native_stream_is_read_pending(s),
            0,
            "no error started a lend"
        );
        assert_eq!(readable(s).2, NATIVE_STREAM_ERR_NOT_PENDING);
        assert_eq!(
            native_stream_open_consume(s, 0),
            NATIVE_STREAM_ERR_NOT_PENDING
        );

        // A classic read is not an open lend, and the reverse.
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), buf.len()),
            NATIVE_STREAM_OK
        );
        assert_eq!(readable(s).2, NATIVE_STREAM_ERR_NOT_PENDING);
        assert_eq!(
            native_stream_end_open(s, 0, &mut pos, &mut n),
            NATIVE_STREAM_ERR_NOT_PENDING
        );
        assert_eq!(
            native_stream_cancel_read(s, ptr::null_mut()),
            NATIVE_STREAM_OK
        );

        ring.lend.capacity = 8;
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_OK
        );
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_ERR_BUSY
        );
        assert_eq!(
            native_stream_read_amount(s, &mut amount),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(
            native_stream_wait_read(s, 0, &mut amount),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(
            native_stream_cancel_read(s, ptr::null_mut()),
            NATIVE_STREAM_ERR_INVALID
        );
        assert_eq!(c_write(s, &[7, 8]), 2);
        assert_eq!(native_stream_open_consume(s, 3), NATIVE_STREAM_ERR_INVALID);
        assert_eq!(
            readable(s),
            (0, 2, NATIVE_STREAM_OK),
            "a refused consume changed nothing"
        );
        assert_eq!(
            native_stream_open_readable(s, ptr::null_mut(), &mut n),
            NATIVE_STREAM_ERR_NULL
        );
        assert_eq!(
            native_stream_wait_open(s, 0, &mut pos, ptr::null_mut()),
            NATIVE_STREAM_ERR_NULL
        );

        // While the writer holds the ring, ending waits (here: timeout 0 refuses).
        let (mut addr, mut cap) = (ptr::null_mut(), 0);
        assert_eq!(
            native_stream_start_writing(s, &mut addr, &mut cap),
            NATIVE_STREAM_OK
        );
        assert_eq!(cap, 6);
        assert_eq!(
            native_stream_end_open(s, 0, &mut pos, &mut n),
            NATIVE_STREAM_ERR_WOULD_BLOCK
        );
        assert_eq!(
            native_stream_finish_writing(s, 7),
            NATIVE_STREAM_ERR_INVALID
        );
        addr.cast::<u32>().write(9);
        assert_eq!(native_stream_finish_writing(s, 1), NATIVE_STREAM_OK);
        assert_eq!(
            native_stream_end_open(s, 0, &mut pos, &mut n),
            NATIVE_STREAM_OK
        );
        assert_eq!((pos, n), (0, 3));
        assert_eq!([ring.at(0), ring.at(1), ring.at(2)], [7, 8, 9]);
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
    }
}

/// A Rust `Writer` sends into a ring a C reader lent open: every element arrives once, in
/// order, and the reader sees the end after the last.
#[test]
fn a_rust_writer_feeds_a_c_reader() {
    const COUNT: u32 = if cfg!(miri) { 300 } else { 100_000 };
    let (mut writer, reader) = stream_core::stream::<u32>();
    let s = reader.raw() as *const _ as *mut StreamHeader;
    let sender = std::thread::spawn(move || {
        for i in 0..COUNT {
            writer.send(i).unwrap();
        }
        // Dropping the writer closes the end.
    });
    let ring = Ring::<64>::new();
    let mut next = 0u32;
    // SAFETY: the Rust reader keeps the stream alive and counts the reader handle we act
    // for; the ring outlives the lend.
    unsafe {
        assert_eq!(
            native_stream_start_reading_open(s, &*ring.lend),
            NATIVE_STREAM_OK
        );
        loop {
            let (mut pos, mut avail) = (0, 0);
            match native_stream_wait_open(s, -1, &mut pos, &mut avail) {
                NATIVE_STREAM_OK => {}
                NATIVE_STREAM_ERR_CLOSED => break,
                code => panic!("wait_open: {code}"),
            }
            for i in pos..pos + avail {
                assert_eq!(ring.at(i), next);
                next += 1;
            }
            assert_eq!(native_stream_open_consume(s, avail), NATIVE_STREAM_OK);
        }
        let (mut pos, mut written) = (0, 0);
        assert_eq!(
            native_stream_end_open(s, -1, &mut pos, &mut written),
            NATIVE_STREAM_OK
        );
        assert_eq!((pos, written), (COUNT as usize, COUNT as usize));
    }
    sender.join().unwrap();
    assert_eq!(next, COUNT);
    drop(reader);
}
