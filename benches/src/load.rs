//! The loaded profile: busy processes or busy threads competing for the CPUs while a row runs
//! ([`Load`]), the context switches a row makes ([`context_switches`]), and the peers of the
//! loaded bulk group (crossbeam `bounded(4)` and `std::sync::mpsc::sync_channel(4)` of
//! recycled 64 KiB blocks).
//!
//! May touch: spawns busy child processes (copies of the running executable, started with
//! [`BURN_ARG`], each killed with [`Load`] and by the kernel when this process dies) or busy
//! threads; reads this process's resource usage.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{two_threads, AlignedBlock, ByteCheck, BytePattern};

/// The argument that makes an executable using [`Load`] a busy process: its `main` calls
/// [`burn_if_asked`] first.
pub const BURN_ARG: &str = "--burn";

/// What competes for the CPUs while a row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// Nothing but the row.
    Quiet,
    /// This many busy processes (copies of this executable spinning on arithmetic).
    Processes(usize),
    /// This many busy threads in this process.
    Threads(usize),
}

impl LoadKind {
    /// The kind's name in reports: `quiet`, `processes` or `threads`.
    pub fn name(self) -> &'static str {
        match self {
            LoadKind::Quiet => "quiet",
            LoadKind::Processes(_) => "processes",
            LoadKind::Threads(_) => "threads",
        }
    }
}

/// Context switches of the busy threads of the running [`Load`] (summed, as each last
/// published them), so that [`context_switches`] can leave them out.
static BURNER_SWITCHES: AtomicU64 = AtomicU64::new(0);

/// A running load: dropping it stops every busy process or thread.
#[derive(Debug)]
pub struct Load {
    children: Vec<std::process::Child>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `kind`. Busy processes are this executable run with [`BURN_ARG`].
    ///
    /// # Panics
    ///
    /// If a process or thread cannot be started.
    pub fn start(kind: LoadKind) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Load {
            children: Vec::new(),
            stop: stop.clone(),
            threads: Vec::new(),
        };
        match kind {
            LoadKind::Quiet => {}
            LoadKind::Processes(n) => {
                let exe = std::env::current_exe().expect("the running executable");
                for _ in 0..n {
                    load.children.push(
                        std::process::Command::new(&exe)
                            .arg(BURN_ARG)
                            .stdin(std::process::Stdio::null())
                            .spawn()
                            .expect("a busy process"),
                    );
                }
            }
            LoadKind::Threads(n) => {
                for _ in 0..n {
                    let stop = stop.clone();
                    load.threads.push(std::thread::spawn(move || {
                        let mut published = 0;
                        while !stop.load(Ordering::Relaxed) {
                            spin_a_while();
                            let now = thread_switches();
                            BURNER_SWITCHES.fetch_add(now - published, Ordering::Relaxed);
                            published = now;
                        }
                    }));
                }
            }
        }
        // Let the load reach its pace before the first row.
        std::thread::sleep(Duration::from_millis(50));
        load
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// About a millisecond of arithmetic that the optimiser cannot remove.
fn spin_a_while() {
    let mut x = 1u64;
    for i in 0..1_000_000u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    std::hint::black_box(x);
}

/// If this process was started with [`BURN_ARG`], spins until it is killed (or its parent
/// dies) and never returns; otherwise returns at once. Call it first in `main`.
pub fn burn_if_asked() {
    if std::env::args().nth(1).as_deref() != Some(BURN_ARG) {
        return;
    }
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and changes only this
    // process's death signal: killed with its parent, it never outlives the run.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    loop {
        spin_a_while();
    }
}

fn rusage(who: libc::c_int) -> u64 {
    let mut usage = core::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` through the pointer, which is valid for it.
    let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: zeroed is a valid `rusage` (plain integers), and getrusage filled it.
    let usage = unsafe { usage.assume_init() };
    (usage.ru_nvcsw + usage.ru_nivcsw) as u64
}

fn thread_switches() -> u64 {
    rusage(libc::RUSAGE_THREAD)
}

/// Context switches (voluntary and involuntary) of this process's threads so far, those of
/// the busy threads of a [`LoadKind::Threads`] load left out: take the difference around a
/// row.
pub fn context_switches() -> u64 {
    rusage(libc::RUSAGE_SELF).saturating_sub(BURNER_SWITCHES.load(Ordering::Relaxed))
}

/// A channel of the loaded bulk group: crossbeam's `bounded` or std's `sync_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockChannel {
    /// `crossbeam_channel::bounded`.
    Crossbeam,
    /// `std::sync::mpsc::sync_channel`.
    Std,
}

/// Blocks in flight in [`bulk_u8_recycled`]: the capacity of its channels.
pub const RECYCLED_POOL: usize = 4;

/// Times the transfer of `total` bytes of `pattern` as [`RECYCLED_POOL`] recycled 64 KiB
/// blocks over two channels of that capacity (full blocks one way, empty ones back): the
/// partner fills a block from the pattern and sends it, the timed thread checks it in place and
/// sends it back.
pub fn bulk_u8_recycled(pattern: &BytePattern, total: u64, channel: BlockChannel) -> Duration {
    match channel {
        BlockChannel::Crossbeam => {
            let (full_tx, full_rx) = crossbeam_channel::bounded(RECYCLED_POOL);
            let (empty_tx, empty_rx) = crossbeam_channel::bounded(RECYCLED_POOL);
            recycled(
                pattern,
                total,
                move |b| full_tx.send(b).unwrap(),
                move || full_rx.recv().ok(),
                move |b| drop(empty_tx.send(b)),
                move || empty_rx.recv().unwrap(),
            )
        }
        BlockChannel::Std => {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel(RECYCLED_POOL);
            let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel(RECYCLED_POOL);
            recycled(
                pattern,
                total,
                move |b| full_tx.send(b).unwrap(),
                move || full_rx.recv().ok(),
                move |b| drop(empty_tx.send(b)),
                move || empty_rx.recv().unwrap(),
            )
        }
    }
}

/// [`bulk_u8_recycled`] over channels given as closures.
fn recycled(
    pattern: &BytePattern,
    total: u64,
    send_full: impl FnMut(AlignedBlock) + Send,
    mut recv_full: impl FnMut() -> Option<AlignedBlock>,
    mut send_empty: impl FnMut(AlignedBlock),
    mut recv_empty: impl FnMut() -> AlignedBlock + Send,
) -> Duration {
    for _ in 0..RECYCLED_POOL {
        send_empty(AlignedBlock::new());
    }
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let start = gate.open();
            while let Some(block) = recv_full() {
                check.check(block.as_bytes());
                send_empty(block);
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            let mut send_full = send_full;
            gate.open();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let mut block = recv_empty();
                block.fill_from(&rest[..want]);
                send_full(block);
                offset += want as u64;
            }
            // Dropping the full blocks' sender ends the reader's loop.
        },
    );
    elapsed
}
