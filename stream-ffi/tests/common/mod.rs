//! Helpers shared by the tests that build C and C++ code against the library: where the built
//! library is, and the compilers the `cc` crate finds (`CC`/`CXX`, else `cc`/`c++`).
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for one test's files, under cargo's target dir.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The directory holding `libstream_ffi.so` for this build (the test binary's `deps`).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    for dir in [
        deps.clone(),
        deps.parent().expect("profile dir").to_path_buf(),
    ] {
        if dir.join(dylib_name()).exists() {
            return dir;
        }
    }
    panic!(
        "{} not found next to {}; build the library first (`cargo build -p stream-ffi`)",
        dylib_name(),
        exe.display()
    );
}

pub fn dylib_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libstream_ffi.dylib"
    } else {
        "libstream_ffi.so"
    }
}

fn current_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-gnu"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no default target triple for {other}; set TARGET"),
    }
}

/// The languages the headers are for, with the standard each is checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    C11,
    Cxx11,
    Cxx17,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::C11, Lang::Cxx11, Lang::Cxx17];

    pub fn is_cxx(self) -> bool {
        self != Lang::C11
    }

    pub fn std(self) -> &'static str {
        match self {
            Lang::C11 => "c11",
            Lang::Cxx11 => "c++11",
            Lang::Cxx17 => "c++17",
        }
    }

    /// The `-x` language name.
    pub fn x(self) -> &'static str {
        if self.is_cxx() {
            "c++"
        } else {
            "c"
        }
    }
}

/// The warning flags every C and C++ build of the tests uses.
pub const STRICT: [&str; 3] = ["-Wall", "-Wextra", "-Werror"];

/// A compiler command for `lang` with the headers' include paths, `-std=` and [`STRICT`], or
/// `None` when `lang` is C++, no C++ compiler runs, and `NATIVE_STREAM_CXX=0` says to skip
/// C++. Without that variable a missing compiler fails the test: a machine that runs these
/// tests must have `cc` and `c++` (gcc and g++).
pub fn compiler(lang: Lang, out_dir: &Path) -> Option<Command> {
    let target = std::env::var("TARGET").unwrap_or_else(|_| current_target());
    let root = manifest_dir();
    let tool = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .debug(true)
        .cargo_metadata(false)
        .out_dir(out_dir)
        .cpp(lang.is_cxx())
        .std(lang.std())
        .include(root.join("include"))
        .include(root.join("../stream-abi/include"))
        .try_get_compiler()
        .map_err(|e| e.to_string())
        .and_then(|tool| {
            let runs = Command::new(tool.path())
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if runs {
                Ok(tool)
            } else {
                Err(format!("`{}` does not run", tool.path().display()))
            }
        });
    let tool = match tool {
        Ok(tool) => tool,
        Err(e) if lang.is_cxx() && std::env::var("NATIVE_STREAM_CXX").as_deref() == Ok("0") => {
            eprintln!("SKIPPED: {lang:?} (NATIVE_STREAM_CXX=0): no C++ compiler: {e}");
            return None;
        }
        Err(e) if lang.is_cxx() => panic!(
            "no C++ compiler: {e}; install one (g++), or set NATIVE_STREAM_CXX=0 to skip the \
             C++ checks"
        ),
        Err(e) => panic!("no C compiler: {e}; install one (gcc)"),
    };
    let mut cmd = tool.to_command();
    cmd.args(STRICT);
    Some(cmd)
}

/// Runs `cmd` and fails the test with its output unless it succeeds; returns stdout.
pub fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}): {cmd:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
