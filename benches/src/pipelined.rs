//! rtrb rings that spin ([`push_spin`], [`pop_spin`]) and the rows of `future/pipelined` that
//! need no future: the ring pattern itself ([`pipelined_ring`]) and its allocation floors
//! ([`pipelined_box`]).
//!
//! May touch: the rings and boxes it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::time::Duration;

use rtrb::{Consumer, Producer, PushError, RingBuffer};

use crate::two_threads;

/// Pushes `value` into an rtrb ring, spinning while the ring is full; gives up (returns
/// `false`) if the consumer is gone.
#[inline]
pub fn push_spin<T>(producer: &mut Producer<T>, mut value: T) -> bool {
    loop {
        match producer.push(value) {
            Ok(()) => return true,
            Err(PushError::Full(back)) => {
                if producer.is_abandoned() {
                    return false;
                }
                value = back;
                core::hint::spin_loop();
            }
        }
    }
}

/// Pops a value from an rtrb ring, spinning while it is empty; `None` once it is empty and the producer
/// is gone.
#[inline]
pub fn pop_spin<T>(consumer: &mut Consumer<T>) -> Option<T> {
    loop {
        if let Ok(value) = consumer.pop() {
            return Some(value);
        }
        if consumer.is_abandoned() {
            // The producer may have pushed just before it left.
            return consumer.pop().ok();
        }
        core::hint::spin_loop();
    }
}

/// Slots of the rtrb ring that carries receivers (or boxes) in `future/pipelined`.
pub const PIPELINE: usize = 64;

/// The `future/pipelined` pattern: the partner thread makes an item for each `i` with
/// `make(i)` and pushes it into a [`PIPELINE`]-slot rtrb ring (spinning while it is full);
/// the timed thread pops each item (spinning while the ring is empty), asserts that
/// `take(item)` gives `i` back, and drops what is left of it. Returns the timed thread's
/// elapsed time.
///
/// # Panics
///
/// When an item gives back the wrong value, or a side leaves early.
pub fn pipelined_ring<T: Send>(
    iters: u64,
    mut make: impl FnMut(u64) -> T + Send,
    mut take: impl FnMut(T) -> u64,
) -> Duration {
    let (mut producer, mut consumer) = RingBuffer::<T>::new(PIPELINE);
    let (elapsed, ()) = two_threads(
        move |gate| {
            let start = gate.open();
            for i in 0..iters {
                let item = pop_spin(&mut consumer).expect("producer gone early");
                assert_eq!(take(item), i);
            }
            let elapsed = start.elapsed();
            assert!(pop_spin(&mut consumer).is_none(), "more items than sent");
            elapsed
        },
        move |gate| {
            gate.open();
            for i in 0..iters {
                assert!(push_spin(&mut producer, make(i)), "consumer gone");
            }
        },
    );
    elapsed
}

/// The allocation floor of `future/pipelined` for a block of `W` words
/// ([`pipelined_ring`]): the partner thread boxes `[i; W]` (writing every word, as a
/// future's creation initialises its block); the timed thread reads word 0 and frees the
/// box. The same allocation, cross-thread free and ring as a one-shot channel, without the
/// channel.
///
/// Two sizes tell what a future's block costs against `oneshot`'s: `W = 5` (40 bytes) comes
/// from glibc's 48-byte chunks, as `oneshot`'s channel of a `u64` (32 to 40 bytes) does;
/// `W = 14` (112 bytes, a 128-byte chunk) is the block of a `stream_future` future of a
/// `u64`: the 64-byte, 64-byte-aligned stream header placed in a 16-byte-aligned block, up
/// to 48 bytes in.
pub fn pipelined_box<const W: usize>(iters: u64) -> Duration {
    pipelined_ring(iters, |i| Box::new([i; W]), |block| block[0])
}
