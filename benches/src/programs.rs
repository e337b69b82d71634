//! The program rows: small programs as a user writes them, with the plain API on both sides
//! (no `BufWriter`, no batching), each run once per row and round through a native stream and
//! through what the program would use otherwise. A [`ProgramRow`] is defined once, with its
//! group and name, and timed by [`ProgramRow::time`] in every mode (the criterion `programs`
//! bench, the interleaved example).
//!
//! * `program_serde_json`: `serde_json::to_writer` of a [`json_document`] (219 KB) into the
//!   writer, `serde_json::from_reader` on the reader (both unbuffered: serde_json reads a byte
//!   at a time), and the value read compared with the one written.
//! * `program_lines`: [`LINES`] `writeln!`s, unbuffered, read with
//!   `BufReader::new(reader).lines()` (the stream's `Reader<u8>` implements `Read`, not
//!   `BufRead`), every line checked.
//! * `program_send`: [`ELEMENTS`] `u64`s, one `send` each, read with `for x in reader` and
//!   checked by [`U64Check`](crate::U64Check).
//! * `program_framed_current_thread`, `program_framed_multi_thread`: tokio-util's
//!   `FramedWrite<_, LinesCodec>::send` of each of [`FRAMED_LINES`] lines, read with
//!   `FramedRead`; in `programs_tokio`.
//!
//! May touch: the streams, sockets, channels and runtimes it makes, and the partner thread of
//! [`two_threads`].

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::{bulk_u64_one_by_one, two_threads, Runtime};

/// Lines of `program_lines`.
pub const LINES: u64 = 100_000;

/// Elements of `program_send`.
pub const ELEMENTS: u64 = 200_000;

/// Lines of the framed groups.
pub const FRAMED_LINES: u64 = 50_000;

/// Capacity of the channel peers of `program_send`.
pub const SEND_CAPACITY: usize = 1024;

/// What carries a program's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// A native stream (`stream::<T>()`, the default backend; for the async rows
    /// `stream_async::stream::<u8>(64 KiB)`): `native`.
    Native,
    /// `std::os::unix::net::UnixStream::pair()`: `unix_stream`.
    UnixStream,
    /// `std::sync::mpsc::sync_channel(1024)`: `sync_channel1024`.
    SyncChannel,
    /// `crossbeam_channel::bounded(1024)`: `crossbeam_bounded1024`.
    Crossbeam,
    /// `tokio::io::duplex(64 KiB)`: `tokio_duplex64k`.
    TokioDuplex,
}

impl Carrier {
    /// The row's name in every table.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::Native => "native",
            Carrier::UnixStream => "unix_stream",
            Carrier::SyncChannel => "sync_channel1024",
            Carrier::Crossbeam => "crossbeam_bounded1024",
            Carrier::TokioDuplex => "tokio_duplex64k",
        }
    }
}

/// A row of the program groups: a program and what carries its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramRow {
    /// `program_serde_json`: native or `unix_stream`.
    SerdeJson(Carrier),
    /// `program_lines`: native or `unix_stream`.
    Lines(Carrier),
    /// `program_send`: native, `sync_channel1024` or `crossbeam_bounded1024`.
    Send(Carrier),
    /// `program_framed_*`: native or `tokio_duplex64k`, on a runtime.
    Framed(Runtime, Carrier),
}

/// Every program row, in table order (a group's rows together, the native row first).
pub const PROGRAM_ROWS: &[ProgramRow] = &[
    ProgramRow::SerdeJson(Carrier::Native),
    ProgramRow::SerdeJson(Carrier::UnixStream),
    ProgramRow::Lines(Carrier::Native),
    ProgramRow::Lines(Carrier::UnixStream),
    ProgramRow::Send(Carrier::Native),
    ProgramRow::Send(Carrier::SyncChannel),
    ProgramRow::Send(Carrier::Crossbeam),
    ProgramRow::Framed(Runtime::CurrentThread, Carrier::Native),
    ProgramRow::Framed(Runtime::CurrentThread, Carrier::TokioDuplex),
    ProgramRow::Framed(Runtime::MultiThread, Carrier::Native),
    ProgramRow::Framed(Runtime::MultiThread, Carrier::TokioDuplex),
];

/// The rows of [`PROGRAM_ROWS`] by group, in table order.
pub fn program_groups() -> Vec<(&'static str, Vec<ProgramRow>)> {
    let mut groups: Vec<(&'static str, Vec<ProgramRow>)> = Vec::new();
    for &row in PROGRAM_ROWS {
        match groups.last_mut() {
            Some((group, rows)) if *group == row.group() => rows.push(row),
            _ => groups.push((row.group(), vec![row])),
        }
    }
    groups
}

impl ProgramRow {
    /// The row's group.
    pub fn group(self) -> &'static str {
        match self {
            ProgramRow::SerdeJson(_) => "program_serde_json",
            ProgramRow::Lines(_) => "program_lines",
            ProgramRow::Send(_) => "program_send",
            ProgramRow::Framed(Runtime::CurrentThread, _) => "program_framed_current_thread",
            ProgramRow::Framed(Runtime::MultiThread, _) => "program_framed_multi_thread",
        }
    }

    /// What carries the row's data.
    pub fn carrier(self) -> Carrier {
        match self {
            ProgramRow::SerdeJson(c) | ProgramRow::Lines(c) | ProgramRow::Send(c) => c,
            ProgramRow::Framed(_, c) => c,
        }
    }

    /// The row's name in its group.
    pub fn name(self) -> &'static str {
        self.carrier().name()
    }

    /// Whether the row is ours (else a peer).
    pub fn is_native(self) -> bool {
        self.carrier() == Carrier::Native
    }

    /// Times one run of the program, from both sides' start to the reader's last check.
    ///
    /// # Panics
    ///
    /// For a carrier the program has no row for, and when a check fails.
    pub fn time(self) -> Duration {
        match self {
            ProgramRow::SerdeJson(c) => serde_json_row(c),
            ProgramRow::Lines(c) => lines_row(c),
            ProgramRow::Send(c) => send_row(c),
            ProgramRow::Framed(runtime, c) => crate::framed_lines(runtime, c, FRAMED_LINES),
        }
    }
}

/// The document of `program_serde_json`: an array of records of integers, strings, booleans
/// and arrays (no floats, so that what is read back compares equal), 219 KB as serde_json
/// writes it. Made once.
pub fn json_document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        const CITIES: [&str; 4] = ["Lyon", "Porto", "Turku", "Graz"];
        let records = (0..1244u64)
            .map(|i| {
                let city = CITIES[(i % 4) as usize];
                serde_json::json!({
                    "id": i,
                    "name": format!("user {i}"),
                    "email": format!("user{i}@example.com"),
                    "active": i % 3 != 0,
                    "groups": [i % 7, i % 11, i % 13],
                    "address": {
                        "street": format!("{} Main Street", i * 7 % 1000),
                        "city": city,
                        "zip": format!("{:05}", i * 37 % 100_000),
                    },
                    "balance": i * 1_234_567 % 10_000_000,
                })
            })
            .collect();
        Value::Array(records)
    })
}

/// Runs `run` with the two ends of a byte pipe of `carrier`: a native stream or a
/// `UnixStream` pair.
macro_rules! with_byte_pipe {
    ($carrier:expr, $run:ident) => {
        match $carrier {
            Carrier::Native => {
                let (writer, reader) = stream_core::stream::<u8>();
                $run(writer, reader)
            }
            Carrier::UnixStream => {
                let (a, b) = UnixStream::pair().expect("a socket pair");
                $run(a, b)
            }
            other => panic!("no byte pipe for {other:?}"),
        }
    };
}

/// `program_serde_json` over `carrier`.
fn serde_json_row(carrier: Carrier) -> Duration {
    with_byte_pipe!(carrier, serde_json_run)
}

/// `program_serde_json` from `writer` to `reader`.
fn serde_json_run(mut writer: impl Write + Send, reader: impl Read) -> Duration {
    let document = json_document();
    let (elapsed, ()) = two_threads(
        move |gate| {
            let start = gate.open();
            // Reads the value, then to end of stream (trailing whitespace only).
            let read: Value = serde_json::from_reader(reader).expect("a JSON document");
            assert!(read == *document, "the document read differs");
            start.elapsed()
        },
        move |gate| {
            gate.open();
            serde_json::to_writer(&mut writer, document).expect("written");
            // Dropping the writer ends the stream.
        },
    );
    elapsed
}

/// `program_lines` over `carrier`.
fn lines_row(carrier: Carrier) -> Duration {
    with_byte_pipe!(carrier, lines_run)
}

/// `program_lines` from `writer` to `reader`.
fn lines_run(mut writer: impl Write + Send, reader: impl Read) -> Duration {
    let (elapsed, ()) = two_threads(
        move |gate| {
            let start = gate.open();
            let mut count = 0u64;
            for line in BufReader::new(reader).lines() {
                let line = line.expect("a line");
                let n: u64 = line
                    .strip_prefix("line ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("line {count}: {line:?}"));
                assert_eq!(n, count, "line {count}");
                count += 1;
            }
            assert_eq!(count, LINES);
            start.elapsed()
        },
        move |gate| {
            gate.open();
            for i in 0..LINES {
                writeln!(writer, "line {i}").expect("written");
            }
            // Dropping the writer ends the stream.
        },
    );
    elapsed
}

/// `program_send` over `carrier`.
fn send_row(carrier: Carrier) -> Duration {
    match carrier {
        Carrier::Native => {
            let (mut writer, reader) = stream_core::stream::<u64>();
            let mut elements = reader.into_iter();
            bulk_u64_one_by_one(
                ELEMENTS,
                move |v| writer.send(v).expect("reader gone"),
                move || elements.next(),
            )
        }
        Carrier::SyncChannel => {
            let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(SEND_CAPACITY);
            let mut elements = rx.into_iter();
            bulk_u64_one_by_one(
                ELEMENTS,
                move |v| tx.send(v).expect("reader gone"),
                move || elements.next(),
            )
        }
        Carrier::Crossbeam => {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(SEND_CAPACITY);
            let mut elements = rx.into_iter();
            bulk_u64_one_by_one(
                ELEMENTS,
                move |v| tx.send(v).expect("reader gone"),
                move || elements.next(),
            )
        }
        other => panic!("no send row for {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_219_kb() {
        let len = serde_json::to_vec(json_document()).unwrap().len();
        assert!((218_000..220_000).contains(&len), "{len} bytes");
    }

    #[test]
    fn every_program_row_runs_and_checks() {
        let mut names = Vec::new();
        for row in PROGRAM_ROWS {
            let key = (row.group(), row.name());
            assert!(!names.contains(&key), "{key:?} twice");
            names.push(key);
            row.time();
        }
    }
}
