//! Keeps the three descriptions of the interface in step: the exported functions of the Rust
//! source, the hand-written C header and the WIT file must list the same functions, and the
//! header's status codes must equal the Rust constants. (`tests/c_programs.rs` checks that
//! every header function also resolves in the built `cdylib`.)

use std::collections::BTreeSet;
use std::path::PathBuf;

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `extern "C" fn native_*` items and `predicate!` invocations (`native_* => method`).
fn rust_exports() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in ["src/stream.rs", "src/event.rs", "src/future.rs"] {
        let src = read(file);
        for line in src.lines() {
            let line = line.trim();
            if let Some(i) = line.find("extern \"C\" fn native_") {
                let rest = &line[i + "extern \"C\" fn ".len()..];
                let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
                names.insert(name);
            } else if line.starts_with("native_") && line.contains("=>") {
                let name: String = line.chars().take_while(|&c| is_ident(c)).collect();
                names.insert(name);
            }
        }
    }
    names
}

/// Function declarations of the header.
fn header_functions() -> BTreeSet<String> {
    read("include/native_stream_ffi.h")
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with("typedef"))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("native_").then(|| name.to_string())
        })
        .collect()
}

/// The WIT functions, mapped to C names by the rules at the top of the WIT file.
fn wit_functions() -> BTreeSet<String> {
    let wit = read("wit/native-stream.wit");
    let mut names = BTreeSet::new();
    let mut prefix: Option<&str> = None;
    for line in wit.lines() {
        let line = line.trim();
        if line.starts_with("//") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("resource ") {
            let name = rest.trim_start_matches('%');
            prefix = if name.starts_with("stream ") {
                Some("native_stream_")
            } else if name.starts_with("event ") {
                Some("native_stream_event_")
            } else if name.starts_with("future ") {
                Some("native_future_")
            } else {
                // `resource condition;` and any other caller-supplied resource.
                None
            };
            continue;
        }
        if line == "}" {
            prefix = None;
            continue;
        }
        let Some(prefix) = prefix else { continue };
        if line.starts_with("constructor(") {
            names.insert(format!("{prefix}create"));
        } else if let Some((name, rest)) = line.split_once(':') {
            if rest.trim_start().starts_with("func(") {
                names.insert(format!("{prefix}{}", name.trim().replace('-', "_")));
            }
        }
    }
    names
}

#[test]
fn rust_header_and_wit_list_the_same_functions() {
    let rust = rust_exports();
    let header = header_functions();
    let wit = wit_functions();
    assert!(rust.len() > 30, "too few exports parsed: {rust:?}");
    assert_eq!(rust, header, "Rust exports vs C header");
    assert_eq!(rust, wit, "Rust exports vs WIT");
}

#[test]
fn header_status_codes_equal_rust_constants() {
    let header = read("include/native_stream_ffi.h");
    for (name, value) in stream_ffi::STATUS_CODES {
        let line = header
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} not in the header"));
        let text = line[format!("#define {name} ").len()..]
            .split("/*")
            .next()
            .unwrap()
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .to_string();
        assert_eq!(text.parse::<i32>().unwrap(), value, "{name}");
    }
    let defined = header
        .lines()
        .filter(|l| {
            l.starts_with("#define NATIVE_STREAM_OK") || l.starts_with("#define NATIVE_STREAM_ERR_")
        })
        .count();
    assert_eq!(defined, stream_ffi::STATUS_CODES.len());
}

#[test]
fn wit_error_codes_follow_the_status_codes() {
    // The WIT enum lists the errors in the order of their codes (-1, -2, ...).
    let wit = read("wit/native-stream.wit");
    let start = wit.find("enum error-code {").unwrap();
    let body = &wit[start..start + wit[start..].find('}').unwrap()];
    let cases: Vec<String> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| l.trim_end_matches(',').replace('-', "_").to_uppercase())
        .collect();
    let errors: Vec<String> = stream_ffi::STATUS_CODES
        .iter()
        .skip(1)
        .map(|(n, _)| n.trim_start_matches("NATIVE_STREAM_ERR_").to_string())
        .collect();
    assert_eq!(cases, errors);
    for (i, (_, code)) in stream_ffi::STATUS_CODES.iter().enumerate() {
        assert_eq!(*code, -(i as i32));
    }
}
