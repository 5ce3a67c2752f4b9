//! Checks on what is kept in sync by hand: the Debian packages the suites need, the README's
//! platform table, the paths and links of the README, ARCHITECTURE.md and `docs/`, the versions,
//! and the xtask's layering. They read the repository's files as text, run
//! in a second with `cargo test -p xtask`, and name the file and the fix when they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::platform::PLATFORMS;
use crate::project;
use crate::tools::packages::PACKAGES;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The string literals that follow each `marker` in `text`, `count` of them each time.
fn literals_after(text: &str, marker: &str, count: usize) -> Vec<Vec<String>> {
    text.match_indices(marker)
        .map(|(at, _)| {
            let mut rest = &text[at + marker.len()..];
            let mut found = Vec::new();
            while found.len() < count {
                let Some(open) = rest.find('"') else { break };
                let Some(close) = rest[open + 1..].find('"') else {
                    break;
                };
                found.push(rest[open + 1..open + 1 + close].to_string());
                rest = &rest[open + close + 2..];
            }
            found
        })
        .collect()
}

/// The Debian packages named where a test, a fixture or the bench says what it needs: in
/// `Need::program("PROGRAM", "PACKAGE")`, `package: "PACKAGE"`, the bench's `("PROGRAM",
/// "PACKAGE")` table, and `apt-get install PACKAGE...` in messages.
fn packages_named(path: &Path, text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    // The package is the call's second argument; the program may be a constant (a full path).
    for (at, marker) in text.match_indices("Need::program(") {
        let arguments = &text[at + marker.len()..];
        let arguments = &arguments[..arguments.find(')').unwrap_or(arguments.len())];
        named.extend(
            arguments
                .split(',')
                .nth(1)
                .map(str::trim)
                .and_then(|package| package.strip_prefix('"')?.strip_suffix('"'))
                .map(str::to_string),
        );
    }
    for found in literals_after(text, "package: ", 1) {
        named.extend(found.first().cloned());
    }
    if path.ends_with("commands/bench/requirements.rs") {
        let table = &text[text
            .find("const PROGRAMS")
            .expect("the bench's PROGRAMS table")..];
        let table = &table[..table.find("];").expect("the table ends")];
        for line in table
            .lines()
            .filter(|line| line.trim_start().starts_with("(\""))
        {
            named.extend(
                literals_after(line, "(", 2)
                    .first()
                    .and_then(|found| found.get(1).cloned()),
            );
        }
    }
    for (at, marker) in text.match_indices("apt-get install ") {
        let words = text[at + marker.len()..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || "-.+ ".contains(c)))
            .next()
            .unwrap_or_default();
        named.extend(
            words
                .split_whitespace()
                .filter(|word| {
                    !word.starts_with('-')
                        && word.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "-.+".contains(c)
                        })
                })
                .map(str::to_string),
        );
    }
    named
}

#[test]
fn every_package_a_test_needs_is_installed_by_the_test_command() {
    let root = project::root();
    let listed: BTreeSet<&str> = PACKAGES.iter().map(|(package, _)| *package).collect();
    let mut sources = rust_files(&root.join("tests"));
    sources.push(root.join("xtask/src/commands/bench/requirements.rs"));
    let mut missing = BTreeMap::new();
    let mut seen = 0;
    for path in sources {
        for package in packages_named(&path, &read(&path)) {
            seen += 1;
            if !listed.contains(package.as_str()) {
                missing.insert(package, project::relative(&path));
            }
        }
    }
    assert!(
        seen > 20,
        "found only {seen} package names: the scan is broken"
    );
    assert!(
        missing.is_empty(),
        "needed but not in xtask/src/tools/packages.rs (so `cargo xtask test` never installs them): {missing:?}"
    );
}

/// The scan finds packages in each form they are written in.
#[test]
fn the_package_scan_reads_every_form() {
    let text = r#"Need::program("ctr", "containerd") package: "qemu-user-static"
        "cannot read it; apt-get install umoci skopeo", format!("apt-get install {}", x)
        Need::program(DOCKER_CLI, "docker.io"), Need::program("ipcmk", "util-linux")"#;
    let found = packages_named(Path::new("tests/x.rs"), text);
    let expected = [
        "containerd",
        "docker.io",
        "qemu-user-static",
        "skopeo",
        "umoci",
        "util-linux",
    ];
    assert_eq!(
        found,
        expected.iter().map(|name| name.to_string()).collect()
    );
}

/// The lines of a Markdown text outside its fenced code blocks.
fn prose_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    text.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The anchors of a Markdown file's headings, as GitHub makes them.
fn anchors_of(text: &str) -> BTreeSet<String> {
    prose_lines(text)
        .filter(|line| line.starts_with('#'))
        .map(anchor)
        .collect()
}

/// `tests/pods/`, `xtask/src/oci/reference.rs`: a code span that is a path from the repository
/// root, its first folder one of the root's. `target/` is left out: builds make it.
fn root_path(root: &Path, span: &str) -> Option<String> {
    let path = span.split('#').next()?.trim_end_matches('/');
    let first = path.split('/').next()?;
    let plain = !path.contains(|c: char| c.is_whitespace() || "<>*…@$~{}()=,:|".contains(c));
    (plain && path.contains('/') && !first.is_empty() && first != "target")
        .then(|| root.join(first).is_dir())
        .filter(|&is_dir| is_dir)
        .map(|_| path.to_string())
}

/// What a Markdown text in `dir` names that does not exist: a relative link's file or heading,
/// or a path from the repository root in a code span.
fn missing_doc_paths(root: &Path, dir: &Path, text: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for line in prose_lines(text) {
        for (at, _) in line.match_indices("](") {
            let Some(target) = line[at + 2..].split(')').next() else {
                continue;
            };
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                None
            } else {
                Some(dir.join(file))
            };
            if let Some(path) = &path
                && !path.exists()
            {
                missing.push(format!("link {target}"));
                continue;
            }
            if !fragment.is_empty() {
                let heading_text = match &path {
                    Some(path) if path.is_file() => read(path),
                    Some(_) => continue,
                    None => text.to_string(),
                };
                if !anchors_of(&heading_text).contains(fragment) {
                    missing.push(format!("link {target} (no such heading)"));
                }
            }
        }
        for span in code_spans(line) {
            if let Some(path) = root_path(root, span)
                && !root.join(&path).exists()
            {
                missing.push(path);
            }
        }
    }
    missing
}

/// The Markdown files people read: the README, ARCHITECTURE.md and every page in `docs/`.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut pages: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

/// Every relative link in the README, ARCHITECTURE.md and `docs/` leads to a file and heading that
/// exist, and every path from the repository root they name exists.
#[test]
fn the_docs_name_only_paths_that_exist() {
    let root = project::root();
    let mut missing = Vec::new();
    for file in markdown_files(&root) {
        let dir = file.parent().expect("a folder");
        for path in missing_doc_paths(&root, dir, &read(&file)) {
            missing.push(format!("{}: {path}", project::relative(&file).display()));
        }
    }
    assert!(
        missing.is_empty(),
        "these links or paths lead nowhere: {missing:#?}"
    );
}

/// What ARCHITECTURE.md's code map names that does not exist: under each `### \`FOLDER\``
/// heading, a file or folder name is found from the repository root or under that folder.
fn missing_code_map_paths(root: &Path, text: &str) -> (usize, Vec<String>) {
    let map = &text[text
        .find("## Code map")
        .expect("ARCHITECTURE.md has `## Code map`")..];
    let mut sections = 0;
    let mut missing = Vec::new();
    let mut folder = root.to_path_buf();
    for line in prose_lines(map) {
        if let Some(heading) = line.strip_prefix("### ") {
            sections += 1;
            let named = code_spans(heading).first().copied().unwrap_or_default();
            folder = root.join(named);
            if named.is_empty() || !folder.exists() {
                missing.push(format!("{heading} (a section's folder)"));
            }
            continue;
        }
        for name in code_spans(line)
            .into_iter()
            .filter(|name| looks_like_path(name))
        {
            let found = root.join(name).exists() || folder.is_dir() && contains_path(&folder, name);
            if !found {
                missing.push(format!(
                    "{name} (under {})",
                    project::relative(&folder).display()
                ));
            }
        }
    }
    (sections, missing)
}

/// ARCHITECTURE.md's code map names only paths that exist, under the folder of its section.
#[test]
fn the_code_map_names_only_paths_that_exist() {
    let root = project::root();
    let (sections, missing) = missing_code_map_paths(&root, &read(&root.join("ARCHITECTURE.md")));
    assert!(sections > 5, "the code map has a section per folder");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map names paths that do not exist: {missing:?}"
    );
}

/// The path checks catch a planted wrong path: in a code span, in a link, in a link's heading, and
/// in the code map.
#[test]
fn the_path_checks_find_a_wrong_path() {
    let root = project::root();
    let page = "See `xtask/src/oci/nowhere.rs`, [the tests](testing.md), [gone](gone.md) and \
                [runtimes](runtimes.md#no-such-heading); `target/image/oci/` and `/etc/x.toml` are \
                not the checkout's.\n```sh\ncat `xtask/src/fenced.rs`\n```\n";
    assert_eq!(
        missing_doc_paths(&root, &root.join("docs"), page),
        [
            "link gone.md",
            "link runtimes.md#no-such-heading (no such heading)",
            "xtask/src/oci/nowhere.rs"
        ]
    );
    let map = "## Code map\n\n### `xtask/src/`\n\n`oci/`, `reference.rs`, `nowhere.rs`, \
               `crate::build`.\n\n### `gone/`\n";
    assert_eq!(
        missing_code_map_paths(&root, map),
        (
            2,
            vec![
                "nowhere.rs (under xtask/src)".to_string(),
                "`gone/` (a section's folder)".to_string()
            ]
        )
    );
}

/// The text of every `code span` in a Markdown cell.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `signals.rs`, `oci/`, `tests/pods/`: a file or folder name, not a command or a value.
fn looks_like_path(name: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        ".rs", ".toml", ".c", ".yml", ".yaml", ".md", ".json", ".ld", ".js",
    ];
    !name.contains(' ')
        && (name.ends_with('/') || EXTENSIONS.iter().any(|extension| name.ends_with(extension)))
}

/// Whether `dir` or a folder below it holds `name` (a file name or a relative path).
fn contains_path(dir: &Path, name: &str) -> bool {
    let name = name.trim_end_matches('/');
    if dir.join(name).exists() {
        return true;
    }
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_dir() && !path.ends_with("target") && !path.ends_with(".git"))
            .any(|path| contains_path(&path, name))
    })
}

/// The README is read in five minutes: what and why, the quick start, signals, platforms and
/// links. The manual is in docs/, one page per subject.
const README_MAX_LINES: usize = 200;

#[test]
fn the_readme_stays_short() {
    let lines = read(&project::root().join("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, over {README_MAX_LINES}: move the details to a page in docs/ \
         and link to it"
    );
}

/// The README's platform table says what `platform.rs` says, row for row.
#[test]
fn the_readme_platform_table_is_the_platform_table() {
    let readme = read(&project::root().join("README.md"));
    for platform in PLATFORMS {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", platform.name)))
            .unwrap_or_else(|| {
                panic!(
                    "README.md's platform table has no row for {}",
                    platform.name
                )
            });
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let oci = match platform.variant {
            Some(variant) => format!("{} / {variant}", platform.arch),
            None => platform.arch.to_string(),
        };
        let emulator = if platform.is_native() {
            "native"
        } else {
            platform.qemu
        };
        assert_eq!(cells[2], platform.triple, "{row}");
        assert_eq!(cells[3], oci, "{row}");
        // The machine that wrote the README was amd64: the others run under their qemu.
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(cells[4], emulator, "{row}");
        }
    }
}

/// The pinned toolchain installs exactly the platform table's targets.
#[test]
fn the_toolchain_file_lists_every_platform_target() {
    let file: toml::Table =
        toml::from_str(&read(&project::root().join("rust-toolchain.toml"))).expect("valid TOML");
    let listed: BTreeSet<&str> = file["toolchain"]["targets"]
        .as_array()
        .expect("rust-toolchain.toml lists targets")
        .iter()
        .map(|target| target.as_str().expect("a target triple"))
        .collect();
    let table: BTreeSet<&str> = PLATFORMS.iter().map(|platform| platform.triple).collect();
    assert_eq!(
        listed, table,
        "rust-toolchain.toml's targets must be platform.rs's triples"
    );
}

/// pause is a workspace of its own: its version is written twice and must agree.
#[test]
fn pause_carries_the_workspace_version() {
    let root = project::root();
    let version = |path: &Path, table: &[&str]| -> String {
        let document: toml::Table = toml::from_str(&read(path)).expect("valid TOML");
        let mut value = &toml::Value::Table(document);
        for key in table {
            value = &value[key];
        }
        value.as_str().expect("a version string").to_string()
    };
    assert_eq!(
        version(&root.join("pause/Cargo.toml"), &["package", "version"]),
        version(
            &root.join("Cargo.toml"),
            &["workspace", "package", "version"]
        ),
        "pause/Cargo.toml's version must be the workspace's (Cargo.toml [workspace.package])"
    );
}

/// The module a file defines under `src`: `oci/layout.rs` is `oci::layout`, `oci/mod.rs` is `oci`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    parts.join("::")
}

/// The layers of `lib.rs`, each module's by its first component (`build::image` is in `Build`);
/// whatever is not named is the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Base,
    Oci,
    Attest,
    Sigstore,
    Registry,
    Build,
    Commands,
}

fn layer(module: &str) -> Layer {
    match module.split("::").next().unwrap_or_default() {
        "oci" => Layer::Oci,
        "attest" => Layer::Attest,
        "sigstore" => Layer::Sigstore,
        "registry" => Layer::Registry,
        "build" => Layer::Build,
        "commands" => Layer::Commands,
        _ => Layer::Base,
    }
}

/// The other layers each layer may import, as `lib.rs` states them: not a ranking, since the
/// registry (which moves bytes) may not use `attest` or `sigstore` (which know what the bytes
/// mean), though both sit below it.
fn may_import(layer: Layer) -> &'static [Layer] {
    use Layer::*;
    match layer {
        Base => &[],
        Oci => &[Base],
        Attest => &[Oci, Base],
        Sigstore => &[Attest, Oci, Base],
        Registry => &[Oci, Base],
        Build => &[Attest, Oci, Base],
        Commands => &[Build, Registry, Sigstore, Attest, Oci, Base],
    }
}

/// `commands::verify` for `commands::verify::table`: the command a module of `commands/` is part
/// of.
fn command_of(module: &str) -> String {
    module.split("::").take(2).collect::<Vec<_>>().join("::")
}

/// Every import in `graph` that the layering refuses, as `module -> target`: one into a layer
/// `may_import` does not list, or one command's module using another command's.
fn layer_violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut violations = Vec::new();
    for (module, targets) in graph {
        for target in targets {
            let (from, to) = (layer(module), layer(target));
            let refused = if from == to {
                from == Layer::Commands && command_of(module) != command_of(target)
            } else {
                !may_import(from).contains(&to)
            };
            if refused {
                violations.push(format!("{module} -> {target}"));
            }
        }
    }
    violations
}

/// Every module `code` (the text of `module`'s file) refers to: through `crate::`, `super::` and
/// `self::` paths, and through the names of the child modules it declares, in `use` trees and in
/// expressions; each cut to the longest prefix in `modules`. Test modules at the end of a file
/// (`#[cfg(test)]` onwards) are left out: they may use what they test.
fn references(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = &code[..code.find("#[cfg(test)]").unwrap_or(code.len())];
    let children: Vec<&str> = code
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let declared = line
                .strip_prefix("mod ")
                .or_else(|| line.strip_prefix("pub mod "))
                .or_else(|| line.strip_prefix("pub(crate) mod "))?;
            declared.strip_suffix(';')
        })
        .collect();
    let mut paths = Vec::new();
    let mut expressions = String::new();
    for statement in code.split_inclusive(';') {
        let trimmed = statement.trim_start();
        let trimmed = trimmed.trim_start_matches(|c: char| c == '}' || c.is_whitespace());
        match trimmed
            .strip_prefix("use ")
            .or_else(|| trimmed.strip_prefix("pub(crate) use "))
        {
            Some(tree) => paths.extend(expand_use_tree(tree.trim_end_matches(';'))),
            None => expressions.push_str(statement),
        }
    }
    let is_path_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (at, _) in expressions.match_indices("::") {
        let start = expressions[..at]
            .rfind(|c: char| !is_path_char(c))
            .map_or(0, |before| before + 1);
        if start < at && !expressions[..start].ends_with("::") {
            let path: String = expressions[start..]
                .chars()
                .take_while(|c| is_path_char(*c))
                .collect();
            paths.push(path);
        }
    }
    let mut found = BTreeSet::new();
    for path in paths {
        let mut parts: Vec<&str> = path.split("::").filter(|part| !part.is_empty()).collect();
        let mut base: Vec<&str> = match parts.first() {
            Some(&"crate") => {
                parts.remove(0);
                Vec::new()
            }
            Some(&"super") | Some(&"self") => {
                let mut base: Vec<&str> =
                    module.split("::").filter(|part| !part.is_empty()).collect();
                while let Some(&first) = parts
                    .first()
                    .filter(|first| **first == "super" || **first == "self")
                {
                    if first == "super" {
                        base.pop();
                    }
                    parts.remove(0);
                }
                base
            }
            Some(first) if children.contains(first) => {
                module.split("::").filter(|part| !part.is_empty()).collect()
            }
            _ => continue,
        };
        base.extend(parts);
        while !base.is_empty() && !modules.contains(&base.join("::")) {
            base.pop();
        }
        let target = base.join("::");
        if !target.is_empty() && target != module {
            found.insert(target);
        }
    }
    found
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or_default().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .flat_map(expand_use_tree)
        .map(|item| {
            if item == "self" {
                prefix.trim_end_matches("::").to_string()
            } else {
                format!("{prefix}{item}")
            }
        })
        .collect()
}

/// The xtask's modules and what each refers to, outside the test-only `tidy` and
/// `untrusted_input` (which tests every layer's parsers) and the binary.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = project::root().join("xtask/src");
    let files: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|file| {
            !file.ends_with("tidy.rs")
                && !file.ends_with("untrusted_input.rs")
                && !file.ends_with("main.rs")
                && !file.ends_with("flags.rs")
        })
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(&src, file)).collect();
    files
        .iter()
        .map(|file| {
            let module = module_of(&src, file);
            let refs = references(&module, &read(file), &modules);
            (module, refs)
        })
        .collect()
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let violations = layer_violations(&module_graph());
    assert!(
        violations.is_empty(),
        "imports the layering refuses (base <- oci <- attest <- sigstore; registry uses only oci and \
         the base; build uses attest, oci and the base; a command never uses another command; see \
         lib.rs): {violations:?}"
    );
}

/// The layer check refuses an upward import planted in a module's text, and a command using
/// another command, and lets a command use its own submodules and the layers below.
#[test]
fn the_layer_check_refuses_an_upward_import() {
    let modules: BTreeSet<String> = [
        "oci::layout",
        "attest::intoto",
        "sigstore::key",
        "registry::push",
        "build::image",
        "commands::image",
        "commands::verify",
        "commands::verify::table",
    ]
    .map(String::from)
    .into();
    let graph_of = |module: &str, code: &str| {
        BTreeMap::from([(module.to_string(), references(module, code, &modules))])
    };
    for (module, code, refused) in [
        (
            "registry::push",
            "use crate::sigstore::key::SigningKey;",
            "registry::push -> sigstore::key",
        ),
        (
            "registry::push",
            "fn f() { crate::attest::intoto::MEDIA_TYPE; }",
            "registry::push -> attest::intoto",
        ),
        (
            "oci::layout",
            "use crate::attest::intoto;",
            "oci::layout -> attest::intoto",
        ),
        (
            "attest::intoto",
            "use crate::sigstore::key;",
            "attest::intoto -> sigstore::key",
        ),
        (
            "build::image",
            "use crate::commands::image;",
            "build::image -> commands::image",
        ),
        (
            "commands::verify",
            "use super::image;",
            "commands::verify -> commands::image",
        ),
    ] {
        assert_eq!(
            layer_violations(&graph_of(module, code)),
            [refused],
            "{module}: {code}"
        );
    }
    for (module, code) in [
        (
            "commands::verify",
            "mod table;\nfn f() { table::render(); }",
        ),
        ("commands::verify::table", "use super::Row;"),
        (
            "commands::verify",
            "use crate::build::image;\nuse crate::registry::push;",
        ),
        ("sigstore::key", "use crate::attest::intoto;"),
        ("build::image", "use crate::attest::intoto;"),
        ("registry::push", "use crate::oci::layout;"),
    ] {
        let graph = graph_of(module, code);
        assert!(
            !graph[module].is_empty(),
            "{module}: {code} refers to nothing"
        );
        assert_eq!(
            layer_violations(&graph),
            Vec::<String>::new(),
            "{module}: {code}"
        );
    }
}

#[test]
fn no_import_circles() {
    let graph = module_graph();
    assert!(graph.len() > 20, "the scan found {} modules", graph.len());
    // Depth-first search; a module seen again while still on the stack closes a circle.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|on| *on == module) {
            let mut circle: Vec<String> = stack[at..].iter().map(|m| m.to_string()).collect();
            circle.push(module.to_string());
            return Some(circle);
        }
        if !done.insert(module) {
            return None;
        }
        stack.push(module);
        for target in graph.get(module).into_iter().flatten() {
            if let Some(circle) = visit(target, graph, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(circle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle in xtask/src: {}", circle.join(" -> "));
        }
    }
}

/// The scan sees the circle the layering removed: archive and layout using the image command,
/// which used them back.
#[test]
fn the_circle_check_finds_a_circle() {
    let modules: BTreeSet<String> = ["oci::archive", "oci::layout", "commands::image"]
        .map(String::from)
        .into();
    let archive = references(
        "oci::archive",
        "use crate::commands::image::Image;\nuse super::{layout::{self, Refs}, tarball};",
        &modules,
    );
    assert_eq!(
        archive,
        ["commands::image", "oci::layout"].map(String::from).into()
    );
    let command = references(
        "commands::image",
        "fn f() { crate::oci::archive::write(); }",
        &modules,
    );
    assert_eq!(command, ["oci::archive"].map(String::from).into());
    // A parent calling a child it declares, and the child using the parent back.
    let modules: BTreeSet<String> = ["commands::bench", "commands::bench::report"]
        .map(String::from)
        .into();
    let parent = references(
        "commands::bench",
        "mod report;\nfn run() { report::render(); }",
        &modules,
    );
    assert_eq!(parent, ["commands::bench::report"].map(String::from).into());
    let child = references(
        "commands::bench::report",
        "use super::{Measurement, ROUNDS};",
        &modules,
    );
    assert_eq!(child, ["commands::bench"].map(String::from).into());
}

/// The dotted paths of every leaf of a JSON object: `source.commit`, `platform`.
fn leaf_paths(value: &serde_json::Value, prefix: &str, paths: &mut BTreeSet<String>) {
    match value.as_object() {
        Some(object) => {
            for (key, inner) in object {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_paths(inner, &path, paths);
            }
        }
        None => {
            paths.insert(prefix.to_string());
        }
    }
}

/// The first cell's code span of each row of the table under `heading` in `text`.
fn table_keys(text: &str, heading: &str) -> BTreeSet<String> {
    let section = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("docs/build-type.md has no `{heading}`"))..];
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .filter_map(|row| {
            code_spans(row.split('|').nth(1)?)
                .first()
                .map(|key| key.to_string())
        })
        .collect()
}

/// GitHub's anchor of a Markdown heading: lower case, spaces as dashes, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// docs/build-type.md defines the provenance's build type: it has a heading for the buildType
/// URI's fragment and the local builder's, spells both URIs, and documents every external and
/// internal parameter the code writes, and no other.
#[test]
fn the_build_type_document_is_what_the_provenance_writes() {
    use crate::attest::provenance::tests::{build, sample_predicate};
    use crate::attest::provenance::{BUILD_TYPE, LOCAL_BUILDER};
    let text = read(&project::root().join("docs/build-type.md"));
    let anchors: BTreeSet<String> = text
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(anchor)
        .collect();
    for uri in [BUILD_TYPE, LOCAL_BUILDER] {
        let (_, fragment) = uri.split_once('#').expect("a fragment");
        assert!(
            anchors.contains(fragment),
            "docs/build-type.md has no heading for #{fragment}: {anchors:?}"
        );
        assert!(text.contains(uri), "docs/build-type.md never spells {uri}");
    }
    let predicate = sample_predicate(&crate::attest::provenance::Build {
        uncommitted_changes: true,
        ..build()
    });
    for (heading, field) in [
        ("### External parameters", "externalParameters"),
        ("### Internal parameters", "internalParameters"),
    ] {
        let mut written = BTreeSet::new();
        leaf_paths(&predicate["buildDefinition"][field], "", &mut written);
        assert_eq!(
            table_keys(&text, heading),
            written,
            "docs/build-type.md's `{heading}` table must list exactly the {field} \
             xtask/src/attest/provenance.rs writes"
        );
    }
}
