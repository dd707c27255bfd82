//! The core knows no HTTP: no module outside `src/http/` may name the HTTP edge or an HTTP
//! crate. Dependencies point one way, so a function without HTTP (an SQS consumer) can use the
//! core as it is.

use std::path::{Path, PathBuf};

const FORBIDDEN: [&str; 5] = [
    "crate::http",
    "super::http",
    "relay_shared::http",
    "lambda_http",
    "http::",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_core_module_imports_the_http_edge() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let core: Vec<&PathBuf> = files
        .iter()
        .filter(|path| !path.starts_with(src.join("http")) && !path.ends_with("lib.rs"))
        .collect();
    assert!(
        core.len() > 10,
        "the core's files were not found under {src:?}"
    );
    let mut offences = Vec::new();
    for path in core {
        let text = std::fs::read_to_string(path).expect("read");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if let Some(name) = FORBIDDEN.iter().find(|name| code.contains(*name)) {
                offences.push(format!("{}:{}: {name}", path.display(), number + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "core modules that reach into HTTP:\n{}",
        offences.join("\n")
    );
}
