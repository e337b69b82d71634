//! Compiles a C program against `include/native_stream.h` and checks that its view of the
//! header (size, alignment, every offset) and of the constants equals the Rust one.

use std::path::PathBuf;
use std::process::Command;

use stream_abi::{
    ACTIVE_READER_ONE, ACTIVE_WRITER_ONE, BLOCKED, CANCELLED, CLOSED, CM_BLOCKED, CM_CANCELLED,
    CM_COMPLETED, CM_DROPPED, CM_MAX_COUNT, IDLE_READY_SIZE, IDLE_READ_SIZE, LAYOUT,
};

const PROGRAM: &str = r#"
#include <stdio.h>
#include <stdalign.h>
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
    return 0;
}
"#;

fn run_c_program() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_layout");
    std::fs::create_dir_all(&out_dir).unwrap();
    let src = out_dir.join("layout.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = out_dir.join("layout");

    let target = std::env::var("TARGET").unwrap_or_else(|_| current_target());
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(0)
        .cargo_metadata(false)
        .out_dir(&out_dir)
        .std("c11")
        .include(root.join("include"))
        .warnings_into_errors(true)
        .try_get_compiler()
        .expect("a C compiler");
    let mut cmd = compiler.to_command();
    cmd.arg(&src).arg("-o").arg(&exe);
    let status = cmd.status().expect("run the C compiler");
    assert!(status.success(), "C compilation failed: {cmd:?}");
    let out = Command::new(&exe).output().expect("run the C program");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
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
fn c_header_matches_rust_layout_and_constants() {
    let out = run_c_program();
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
}
