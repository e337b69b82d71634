//! The two threads of every two-thread row: [`two_threads`] runs the timed side here and the
//! partner on a scoped thread, and both start at a [`Gate`].
//!
//! May touch: spawns (and joins) one scoped thread per call; nothing else.

use std::fmt;
use std::sync::Barrier;
use std::time::Instant;

/// The start line of [`two_threads`]: both sides call [`open`](Gate::open) once, when they are
/// ready to run.
pub struct Gate {
    barrier: Barrier,
}

impl Gate {
    /// Waits until the other side is ready too; returns the instant both were released, the
    /// start of the timed region.
    pub fn open(&self) -> Instant {
        self.barrier.wait();
        Instant::now()
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

/// Runs `main` on this thread and `partner` on a scoped thread; returns both results.
///
/// Each side must call [`Gate::open`] exactly once, before anything that can fail (a side that
/// panics before the gate leaves the other waiting). `main` times itself from the instant its
/// `open` returns. A panic of the partner is resumed here.
pub fn two_threads<A, B, M, P>(main: M, partner: P) -> (A, B)
where
    M: FnOnce(&Gate) -> A,
    P: FnOnce(&Gate) -> B + Send,
    B: Send,
{
    let gate = Gate {
        barrier: Barrier::new(2),
    };
    std::thread::scope(|s| {
        let partner = s.spawn(|| partner(&gate));
        let a = main(&gate);
        let b = partner
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}
