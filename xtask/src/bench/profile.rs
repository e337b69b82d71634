//! The machine profiles of `cargo xtask bench --profile <list>`: the conditions that change
//! waiting, each a set of arguments to the interleaved example, and the halt-poll guard of
//! `slow-wakeups`.
//!
//! May touch: `slow-wakeups` writes 0 to the guest halt-poll knob (as root, where it exists)
//! and writes the old value back when the guard is dropped, on the error path, on a panic, and
//! after Ctrl-C (a signal handler keeps xtask alive until the run under it has stopped); the
//! old value is kept in `target/bench-halt-poll.saved` meanwhile, so that a run killed outright
//! is repaired by the next one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::machine::HALT_POLL_NS;

/// A condition the interleaved groups run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Nothing else running on purpose (the criterion table runs here only).
    Quiet,
    /// The guest halt-poll window at 0: an idle CPU halts at once, so every wake-up of a
    /// parked thread pays the host's wake-up.
    SlowWakeups,
    /// One busy process per CPU, started for the run.
    BusyProcesses,
    /// One busy thread per CPU spinning through the whole run.
    BusyLoops,
    /// The round-trip rows with the partner stopping for 1 ms every N hand-offs.
    Disturbed,
}

/// Every profile with its name on the command line.
pub(crate) const PROFILES: [(&str, Profile); 5] = [
    ("quiet", Profile::Quiet),
    ("slow-wakeups", Profile::SlowWakeups),
    ("busy-processes", Profile::BusyProcesses),
    ("busy-loops", Profile::BusyLoops),
    ("disturbed", Profile::Disturbed),
];

/// Hand-offs between two stops of the `disturbed` profile.
pub(crate) const DISTURBED_EVERY: u64 = 500;

impl Profile {
    /// The name on the command line and in the report.
    pub(crate) fn name(self) -> &'static str {
        PROFILES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(name, _)| name)
    }

    /// The interleaved example's arguments after the rounds: groups first. Under a load, the
    /// groups where two threads hand off to each other (the async round trips on two threads'
    /// executors too, since 2026-12-07: their waits learn a shared CPU as the blocking ones do),
    /// with 1 000 round trips a round: a channel that spins before it parks takes milliseconds
    /// a round trip there. The busy profiles also count each row's context switches per
    /// transfer (`--csw`) and run the tokio element groups (`async_elements`): what the
    /// loaded profile of 2026-12-01 judged, before these profiles replaced it.
    pub(crate) fn example_args(self, cpus: usize) -> Vec<String> {
        const HAND_OFFS: &str = "events,round_trip,async_round_trip,bulk,bulk_u64,write_slice,\
                                 programs,async_elements";
        let busy = |load: String| {
            vec![
                HAND_OFFS.to_string(),
                "--load".into(),
                load,
                "--trips".into(),
                "1000".into(),
                "--csw".into(),
            ]
        };
        match self {
            Profile::Quiet | Profile::SlowWakeups => vec!["all".into()],
            Profile::BusyProcesses => busy(format!("processes:{cpus}")),
            Profile::BusyLoops => busy(format!("threads:{cpus}")),
            Profile::Disturbed => vec![
                "disturbed".into(),
                "--every".into(),
                DISTURBED_EVERY.to_string(),
            ],
        }
    }

    /// The rows whose targets this profile does not judge: a spinning backend on a machine
    /// with no CPU to spare is slow by design (it is for partners on their own cores).
    pub(crate) fn exempt(self) -> &'static [&'static str] {
        match self {
            Profile::BusyProcesses | Profile::BusyLoops => &["spin"],
            _ => &[],
        }
    }

    /// What the profile does, for the report.
    pub(crate) fn describe(self, cpus: usize) -> String {
        match self {
            Profile::Quiet => "nothing else started on purpose".into(),
            Profile::SlowWakeups => {
                "the guest halt-poll window at 0 ns (an idle CPU halts at once)".into()
            }
            Profile::BusyProcesses => format!(
                "{cpus} busy processes started for the run; the groups of two threads handing \
                 off, 1 000 round trips a round"
            ),
            Profile::BusyLoops => format!(
                "{cpus} busy threads spinning through the run; the groups of two threads \
                 handing off, 1 000 round trips a round"
            ),
            Profile::Disturbed => format!(
                "the round-trip rows, the partner stopping for 1 ms every {DISTURBED_EVERY} \
                 hand-offs: the median round trip, and the hand-offs after a stop until the \
                 round trips are back at it (`…/recovery`)"
            ),
        }
    }
}

/// Reads `--profile`'s list: names separated by commas, `all` for every profile but
/// `slow-wakeups` (which changes a machine setting, so only runs when named).
pub(crate) fn parse_profiles(list: &str) -> Result<Vec<Profile>, String> {
    let mut profiles = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let add: Vec<Profile> = if name == "all" {
            PROFILES
                .iter()
                .map(|(_, p)| *p)
                .filter(|p| *p != Profile::SlowWakeups)
                .collect()
        } else {
            let (_, p) = PROFILES.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                let names: Vec<&str> = PROFILES.iter().map(|(n, _)| *n).collect();
                format!("unknown profile {name} (of {}, all)", names.join(", "))
            })?;
            vec![*p]
        };
        for p in add {
            if !profiles.contains(&p) {
                profiles.push(p);
            }
        }
    }
    if profiles.is_empty() {
        return Err("--profile needs at least one profile".into());
    }
    Ok(profiles)
}

/// Set by the signal handler while a [`HaltPollGuard`] lives.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

extern "C" {
    /// C's `signal`: installs `handler` (a function address, or 0 for the default) for
    /// `signum` and returns the previous one.
    fn signal(signum: i32, handler: usize) -> usize;
}

extern "C" fn on_signal(_: i32) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// The halt-poll window at 0 for as long as it lives: dropping it writes the old value back.
/// Meanwhile SIGINT, SIGTERM and SIGHUP only set a flag (a child run stops on its own
/// Ctrl-C: the terminal signals the whole process group), so that xtask lives to restore.
#[derive(Debug)]
pub(crate) struct HaltPollGuard {
    old: String,
    saved: PathBuf,
    handlers: Vec<(i32, usize)>,
    restored: bool,
}

impl HaltPollGuard {
    /// Writes 0 to the halt-poll knob; `Err` says why it was not (then nothing changed).
    /// A value left in `saved_at` by a run killed outright is written back first.
    pub(crate) fn zero(saved_at: &Path) -> Result<HaltPollGuard, String> {
        if !Path::new(HALT_POLL_NS).exists() {
            return Err(format!(
                "{HALT_POLL_NS} does not exist (no haltpoll cpuidle module on this machine)"
            ));
        }
        if !is_root() {
            return Err("it writes to /sys, which needs root".into());
        }
        if let Ok(left) = std::fs::read_to_string(saved_at) {
            println!(
                "  {} holds halt-poll {} from a run that did not restore it: restoring it",
                saved_at.display(),
                left.trim()
            );
            std::fs::write(HALT_POLL_NS, left.trim())
                .map_err(|e| format!("restoring {HALT_POLL_NS}: {e}"))?;
            let _ = std::fs::remove_file(saved_at);
        }
        let old = std::fs::read_to_string(HALT_POLL_NS)
            .map_err(|e| format!("{HALT_POLL_NS}: {e}"))?
            .trim()
            .to_string();
        std::fs::write(saved_at, &old).map_err(|e| format!("{}: {e}", saved_at.display()))?;
        let handlers = [SIGINT, SIGTERM, SIGHUP]
            .into_iter()
            .map(|sig| {
                // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe;
                // the previous handler is kept and put back in `restore`.
                (sig, unsafe {
                    signal(sig, on_signal as extern "C" fn(i32) as usize)
                })
            })
            .collect();
        let mut guard = HaltPollGuard {
            old,
            saved: saved_at.to_path_buf(),
            handlers,
            restored: false,
        };
        if let Err(e) = std::fs::write(HALT_POLL_NS, "0") {
            guard.restore()?;
            return Err(format!("writing 0 to {HALT_POLL_NS}: {e}"));
        }
        println!("  {HALT_POLL_NS}: {} -> 0", guard.old);
        Ok(guard)
    }

    /// Writes the old value back and puts the signal handlers back; says whether a signal
    /// came meanwhile (`Err`), or the write failed.
    pub(crate) fn restore(&mut self) -> Result<(), String> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        let written = std::fs::write(HALT_POLL_NS, &self.old);
        for (sig, handler) in self.handlers.drain(..) {
            // SAFETY: puts back the handler `signal` returned for `sig` in `zero`.
            unsafe { signal(sig, handler) };
        }
        written.map_err(|e| format!("restoring {HALT_POLL_NS} to {}: {e}", self.old))?;
        let _ = std::fs::remove_file(&self.saved);
        println!("  {HALT_POLL_NS}: restored to {}", self.old);
        if INTERRUPTED.swap(false, Ordering::Relaxed) {
            return Err("interrupted".into());
        }
        Ok(())
    }
}

impl Drop for HaltPollGuard {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!("xtask: {e}");
        }
    }
}

/// Whether this process runs as root (effective uid 0, from `/proc/self/status`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_in_order_once_each() {
        assert_eq!(
            parse_profiles("busy-loops,quiet,busy-loops").unwrap(),
            [Profile::BusyLoops, Profile::Quiet]
        );
        let all = parse_profiles("all").unwrap();
        assert_eq!(all.len(), 4);
        assert!(!all.contains(&Profile::SlowWakeups));
        assert!(parse_profiles("all,slow-wakeups")
            .unwrap()
            .contains(&Profile::SlowWakeups));
        let err = parse_profiles("quiet,loud").unwrap_err();
        assert!(err.contains("unknown profile loud"), "{err}");
        assert!(parse_profiles(",").is_err());
    }

    #[test]
    fn profiles_give_the_example_its_load() {
        assert_eq!(Profile::Quiet.example_args(2), ["all"]);
        assert_eq!(
            Profile::BusyProcesses.example_args(2),
            [
                "events,round_trip,async_round_trip,bulk,bulk_u64,write_slice,programs,\
                 async_elements",
                "--load",
                "processes:2",
                "--trips",
                "1000",
                "--csw"
            ]
        );
        assert_eq!(Profile::BusyLoops.example_args(4)[2], "threads:4");
        assert_eq!(Profile::Disturbed.example_args(2)[0], "disturbed");
        for (name, p) in PROFILES {
            assert_eq!(p.name(), name);
        }
    }
}
