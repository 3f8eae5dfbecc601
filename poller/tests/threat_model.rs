//! The threat model of `docs/price-integrity.md` is backed by tests that exist: every test its
//! table names is a test function of the workspace, every drill it names is one of the drills.

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The text of every `.rs` file below `dir`.
fn rust_sources(dir: &Path, found: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The rows of the table under `## Threat model`, as (threat, tests cell).
fn rows(page: &str) -> Vec<(String, String)> {
    let section = page
        .split("## Threat model")
        .nth(1)
        .expect("a threat model section");
    section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| threat"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 3, "three cells: {line}");
            (cells[0].trim().to_owned(), cells[2].trim().to_owned())
        })
        .collect()
}

/// The names in backquotes of a tests cell: the drills (after the word `drill`) and the rest.
fn named(cell: &str) -> (Vec<String>, Vec<String>) {
    let mut drills = Vec::new();
    let mut tests = Vec::new();
    for (i, part) in cell.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let before = cell.split('`').nth(i - 1).unwrap_or_default();
        if before.trim_end().ends_with("drill") {
            drills.push(part.to_owned());
        } else {
            tests.push(part.to_owned());
        }
    }
    (drills, tests)
}

#[test]
fn every_row_of_the_threat_model_names_tests_that_exist() {
    let root = repository();
    let page = std::fs::read_to_string(root.join("docs/price-integrity.md")).unwrap();
    let mut sources = String::new();
    for crate_dir in [
        "env-config",
        "service-kit",
        "price-store",
        "test-support",
        "api-a",
        "api-b",
        "poller",
    ] {
        rust_sources(&root.join(crate_dir), &mut sources);
    }
    let drills = std::fs::read_to_string(root.join("tests/drills/test_drills.py")).unwrap();
    let rows = rows(&page);
    assert!(rows.len() >= 15, "{} rows", rows.len());
    for (threat, cell) in rows {
        let (named_drills, named_tests) = named(&cell);
        assert!(
            !named_tests.is_empty(),
            "{threat}: no test named in {cell:?}"
        );
        for test in named_tests {
            assert!(
                sources.contains(&format!("fn {test}(")),
                "{threat}: no test `{test}` in the workspace"
            );
        }
        for drill in named_drills {
            assert!(
                drills.contains(&format!("\"{drill}\":")),
                "{threat}: no drill `{drill}` in tests/drills"
            );
        }
    }
}
