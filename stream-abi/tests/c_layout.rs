//! Compiles a program against `include/native_stream.h` as C11, C++11 and C++17 (with
//! `-Wall -Wextra -Werror`) and checks that each compiler's view of the header (size,
//! alignment, every offset) and of the constants equals the Rust one.
//!
//! The compilers are the ones the `cc` crate finds (`CC`/`CXX`, else `cc`/`c++`). A missing
//! C++ compiler fails the C++ tests unless `NATIVE_STREAM_CXX=0` is set.

use std::path::PathBuf;
use std::process::Command;

use stream_abi::{
    ACTIVE_READER_ONE, ACTIVE_WRITER_ONE, BLOCKED, CANCELLED, CLOSED, CM_BLOCKED, CM_CANCELLED,
    CM_COMPLETED, CM_DROPPED, CM_MAX_COUNT, IDLE_READY_SIZE, IDLE_READ_SIZE, LAYOUT,
    OPEN_LEND_LAYOUT,
};

/// Valid C11 and C++11: `alignof` is a keyword in C++ and a macro of `<stdalign.h>` in C.
const PROGRAM: &str = r#"
#include <stdio.h>
#ifndef __cplusplus
#include <stdalign.h>
#endif
#include "native_stream.h"
int main(void) {
    printf("size %zu\n", sizeof(native_stream_header));
    printf("align %zu\n", alignof(native_stream_header));
    printf("offsets %zu %zu %zu %zu %zu %zu %zu\n",
        offsetof(native_stream_header, read_ready),
        offsetof(native_stream_header, write_ready),
        offsetof(native_stream_header, read_addr),
        offsetof(native_stream_header, read_size),
        offsetof(native_stream_header, ready_size),
        offsetof(native_stream_header, active_instances),
        offsetof(native_stream_header, state));
    printf("sentinels %td %td %td\n", NATIVE_STREAM_CLOSED, NATIVE_STREAM_BLOCKED,
        NATIVE_STREAM_CANCELLED);
    printf("idle %zu %td %d\n", NATIVE_STREAM_IDLE_READ_SIZE, NATIVE_STREAM_IDLE_READY_SIZE,
        NATIVE_STREAM_IDLE_READ_ADDR == 0);
    printf("active %zu %zu\n", NATIVE_STREAM_ACTIVE_READER_ONE, NATIVE_STREAM_ACTIVE_WRITER_ONE);
    printf("cm %u %u %u %u %u\n", NATIVE_STREAM_CM_BLOCKED, NATIVE_STREAM_CM_COMPLETED,
        NATIVE_STREAM_CM_DROPPED, NATIVE_STREAM_CM_CANCELLED, NATIVE_STREAM_CM_MAX_COUNT);
    printf("open %zu %zu %zu %zu %zu\n", sizeof(native_stream_open_lend),
        alignof(native_stream_open_lend), offsetof(native_stream_open_lend, buffer),
        offsetof(native_stream_open_lend, capacity),
        offsetof(native_stream_open_lend, element_size));
    return 0;
}
"#;

/// Builds and runs [`PROGRAM`] in the standard `std` (`c11`, `c++11`, ...); `None` when it
/// is C++, no C++ compiler runs and `NATIVE_STREAM_CXX=0` says to skip.
fn run_program(std: &str) -> Option<String> {
    let cpp = std.starts_with("c++");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_layout");
    std::fs::create_dir_all(&out_dir).unwrap();
    let name = format!("layout_{}", std.replace('+', "x"));
    let src = out_dir.join(format!("{name}.{}", if cpp { "cpp" } else { "c" }));
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = out_dir.join(&name);

    let target = std::env::var("TARGET").unwrap_or_else(|_| current_target());
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(0)
        .cargo_metadata(false)
        .out_dir(&out_dir)
        .cpp(cpp)
        .std(std)
        .include(root.join("include"))
        .try_get_compiler()
        .ok()
        .filter(|tool| {
            Command::new(tool.path())
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(compiler) = compiler else {
        if cpp && std::env::var("NATIVE_STREAM_CXX").as_deref() == Ok("0") {
            eprintln!("SKIPPED: {std} (NATIVE_STREAM_CXX=0): no C++ compiler runs");
            return None;
        }
        panic!(
            "no {} compiler runs: install gcc and g++{}",
            if cpp { "C++" } else { "C" },
            if cpp {
                ", or set NATIVE_STREAM_CXX=0 to skip the C++ checks"
            } else {
                ""
            }
        );
    };
    let mut cmd = compiler.to_command();
    cmd.args(["-Wall", "-Wextra", "-Werror"])
        .arg(&src)
        .arg("-o")
        .arg(&exe);
    let out = cmd.output().expect("run the compiler");
    assert!(
        out.status.success(),
        "{std} compilation failed: {cmd:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().expect("run the program");
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

fn current_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-gnu"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no default target triple for {other}; set TARGET"),
    }
}

fn line<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    out.lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|rest| rest.split_whitespace().collect())
        })
        .unwrap_or_else(|| panic!("no `{key}` line in {out}"))
}

fn nums(out: &str, key: &str) -> Vec<i128> {
    line(out, key).iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn c11_view_matches_rust_layout_and_constants() {
    check_view("c11");
}

#[test]
fn cxx11_view_matches_rust_layout_and_constants() {
    check_view("c++11");
}

#[test]
fn cxx17_view_matches_rust_layout_and_constants() {
    check_view("c++17");
}

fn check_view(std: &str) {
    let Some(out) = run_program(std) else {
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
    assert_eq!(
        nums(&out, "idle "),
        [IDLE_READ_SIZE as i128, IDLE_READY_SIZE as i128, 1]
    );
    assert_eq!(
        nums(&out, "active "),
        [ACTIVE_READER_ONE as i128, ACTIVE_WRITER_ONE as i128]
    );
    assert_eq!(
        nums(&out, "cm "),
        [
            CM_BLOCKED as i128,
            CM_COMPLETED as i128,
            CM_DROPPED as i128,
            CM_CANCELLED as i128,
            CM_MAX_COUNT as i128
        ]
    );
    let (size, align, offsets) = OPEN_LEND_LAYOUT;
    let mut open = vec![size as i128, align as i128];
    open.extend(offsets.iter().map(|&o| o as i128));
    assert_eq!(nums(&out, "open "), open);
}
