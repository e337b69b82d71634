//! The rows of `stream_bulk_u64`: the `u64`s `0, 1, 2, …` through a native stream (1024-element
//! loans, read into one buffer or with a [`ReadAhead`]), through an rtrb ring, or one at a
//! time through any channel, checked with [`U64Check`].
//!
//! May touch: the streams and rings it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::mem::MaybeUninit;
use std::time::Duration;

use rtrb::RingBuffer;
use stream_core::{stream_with, ReadAhead, ReadError};
use stream_events::Backend;

use crate::{assume_init, pop_spin, push_spin, two_threads, U64Check};

/// Elements per lent buffer (and rtrb / crossbeam capacity) in `stream_bulk_u64`.
pub const U64_BATCH: usize = 1024;

/// The native rows of `stream_bulk_u64`: with `read_ahead`, the reader is a [`ReadAhead`]
/// with two 1024-element buffers (it lends one while it checks the other); without, it reads
/// into one reused 1024-element buffer with [`Reader::read`](stream_core::Reader::read).
pub fn bulk_u64_native<B: Backend>(total: u64, read_ahead: bool) -> Duration {
    let (mut writer, mut reader) = stream_with::<u64, B>();
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = U64Check::new();
            if read_ahead {
                let mut reader = ReadAhead::new(reader, U64_BATCH);
                let start = gate.open();
                drain_read_ahead(&mut reader, |chunk| check.check(chunk));
                let elapsed = start.elapsed();
                check.finish(total);
                return elapsed;
            }
            let mut buf = vec![MaybeUninit::<u64>::uninit(); U64_BATCH];
            let start = gate.open();
            loop {
                match reader.read_uninit(&mut buf) {
                    // SAFETY: `read` initialised the first `n` elements of `buf`.
                    Ok(n) => check.check(unsafe { assume_init(&buf, n) }),
                    Err(ReadError::Closed) => break,
                    Err(e) => panic!("read failed: {e:?}"),
                }
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            let mut next = 0u64;
            while next < total {
                let mut loan = writer.loan().unwrap();
                let n = loan.capacity().min((total - next) as usize);
                for (k, slot) in loan.as_uninit_mut()[..n].iter_mut().enumerate() {
                    slot.write(next + k as u64);
                }
                // SAFETY: the first `n` elements of the loan were written just above.
                unsafe { loan.commit(n) };
                next += n as u64;
            }
        },
    );
    elapsed
}

/// Hands every chunk of `reader` to `on_chunk` until end of stream.
///
/// # Panics
///
/// When a read fails otherwise.
pub(crate) fn drain_read_ahead<T: Copy, B: Backend>(
    reader: &mut ReadAhead<T, B>,
    mut on_chunk: impl FnMut(&[T]),
) {
    loop {
        match reader.next_chunk() {
            Ok(chunk) => on_chunk(chunk),
            Err(ReadError::Closed) => return,
            Err(e) => panic!("read failed: {e:?}"),
        }
    }
}

/// `total` `u64`s through a 1024-slot rtrb ring with single `push`/`pop`, both sides
/// spinning; the timed thread checks them with [`U64Check`].
pub fn bulk_u64_rtrb(total: u64) -> Duration {
    let (mut producer, mut consumer) = RingBuffer::<u64>::new(U64_BATCH);
    bulk_u64_one_by_one(
        total,
        move |v| assert!(push_spin(&mut producer, v)),
        move || pop_spin(&mut consumer),
    )
}

/// `total` `u64`s sent one at a time: the partner `send`s `0..total` and drops `send` (which
/// must end the stream); the timed thread takes them with `recv` until it returns `None`
/// and checks them with [`U64Check`].
pub fn bulk_u64_one_by_one(
    total: u64,
    mut send: impl FnMut(u64) + Send,
    mut recv: impl FnMut() -> Option<u64> + Send,
) -> Duration {
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = U64Check::new();
            let start = gate.open();
            while let Some(v) = recv() {
                check.check_one(v);
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            for v in 0..total {
                send(v);
            }
        },
    );
    elapsed
}
