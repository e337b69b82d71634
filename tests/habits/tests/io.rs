//! Byte streams used as a pipe: flate2, serde_json, `writeln!`/`lines()`, `io::copy`,
//! `read_exact`, `BrokenPipe`, a three-stage pipeline. No `BufWriter`, no batching by hand.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::thread;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Bytes that compress, but not to nothing.
fn text(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44] ^ (i / 4096) as u8)
        .collect()
}

#[test]
fn gzip_through_a_stream() {
    let data = text(1 << 20);
    let (writer, reader) = native_stream::stream::<u8>();
    let sent = data.clone();
    let producer = thread::spawn(move || {
        let mut encoder = GzEncoder::new(writer, Compression::fast());
        encoder.write_all(&sent)?;
        encoder.finish()?.flush()
    }); // the writer is dropped when the thread ends: end of stream
    let mut decoded = Vec::new();
    GzDecoder::new(reader).read_to_end(&mut decoded).unwrap();
    producer.join().unwrap().unwrap();
    assert!(decoded == data, "the decoded bytes differ");
}

#[test]
fn serde_json_to_writer_then_from_reader() {
    let value = serde_json::json!({
        "name": "native-stream",
        "numbers": (0..5_000).collect::<Vec<u32>>(),
        "nested": { "words": ["a", "bc", "def"], "ok": true },
    });
    let (writer, reader) = native_stream::stream::<u8>();
    let sent = value.clone();
    let producer = thread::spawn(move || serde_json::to_writer(writer, &sent));
    let got: serde_json::Value = serde_json::from_reader(reader).unwrap();
    producer.join().unwrap().unwrap();
    assert_eq!(got, value);
}

#[test]
fn writeln_then_lines() {
    const LINES: usize = 20_000;
    let (mut writer, reader) = native_stream::stream::<u8>();
    let producer = thread::spawn(move || -> io::Result<()> {
        for i in 0..LINES {
            writeln!(writer, "line {i}")?;
        }
        Ok(())
    });
    let mut count = 0;
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        assert_eq!(line.unwrap(), format!("line {i}"));
        count += 1;
    }
    producer.join().unwrap().unwrap();
    assert_eq!(count, LINES);
}

#[test]
fn io_copy_in_and_out() {
    let data = text(300_000);
    let (mut writer, mut reader) = native_stream::stream::<u8>();
    let sent = data.clone();
    let producer = thread::spawn(move || io::copy(&mut sent.as_slice(), &mut writer));
    let mut got = Vec::new();
    let copied = io::copy(&mut reader, &mut got).unwrap();
    assert_eq!(producer.join().unwrap().unwrap(), data.len() as u64);
    assert_eq!(copied, data.len() as u64);
    assert!(got == data, "the copied bytes differ");
}

#[test]
fn write_read_and_read_exact_by_method_syntax() {
    let (mut writer, mut reader) = native_stream::stream::<u8>();
    let producer = thread::spawn(move || -> io::Result<()> {
        let mut at = 0;
        while at < 5 {
            at += writer.write(&b"hello"[at..])?;
        }
        writer.flush()?;
        writer.write_all(b", world")
    });
    let mut hello = [0u8; 5];
    reader.read_exact(&mut hello).unwrap();
    assert_eq!(&hello, b"hello");
    let mut rest = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match reader.read(&mut buf).unwrap() {
            0 => break, // end of stream
            n => rest.extend_from_slice(&buf[..n]),
        }
    }
    producer.join().unwrap().unwrap();
    assert_eq!(rest, b", world");
}

#[test]
fn broken_pipe_when_the_consumer_leaves() {
    let (mut writer, mut reader) = native_stream::stream::<u8>();
    let consumer = thread::spawn(move || {
        let mut first = [0u8; 10];
        reader.read_exact(&mut first).map(|()| first)
    }); // the reader is dropped when the thread ends
    let chunk = [1u8; 4096];
    let err = loop {
        if let Err(e) = writer.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(consumer.join().unwrap().unwrap(), [1u8; 10]);
}

/// Lines → upper case → lines, each stage a thread, each link a stream.
#[test]
fn three_stage_pipeline() {
    const LINES: usize = 5_000;
    let (mut source, upper_in) = native_stream::stream::<u8>();
    let (mut upper_out, sink) = native_stream::stream::<u8>();
    let first = thread::spawn(move || -> io::Result<()> {
        for i in 0..LINES {
            writeln!(source, "item {i} of the pipeline")?;
        }
        Ok(())
    });
    let second = thread::spawn(move || -> io::Result<()> {
        for line in BufReader::new(upper_in).lines() {
            writeln!(upper_out, "{}", line?.to_uppercase())?;
        }
        Ok(())
    });
    let lines: Vec<String> = BufReader::new(sink).lines().map(Result::unwrap).collect();
    first.join().unwrap().unwrap();
    second.join().unwrap().unwrap();
    assert_eq!(lines.len(), LINES);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, &format!("ITEM {i} OF THE PIPELINE"));
    }
}
