//! The busy profiles: busy processes or busy threads competing for the CPUs while a row runs
//! ([`Load`]) and the context switches a row makes ([`context_switches`]).
//!
//! May touch: spawns busy child processes (copies of the running executable, started with
//! [`BURN_ARG`], each killed with [`Load`] and by the kernel when this process dies) or busy
//! threads; reads this process's resource usage.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
