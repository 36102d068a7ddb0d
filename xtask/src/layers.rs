//! `cargo xtask cycles`: degu-core's top-level modules must form layers that only point
//! down. Each `crate::<module>` path in a module's files (a `use` or a path in code,
//! grouped `crate::{a, b::c}` forms included; comments and doc links aside) is an edge
//! from that module to `<module>`; any cycle among the edges fails the check and is
//! printed.
//!
//! `lib.rs` (the crate root, which re-exports) and the logging shim `fmt` (macros every
//! module uses, which use nothing) are not layers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Modules that are not layers: the crate root and the logging shim.
const NOT_LAYERS: &[&str] = &["lib", "fmt"];

/// Which top-level module each other one names: module → modules it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Check the crate whose `src/` is `src`: `Err` names every cycle.
pub fn check(src: &Path) -> crate::Result {
    let graph = graph_of(src)?;
    for (module, uses) in &graph {
        let list: Vec<&str> = uses.iter().map(String::as_str).collect();
        println!("{module:>10} -> {}", list.join(", "));
    }
    let cycles = cycles(&graph);
    if cycles.is_empty() {
        println!(
            "no import cycle between the top-level modules of {}",
            src.display()
        );
        return Ok(());
    }
    let shown: Vec<String> = cycles.iter().map(|c| c.join(" -> ")).collect();
    Err(format!(
        "import cycles between top-level modules of {}:\n  {}",
        src.display(),
        shown.join("\n  ")
    ))
}

/// The module graph of a crate's `src/`.
pub fn graph_of(src: &Path) -> crate::Result<Graph> {
    let mut graph = Graph::new();
    let entries = fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let module = stem.to_string();
        if NOT_LAYERS.contains(&module.as_str()) {
            continue;
        }
        let is_rs = path.extension().is_some_and(|e| e == "rs");
        if !is_rs && !path.is_dir() {
            continue;
        }
        let mut uses = BTreeSet::new();
        for file in rust_files(&path)? {
            let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            uses.extend(crate_paths(&text));
        }
        uses.remove(&module);
        for n in NOT_LAYERS {
            uses.remove(*n);
        }
        graph.entry(module).or_default().extend(uses);
    }
    Ok(graph)
}

/// `path` itself (a file) or every `.rs` file under it (a module folder).
fn rust_files(path: &Path) -> crate::Result<Vec<std::path::PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_dir() {
            out.extend(rust_files(&p)?);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    Ok(out)
}

/// The top-level modules that `crate::` paths in `text` name, comments left out.
pub fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut line_end = 0;
    for line in text.split_inclusive('\n') {
        line_end += line.len();
        let after = &text[line_end..];
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            // `degu_core::` or `$crate::` are not this crate's own paths.
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(group_heads(group, after));
            } else {
                let name = ident(rest);
                if !name.is_empty() {
                    found.insert(name.to_string());
                }
            }
        }
    }
    found
}

/// The first path segment of each item of a `crate::{...}` group; a group that goes on
/// past its line continues in `after` (the text after that line).
fn group_heads(group_start: &str, after: &str) -> Vec<String> {
    let mut body = group_start.to_string();
    if !group_start.contains('}') {
        body.push_str(after);
    }
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut at_item = true;
    let mut i = 0;
    let bytes = body.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' if depth == 0 => break,
            b'}' => depth -= 1,
            b',' if depth == 0 => at_item = true,
            c if at_item && (c.is_ascii_alphabetic() || c == b'_') => {
                let name = ident(&body[i..]);
                heads.push(name.to_string());
                i += name.len();
                at_item = false;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    heads.retain(|h| h != "self");
    heads
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every cycle, as a list of modules from one back to itself: one per strongly connected
/// component of more than one module (Tarjan's algorithm).
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.reverse();
                    let first = component[0].clone();
                    component.push(first);
                    self.components.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_in_uses_groups_and_code_but_not_comments() {
        let text = "use crate::wire::head::Method;\n\
                    use crate::{body::Framing, error::{A, B}, limits};\n\
                    use crate::{\n    engine::Body,\n    pressure,\n};\n\
                    fn f() { let _ = crate::router::MAX_PARAMS; }\n\
                    /// [`crate::app::App`]\n\
                    // crate::fmt\n\
                    use degu_core::app::App;\n\
                    macro_rules! m { () => { $crate::x::y } }\n";
        assert_eq!(
            crate_paths(text),
            names(&[
                "wire", "body", "error", "limits", "engine", "pressure", "router"
            ])
        );
    }

    #[test]
    fn a_cycle_is_found_and_layers_are_not() {
        let mut graph = Graph::new();
        graph.insert("app".into(), names(&["engine", "wire"]));
        graph.insert("engine".into(), names(&["body", "wire"]));
        graph.insert("body".into(), names(&["wire"]));
        graph.insert("wire".into(), names(&[]));
        assert!(cycles(&graph).is_empty());
        // The cycle issue 15 removed: wire -> body -> wire.
        graph.insert("wire".into(), names(&["body"]));
        assert_eq!(cycles(&graph), vec![vec!["body", "wire", "body"]]);
    }

    #[test]
    fn a_cycle_in_files_on_disk_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("xtask-cycles-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("engine")).unwrap();
        fs::write(dir.join("lib.rs"), "pub mod app; pub mod engine;\n").unwrap();
        fs::write(dir.join("app.rs"), "use crate::engine::Body;\n").unwrap();
        fs::write(dir.join("engine/mod.rs"), "mod server;\n").unwrap();
        fs::write(dir.join("engine/server.rs"), "use crate::app::App;\n").unwrap();
        let err = check(&dir).unwrap_err();
        assert!(err.contains("app -> engine -> app"), "{err}");
        fs::write(dir.join("engine/server.rs"), "use super::Body;\n").unwrap();
        check(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The real crate: the same check `.ci/run` makes.
    #[test]
    fn degu_core_has_no_cycle() {
        check(&crate::root().join("degu-core/src")).unwrap();
    }
}
