//! The machine that runs the bench, as the report opens with it: CPU model, CPUs, cpuidle
//! driver and halt-poll window where Linux shows them, kernel, load average, and two measured
//! floors (a futex and a cache-line ping-pong round trip, from the interleaved example's
//! `floors` group).
//!
//! May touch: reads `/proc` and `/sys` files; writes nothing.

/// Where Linux shows the cpuidle driver.
const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";

/// Where Linux shows (and takes) the guest halt-poll window, in nanoseconds.
pub(crate) const HALT_POLL_NS: &str = "/sys/module/haltpoll/parameters/guest_halt_poll_ns";

/// What the report says about the machine.
#[derive(Debug, Default)]
pub(crate) struct Machine {
    /// `model name` of `/proc/cpuinfo`.
    pub(crate) cpu_model: Option<String>,
    /// CPUs this process may run on.
    pub(crate) cpus: usize,
    /// Processors listed in `/proc/cpuinfo`.
    pub(crate) processors: Option<usize>,
    /// The cpuidle driver (`none`, `haltpoll`, `intel_idle`, `acpi_idle`, ...).
    pub(crate) cpuidle_driver: Option<String>,
    /// The guest halt-poll window, in nanoseconds.
    pub(crate) halt_poll_ns: Option<String>,
    /// `/proc/sys/kernel/osrelease`.
    pub(crate) kernel: Option<String>,
    /// The 1, 5 and 15 minute load averages.
    pub(crate) load: String,
}

/// The measured floors, in nanoseconds per round trip (medians over the rounds).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Floors {
    /// Two threads, each parked on a futex until the other wakes it.
    pub(crate) futex_ns: Option<f64>,
    /// Two threads spinning on one atomic.
    pub(crate) cache_line_ns: Option<f64>,
    /// The slowest rounds of the same.
    pub(crate) futex_slowest_ns: Option<f64>,
    /// The slowest rounds of the same.
    pub(crate) cache_line_slowest_ns: Option<f64>,
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl Machine {
    /// Reads what this machine shows.
    pub(crate) fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (cpu_model, processors) = parse_cpuinfo(&cpuinfo);
        Machine {
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            processors,
            cpuidle_driver: read_trimmed(CPUIDLE_DRIVER),
            halt_poll_ns: read_trimmed(HALT_POLL_NS),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            load: super::load_average(),
        }
    }

    /// The report's opening section: one line per fact, `—` where this machine does not show
    /// it.
    pub(crate) fn markdown(&self, floors: &Floors) -> String {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        let ns = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.0} ns"));
        let slowest =
            |v: Option<f64>| v.map_or(String::new(), |v| format!(" (slowest round {v:.0} ns)"));
        format!(
            "## Machine\n\n\
             | | |\n|---|---|\n\
             | CPU | {} |\n\
             | CPUs | {} available{} |\n\
             | cpuidle driver | {} |\n\
             | halt-poll (`guest_halt_poll_ns`) | {} |\n\
             | kernel | {} |\n\
             | load average | {} |\n\
             | futex ping-pong round trip | {}{} |\n\
             | cache-line ping-pong round trip | {}{} |\n\n\
             The floors are medians of the interleaved example's `floors` group: two threads \
             hand a counter back and forth 10 000 times a round, each parked on a futex until \
             the other wakes it (`raw_futex`), or both spinning on one atomic (`raw_spin`).\n\n",
            or_dash(&self.cpu_model),
            self.cpus,
            self.processors
                .map_or(String::new(), |n| format!(", {n} in /proc/cpuinfo")),
            or_dash(&self.cpuidle_driver),
            self.halt_poll_ns
                .as_ref()
                .map_or("—".into(), |v| format!("{v} ns")),
            or_dash(&self.kernel),
            self.load,
            ns(floors.futex_ns),
            slowest(floors.futex_slowest_ns),
            ns(floors.cache_line_ns),
            slowest(floors.cache_line_slowest_ns),
        )
    }
}

/// The first `model name` and the number of `processor` lines of a `/proc/cpuinfo`.
fn parse_cpuinfo(text: &str) -> (Option<String>, Option<usize>) {
    let field = |line: &str, key: &str| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    };
    let model = text.lines().find_map(|l| field(l, "model name"));
    let processors = text
        .lines()
        .filter(|l| field(l, "processor").is_some())
        .count();
    (model, (processors > 0).then_some(processors))
}

/// The floors in the interleaved example's CSV of its `floors` group
/// (`floors,raw_futex,MEDIAN,ns,raw_futex,1,SLOWEST`).
pub(crate) fn parse_floors(csv: &str) -> Floors {
    let mut floors = Floors::default();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(&"floors"), Some(row), Some(median)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let median = median.parse().ok();
        let slowest = fields.get(6).and_then(|s| s.parse().ok());
        match *row {
            "raw_futex" => (floors.futex_ns, floors.futex_slowest_ns) = (median, slowest),
            "raw_spin" => (floors.cache_line_ns, floors.cache_line_slowest_ns) = (median, slowest),
            _ => {}
        }
    }
    floors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_gives_the_model_and_the_processors() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpuinfo(text), (Some("AMD EPYC 7B13".into()), Some(2)));
        assert_eq!(parse_cpuinfo(""), (None, None));
    }

    #[test]
    fn floors_are_read_from_the_csv() {
        let csv = "group,row,median,unit,reference,ratio,slowest\n\
                   floors,raw_futex,2168.1,ns,raw_futex,1,2500\n\
                   floors,raw_spin,140.0,ns,raw_spin,1,150.5\n\
                   stream_round_trip,raw_spin,1,ns,raw_spin,1,1\n";
        let floors = parse_floors(csv);
        assert_eq!(floors.futex_ns, Some(2168.1));
        assert_eq!(floors.cache_line_ns, Some(140.0));
        assert_eq!(floors.cache_line_slowest_ns, Some(150.5));
        let md = Machine {
            cpus: 2,
            load: "0.5 0.4 0.3".into(),
            ..Machine::default()
        }
        .markdown(&floors);
        assert!(
            md.contains("| futex ping-pong round trip | 2168 ns (slowest round 2500 ns) |"),
            "{md}"
        );
        assert!(
            md.contains("| halt-poll (`guest_halt_poll_ns`) | — |"),
            "{md}"
        );
        assert_eq!(parse_floors("header\n"), Floors::default());
    }
}
