//! Keeps the descriptions of the interface in step: the WIT file, parsed by `wit-parser` as
//! the Component Model tools parse it, must describe exactly the functions the hand-written
//! C header declares, and its `error-code` enum must follow the status codes; the header's
//! status codes must equal the Rust constants. (`tests/c_programs.rs` checks that the header's
//! functions are exactly the `cdylib`'s exports, and `tests/headers.rs` has the compilers
//! check the header and evaluate its codes.)

use std::collections::BTreeSet;
use std::path::PathBuf;

use wit_parser::{FunctionKind, Resolve, TypeDefKind};

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    let path = path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Function declarations of the header: `name(` after a return type at the start of a line
/// (the header's own format, which the compilers check in `tests/headers.rs`).
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

/// The WIT file, resolved.
fn resolve() -> (Resolve, wit_parser::PackageId) {
    let mut resolve = Resolve::default();
    let pkg = resolve
        .push_file(path("wit/native-stream.wit"))
        .unwrap_or_else(|e| panic!("wit/native-stream.wit does not parse: {e:?}"));
    (resolve, pkg)
}

/// The C prefix of a resource's functions (the rules at the top of the WIT file), or `None`
/// for a caller-supplied resource, which must then have no functions.
fn c_prefix(resource: &str) -> Option<&'static str> {
    match resource {
        "stream" => Some("native_stream_"),
        "event" => Some("native_stream_event_"),
        "future" => Some("native_future_"),
        _ => None,
    }
}

/// Every function of every interface of the package (resource constructors and methods
/// included), mapped to its C name.
fn wit_functions() -> BTreeSet<String> {
    let (resolve, pkg) = resolve();
    let package = &resolve.packages[pkg];
    assert_eq!(package.name.to_string(), "native:stream@0.1.0");
    let mut names = BTreeSet::new();
    for (iface_name, &iface) in &package.interfaces {
        for (wit_name, func) in &resolve.interfaces[iface].functions {
            let resource = func.kind.resource().unwrap_or_else(|| {
                panic!("`{iface_name}.{wit_name}`: a function outside a resource has no C name")
            });
            let resource = resolve.types[resource]
                .name
                .as_deref()
                .expect("resources are named");
            let prefix = c_prefix(resource)
                .unwrap_or_else(|| panic!("`{wit_name}`: resource `{resource}` has no C prefix"));
            let c = match &func.kind {
                FunctionKind::Constructor(_) => format!("{prefix}create"),
                FunctionKind::Method(_) | FunctionKind::Static(_) => {
                    format!("{prefix}{}", func.item_name().replace('-', "_"))
                }
                other => panic!("`{wit_name}`: {other:?} has no C counterpart (C is not async)"),
            };
            assert!(names.insert(c.clone()), "two WIT functions map to {c}");
        }
    }
    names
}

#[test]
fn wit_and_header_list_the_same_functions() {
    let header = header_functions();
    let wit = wit_functions();
    assert!(
        header.len() > 30,
        "too few header functions parsed: {header:?}"
    );
    let only_header: Vec<_> = header.difference(&wit).collect();
    let only_wit: Vec<_> = wit.difference(&header).collect();
    assert!(
        only_header.is_empty() && only_wit.is_empty(),
        "in the header only: {only_header:?}; in the WIT only: {only_wit:?}"
    );
}

#[test]
fn wit_resources_are_the_mapped_ones() {
    // `stream` and `future` are keywords, escaped in the file; the names are plain.
    let (resolve, pkg) = resolve();
    let iface = resolve.packages[pkg].interfaces["streams"];
    let mut resources: Vec<&str> = resolve.interfaces[iface]
        .types
        .iter()
        .filter(|(_, &t)| matches!(resolve.types[t].kind, TypeDefKind::Resource))
        .map(|(name, _)| name.as_str())
        .collect();
    resources.sort_unstable();
    assert_eq!(resources, ["condition", "event", "future", "stream"]);
    assert_eq!(c_prefix("condition"), None);
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
    let (resolve, pkg) = resolve();
    let iface = resolve.packages[pkg].interfaces["streams"];
    let ty = resolve.interfaces[iface].types["error-code"];
    let TypeDefKind::Enum(e) = &resolve.types[ty].kind else {
        panic!("error-code is not an enum: {:?}", resolve.types[ty].kind);
    };
    let cases: Vec<String> = e
        .cases
        .iter()
        .map(|c| c.name.replace('-', "_").to_uppercase())
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
    // Each case's doc names its code.
    for (case, (_, code)) in e.cases.iter().zip(stream_ffi::STATUS_CODES.iter().skip(1)) {
        let docs = case.docs.contents.as_deref().unwrap_or("");
        assert!(
            docs.starts_with(&format!("{code}:")),
            "error-code `{}` documents {docs:?}, not {code}",
            case.name
        );
    }
}
