//! Builds `tests/c/ffi_test.c` against the library's `cdylib` and header, then:
//!
//! * runs it as a program (C writer thread feeding a C reader, 10^6 elements with a checksum;
//!   a C future round trip; the bad-input table), under valgrind memcheck when `valgrind` is
//!   on `PATH` (set `NATIVE_STREAM_FFI_VALGRIND=0` to skip valgrind, `=1` to require it), or
//!   built with AddressSanitizer and LeakSanitizer (`-fsanitize=address`) when
//!   `NATIVE_STREAM_FFI_ASAN=1` (`cargo xtask ci --only asan`; instead of valgrind, which
//!   cannot run an ASan program);
//! * loads it as a shared object and runs its functions in this process against Rust
//!   `Reader`s, `Writer`s and futures on the same stream objects;
//! * checks that the functions the `cdylib` exports are exactly the header's.
//!
//! The C code is compiled at test time as C11 with `-Wall -Wextra -Werror` by the compiler the
//! `cc` crate finds and linked against `libstream_ffi.so`, which cargo builds with the rest of
//! the library's crate types before it builds this test (it sits in the test's own `deps`
//! directory).

mod common;

use std::collections::BTreeSet;
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::NonNull;
use std::sync::OnceLock;

use common::{compiler, dylib_name, lib_dir, manifest_dir, run, tmp_dir, Lang};

use stream_abi::StreamHeader;
use stream_core::RawStream;
use stream_events::Futex;

const N: u64 = 1_000_000;

/// The checksum of `tests/c/ffi_test.c` (`mix`).
fn mix(h: u64, v: u64) -> u64 {
    h.wrapping_mul(31).wrapping_add(v ^ (v >> 7))
}

fn checksum_of(n: u64) -> u64 {
    (0..n).fold(0, mix)
}

/// Compiles `ffi_test.c` with `extra` arguments into `out`.
fn compile(out: &Path, extra: &[&str]) {
    let mut cmd = compiler(Lang::C11, &out_dir()).expect("C is never skipped");
    let lib = lib_dir();
    cmd.arg(manifest_dir().join("tests/c/ffi_test.c"))
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lstream_ffi")
        .arg("-lpthread");
    run(&mut cmd, "compiling ffi_test.c");
}

fn out_dir() -> PathBuf {
    tmp_dir("stream-ffi-c")
}

/// The C program, compiled once per test run (with AddressSanitizer under [`use_asan`]).
fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        if use_asan() {
            let exe = out_dir().join("ffi_test_asan");
            let asan = ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"];
            compile(&exe, &[&["-DNATIVE_STREAM_TEST_MAIN"][..], &asan].concat());
            exe
        } else {
            let exe = out_dir().join("ffi_test");
            compile(&exe, &["-DNATIVE_STREAM_TEST_MAIN"]);
            exe
        }
    })
}

/// `NATIVE_STREAM_FFI_ASAN=1`: build the C program with AddressSanitizer (its leak check,
/// LeakSanitizer, included) and run it without valgrind.
fn use_asan() -> bool {
    std::env::var("NATIVE_STREAM_FFI_ASAN").as_deref() == Ok("1")
}

/// A `dlopen`ed library; never closed (the test process ends first).
struct Lib(NonNull<c_void>);

// SAFETY: a `dlopen` handle may be used from any thread.
unsafe impl Send for Lib {}
// SAFETY: as for `Send`; `dlsym` is thread-safe.
unsafe impl Sync for Lib {}

impl Lib {
    fn open(path: &Path) -> Lib {
        let c = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; the library's initialisers are plain C and Rust.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        Lib(NonNull::new(h).unwrap_or_else(|| panic!("dlopen {} failed", path.display())))
    }

    fn sym(&self, name: &str) -> Option<NonNull<c_void>> {
        let c = CString::new(name).unwrap();
        // SAFETY: a live handle and a valid C string.
        NonNull::new(unsafe { libc::dlsym(self.0.as_ptr(), c.as_ptr()) })
    }
}

/// The C functions as a shared object, loaded once.
fn c_lib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let so = out_dir().join("libffi_ctest.so");
        compile(&so, &["-shared", "-fPIC"]);
        Lib::open(&so)
    })
}

type WriteFn = unsafe extern "C" fn(*mut StreamHeader, u64, *mut u64) -> i32;
type ReadFn = unsafe extern "C" fn(*mut StreamHeader, *mut u64, *mut u64) -> i32;
type FutureWriteFn = unsafe extern "C" fn(*mut StreamHeader, *const c_void, usize) -> i32;

fn c_fn<F: Copy>(name: &str) -> F {
    let p = c_lib()
        .sym(name)
        .unwrap_or_else(|| panic!("no symbol {name}"));
    assert_eq!(size_of::<F>(), size_of::<*mut c_void>());
    // SAFETY: `F` is the function pointer type of `name` as defined in ffi_test.c.
    unsafe { std::mem::transmute_copy(&p) }
}

fn header_of(raw: &RawStream<Futex>) -> *mut StreamHeader {
    std::ptr::from_ref(raw).cast_mut().cast()
}

fn use_valgrind() -> bool {
    match std::env::var("NATIVE_STREAM_FFI_VALGRIND").as_deref() {
        Ok("0") => false,
        Ok("1") => true,
        _ => Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
    }
}

#[test]
fn c_program_stream_future_and_bad_input() {
    let exe = program();
    let mut cmd = if use_asan() {
        let mut c = Command::new(exe);
        // Any error or leak fails the run with exit code 23 (the program's own failures
        // exit 1).
        c.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:exitcode=23");
        c
    } else if use_valgrind() {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,possible",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let out = cmd.arg(N.to_string()).output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains(&format!("stream {N} elements checksum {}", checksum_of(N))));
    assert!(stdout.contains("future ok"));
    // Every row of the bad-input table returned its documented code.
    let rows: Vec<(&str, i32, i32)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("row "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0], f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert!(rows.len() > 50, "bad-input rows missing:\n{stdout}");
    for (name, got, expected) in &rows {
        assert_eq!(got, expected, "bad-input row {name}");
    }
    for code in [
        stream_ffi::NATIVE_STREAM_ERR_NULL,
        stream_ffi::NATIVE_STREAM_ERR_CLOSED,
        stream_ffi::NATIVE_STREAM_ERR_BUSY,
        stream_ffi::NATIVE_STREAM_ERR_WOULD_BLOCK,
        stream_ffi::NATIVE_STREAM_ERR_TIMEOUT,
        stream_ffi::NATIVE_STREAM_ERR_INVALID,
        stream_ffi::NATIVE_STREAM_ERR_NOT_PENDING,
        stream_ffi::NATIVE_STREAM_ERR_RELEASED,
    ] {
        assert!(
            rows.iter().any(|r| r.2 == code),
            "no bad-input row expects {code}"
        );
    }
}

#[test]
fn c_writer_feeds_rust_reader() {
    let write: WriteFn = c_fn("c_write_u64");
    let (writer, mut reader) = stream_core::stream_with::<u64, Futex>();
    let s = header_of(reader.raw());
    // SAFETY: we hold a writer handle (`writer`), so the stream is alive; the new handle is
    // the C side's, released by `c_write_u64`.
    unsafe { RawStream::retain_writer(NonNull::from(writer.raw())) }.unwrap();
    drop(writer);
    let s_addr = s as usize;
    let t = std::thread::spawn(move || {
        let mut sum = 0u64;
        // SAFETY: the C side holds the writer handle retained above; the elements are u64.
        let rc = unsafe { write(s_addr as *mut StreamHeader, N, &mut sum) };
        (rc, sum)
    });
    let mut got = Vec::with_capacity(N as usize);
    while reader.read_append(&mut got, 1024).is_ok() {}
    let (rc, c_sum) = t.join().unwrap();
    assert_eq!(rc, 0);
    assert_eq!(got.len() as u64, N);
    let sum = got.iter().copied().fold(0, mix);
    assert_eq!(sum, c_sum);
    assert_eq!(sum, checksum_of(N));
}

#[test]
fn rust_writer_feeds_c_reader() {
    let read: ReadFn = c_fn("c_read_u64");
    let (mut writer, reader) = stream_core::stream_with::<u64, Futex>();
    let s = header_of(writer.raw());
    // SAFETY: we hold a reader handle (`reader`); the new one is the C side's, released by
    // `c_read_u64`.
    unsafe { RawStream::retain_reader(NonNull::from(reader.raw())) }.unwrap();
    drop(reader);
    let s_addr = s as usize;
    let t = std::thread::spawn(move || {
        let (mut count, mut sum) = (0u64, 0u64);
        // SAFETY: the C side holds the reader handle retained above; the elements are u64.
        let rc = unsafe { read(s_addr as *mut StreamHeader, &mut count, &mut sum) };
        (rc, count, sum)
    });
    let items: Vec<u64> = (0..N).collect();
    let mut sent = 0;
    while sent < items.len() {
        sent += writer.write_slice(&items[sent..]).unwrap();
    }
    drop(writer);
    let (rc, count, sum) = t.join().unwrap();
    assert_eq!(rc, 0);
    assert_eq!(count, N);
    assert_eq!(sum, checksum_of(N));
}

#[test]
fn c_writes_rust_future() {
    let write: FutureWriteFn = c_fn("c_write_rust_future");
    let (mut writer, reader) = stream_future::future_with::<[u32; 3], Futex>();
    // The writer end is the Rust writer's alone until it lets raw writers in.
    writer.allow_raw_writes();
    let value = [7u32, 8, 9];
    let s = header_of(reader.raw());
    // SAFETY: `writer` keeps a writer handle (and `reader` the stream) alive while C writes
    // `size_of::<[u32; 3]>()` bytes into the lent slot, acting for `writer`.
    let rc = unsafe { write(s, value.as_ptr().cast(), size_of_val(&value)) };
    assert_eq!(rc, 0);
    drop(writer);
    assert_eq!(reader.read(), Ok(value));
}

#[test]
fn c_stream_read_by_rust_through_exports() {
    // A stream created by the C entry point, driven from Rust through the exported functions
    // of this crate's rlib (the same code the cdylib exports).
    use stream_ffi::*;
    let s = native_stream_create();
    assert!(!s.is_null());
    let mut buf = [0u64; 4];
    // SAFETY: `s` is live (we hold both handles); `buf` outlives the read, which ends below.
    unsafe {
        assert_eq!(
            native_stream_start_reading(s, buf.as_mut_ptr().cast(), buf.len()),
            NATIVE_STREAM_OK
        );
        let mut addr = std::ptr::null_mut();
        let mut cap = 0;
        assert_eq!(
            native_stream_start_writing(s, &mut addr, &mut cap),
            NATIVE_STREAM_OK
        );
        assert_eq!(cap, 4);
        addr.cast::<u64>().write(99);
        assert_eq!(native_stream_finish_writing(s, 1), NATIVE_STREAM_OK);
        let mut amount = 0;
        assert_eq!(
            native_stream_wait_read(s, -1, &mut amount),
            NATIVE_STREAM_OK
        );
        assert_eq!((amount, buf[0]), (1, 99));
        assert_eq!(native_stream_release_writer(s), NATIVE_STREAM_OK);
        assert_eq!(native_stream_release_reader(s), NATIVE_STREAM_OK);
    }
}

/// Every function the header declares resolves in the built `cdylib`, and the `cdylib`
/// exports no other function (its dynamic symbol table, as `nm` lists it).
#[test]
fn cdylib_exports_exactly_the_header_functions() {
    let path = lib_dir().join(dylib_name());
    let lib = Lib::open(&path);
    let header =
        std::fs::read_to_string(manifest_dir().join("include/native_stream_ffi.h")).unwrap();
    let names = header_function_names(&header);
    assert!(names.len() > 30);
    for name in &names {
        assert!(
            lib.sym(name).is_some(),
            "{name} is not exported by the cdylib"
        );
    }
    let exported = exported_functions(&path);
    let only_lib: Vec<_> = exported.difference(&names).collect();
    let only_header: Vec<_> = names.difference(&exported).collect();
    assert!(
        only_lib.is_empty() && only_header.is_empty(),
        "exported but not declared: {only_lib:?}; declared but not exported: {only_header:?}"
    );
}

/// The functions a shared library defines in its dynamic symbol table (`nm`, from the
/// binutils that come with the C compiler).
fn exported_functions(lib: &Path) -> BTreeSet<String> {
    let mut cmd = Command::new("nm");
    if cfg!(target_os = "macos") {
        cmd.args(["-g", "-U"]);
    } else {
        cmd.args(["-D", "--defined-only"]);
    }
    let out = run(cmd.arg(lib), "listing the cdylib's symbols");
    let names: BTreeSet<String> = out
        .lines()
        .filter_map(|l| {
            // `address type name`; functions are in the text section (`T`).
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T").then(|| name.trim_start_matches('_').to_string())
        })
        .collect();
    assert!(!names.is_empty(), "no function symbols in:\n{out}");
    names
}

/// Function names declared in the header (`name(` after a return type at line start).
fn header_function_names(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with("typedef"))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("native_").then(|| name.to_string())
        })
        .collect()
}
