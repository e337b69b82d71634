//! Builds `tests/cpp/symmetric_test.cpp` with the C++ compiler the `cc` crate finds (C++17,
//! `-Wall -Wextra -Werror`) against `include/symmetric_stream.h`, links it with
//! `-l symmetric_stream` (the `cdylib` cargo builds next to this test) and runs it; also
//! compiles the header alone as C11 and checks that it declares exactly the exported symbols.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("symmetric-stream-cpp");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The directory holding `libsymmetric_stream.so` (the test binary's `deps`, or its parent).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    for dir in [deps.clone(), deps.parent().unwrap().to_path_buf()] {
        if dir.join("libsymmetric_stream.so").exists() {
            return dir;
        }
    }
    panic!("libsymmetric_stream.so not found next to {}", exe.display());
}

fn compiler(cpp: bool) -> Command {
    let target = std::env::var("TARGET")
        .unwrap_or_else(|_| format!("{}-unknown-linux-gnu", std::env::consts::ARCH));
    let tool = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .cargo_metadata(false)
        .out_dir(tmp_dir())
        .cpp(cpp)
        .try_get_compiler()
        .expect("a C/C++ compiler (cc/c++)");
    let mut cmd = tool.to_command();
    cmd.args(["-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(manifest_dir().join("include"));
    cmd
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn cpp_program_links_and_runs() {
    let exe = tmp_dir().join("symmetric_test");
    let lib = lib_dir();
    run(
        compiler(true)
            .arg("-std=c++17")
            .arg(manifest_dir().join("tests/cpp/symmetric_test.cpp"))
            .arg("-o")
            .arg(&exe)
            .arg(format!("-L{}", lib.display()))
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .args(["-l", "symmetric_stream", "-pthread"]),
        "compiling symmetric_test.cpp",
    );
    let out = run(&mut Command::new(&exe), "running symmetric_test");
    assert!(out.contains(", 0 failed"), "{out}");
}

#[cfg(target_os = "linux")]
#[test]
fn header_is_c11_and_matches_the_exports() {
    let obj = tmp_dir().join("header_c11.o");
    let src = tmp_dir().join("header_c11.c");
    std::fs::write(
        &src,
        "#include \"symmetric_stream.h\"\nint main(void) { return 0; }\n",
    )
    .unwrap();
    run(
        compiler(false)
            .arg("-std=c11")
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj),
        "compiling the header as C11",
    );
    let header =
        std::fs::read_to_string(manifest_dir().join("include/symmetric_stream.h")).unwrap();
    let declared: std::collections::BTreeSet<String> = header
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("symmetricX3Aruntime"))
        .map(str::to_owned)
        .collect();
    let exported = exported_symbols(&lib_dir().join("libsymmetric_stream.so"));
    assert_eq!(declared, exported);
    assert_eq!(declared.len(), 35);
}

fn exported_symbols(lib: &Path) -> std::collections::BTreeSet<String> {
    let out = run(
        Command::new("nm").args(["-D", "--defined-only"]).arg(lib),
        "nm -D",
    );
    out.lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("symmetricX3Aruntime"))
        .map(str::to_owned)
        .collect()
}
