//! The headers compile as C11, C++11 and C++17 with `-Wall -Wextra -Werror`, each on its own
//! (with `-pedantic` too), and a C++ program using both (`tests/c/headers.cpp`) links against
//! the built `cdylib` and runs in both C++ standards: it streams elements from a writer on a
//! `std::thread`, writes and reads a future, checks every status code, and prints the header
//! layout and the status codes as the C++ compiler sees them, which must equal the Rust
//! values.
//!
//! The compilers are the ones the `cc` crate finds (`CC`/`CXX`, else `cc`/`c++`). A missing
//! C++ compiler fails these tests unless `NATIVE_STREAM_CXX=0` is set.

mod common;

use std::path::Path;
use std::process::Command;

use common::{compiler, lib_dir, manifest_dir, run, tmp_dir, Lang};
use stream_abi::{BLOCKED, CANCELLED, CLOSED, LAYOUT};

const HEADERS: [&str; 2] = [
    "../stream-abi/include/native_stream.h",
    "include/native_stream_ffi.h",
];

/// Compiles a file that only includes `header` as `lang`, warnings as errors.
fn check_header_alone(lang: Lang, header: &str, dir: &Path) {
    let Some(mut cmd) = compiler(lang, dir) else {
        return;
    };
    let name = Path::new(header).file_stem().unwrap().to_str().unwrap();
    let ext = if lang.is_cxx() { "cpp" } else { "c" };
    let src = dir.join(format!("{name}_{}.{ext}", lang.std().replace('+', "x")));
    let path = manifest_dir().join(header);
    std::fs::write(&src, format!("#include \"{}\"\n", path.display())).unwrap();
    cmd.args(["-pedantic", "-fsyntax-only", "-x", lang.x()])
        .arg(&src);
    run(&mut cmd, &format!("{header} as {lang:?}"));
}

#[test]
fn headers_compile_alone_as_c11_cxx11_and_cxx17() {
    let dir = tmp_dir("headers-alone");
    for lang in Lang::ALL {
        for header in HEADERS {
            check_header_alone(lang, header, &dir);
        }
    }
}

/// Builds `tests/c/headers.cpp` as `lang` against the `cdylib` and runs it; `None` when C++
/// is skipped.
fn run_cxx_program(lang: Lang) -> Option<String> {
    let dir = tmp_dir("headers-cxx");
    let mut cmd = compiler(lang, &dir)?;
    let exe = dir.join(format!("headers_{}", lang.std().replace('+', "x")));
    let lib = lib_dir();
    cmd.arg(manifest_dir().join("tests/c/headers.cpp"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lstream_ffi")
        .arg("-pthread");
    run(&mut cmd, &format!("building headers.cpp as {lang:?}"));
    Some(run(
        &mut Command::new(&exe),
        &format!("headers.cpp as {lang:?}"),
    ))
}

fn values<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{out}"))
        .split_whitespace()
        .collect()
}

fn nums(out: &str, key: &str) -> Vec<i128> {
    values(out, key)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn check_cxx_program(lang: Lang) {
    let Some(out) = run_cxx_program(lang) else {
        return;
    };
    assert_eq!(nums(&out, "size "), [LAYOUT.size as i128]);
    assert_eq!(nums(&out, "align "), [LAYOUT.align as i128]);
    let offsets: Vec<i128> = LAYOUT.offsets.iter().map(|&o| o as i128).collect();
    assert_eq!(nums(&out, "offsets "), offsets);
    assert_eq!(
        nums(&out, "sentinels "),
        [CLOSED as i128, BLOCKED as i128, CANCELLED as i128]
    );
    for (name, code) in stream_ffi::STATUS_CODES {
        assert_eq!(
            nums(&out, &format!("code {name} ")),
            [i128::from(code)],
            "{name} as {lang:?} sees it"
        );
    }
    assert_eq!(
        out.lines().filter(|l| l.starts_with("code ")).count(),
        stream_ffi::STATUS_CODES.len()
    );
    assert!(
        out.contains("stream ok\n") && out.contains("future ok\n"),
        "{out}"
    );
}

#[test]
fn cxx11_program_uses_both_headers() {
    check_cxx_program(Lang::Cxx11);
}

#[test]
fn cxx17_program_uses_both_headers() {
    check_cxx_program(Lang::Cxx17);
}
