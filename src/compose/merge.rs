//! Compose's merge of a project: every definition of a service (override files, documents,
//! `include:`, `extends:`) folded into one value per service, as `docker compose` folds them,
//! each merged value knowing the file and node that supplied it.
//!
//! The per-key rules are compose-go's (`override/merge.go`, `override/uncity.go`, v2.9):
//! mappings merge key by key; sequences append; `environment`, `labels`, `tmpfs`, `dns`, … are
//! turned into `KEY=VALUE` sequences and appended; `command`, `entrypoint`, `healthcheck.test`
//! are replaced whole; `depends_on`, `networks` merge as mappings; then `cap_add`, `cap_drop`,
//! `ports`, `volumes`, `environment`, … keep one item per key (a later item replaces an earlier
//! one in place). `security_opt` is appended without de-duplication (Compose keeps both copies).
//! `!reset` drops what earlier definitions set; `!override` replaces it without merging. A later
//! `null` does not override an earlier value.

use std::collections::HashMap;

use super::model::{merged_maps, Compose, Extends};
use super::values::{is_override, is_reset};
use crate::yaml::{NodeId, NodeKind, Yaml};

/// What a file is to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Named by the user (`-f`, positional, `COMPOSE_FILE`) or found like `docker compose`
    /// finds it (the default name and its `.override` sibling).
    Main,
    /// Loaded through `include:`.
    Included,
    /// Read only for `extends: {file: …}` (its own services are not project services).
    Base,
}

/// One file as the merge reads it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The parsed file.
    pub yaml: &'a Yaml,
    /// Its services.
    pub compose: &'a Compose,
    /// The path shown in messages and diffs.
    pub display: &'a str,
    /// What it is to the project.
    pub role: Role,
    /// Per document: its `include:` items, each the files of that item (in order) that were
    /// loaded.
    pub includes: &'a [Vec<Vec<usize>>],
    /// `extends.file` value nodes and the file each names, when it was loaded.
    pub extends: &'a [(NodeId, Option<usize>)],
}

impl<'a> Source<'a> {
    /// A file on its own (no `include:` or `extends.file` followed).
    pub fn single(yaml: &'a Yaml, compose: &'a Compose, display: &'a str) -> Self {
        Source {
            yaml,
            compose,
            display,
            role: Role::Main,
            includes: &[],
            extends: &[],
        }
    }
}

/// Where a merged value comes from: a node (aliases followed) of one file, in one layer of
/// the merged service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Src {
    /// Index of the file in the project.
    pub file: usize,
    /// Index of the layer in [`MergedService::layers`].
    pub layer: usize,
    /// The node.
    pub node: NodeId,
}

impl Src {
    /// Another node of the same file and layer.
    pub fn at(self, node: NodeId) -> Src {
        Src { node, ..self }
    }
}

/// One definition of a mapping key in one layer.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// The value (aliases followed).
    pub src: Src,
    /// The key node.
    pub key: NodeId,
    /// The value node as written (an alias when it is one).
    pub value: NodeId,
    /// Reached through a `<<` merge key or an alias (editing it would edit a shared node).
    pub shared: bool,
}

/// A sequence item of a merged value.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// The item node (aliases followed); for an item made from a mapping entry (`environment:
    /// {A: 1}` reads as `A=1`), the entry's value.
    pub src: Src,
    /// For an item made from a mapping entry: the entry's key node.
    pub key: Option<NodeId>,
    /// Reached through a `<<` merge key or an alias.
    pub shared: bool,
}

/// A merged value.
#[derive(Debug, Clone)]
pub enum MValue {
    /// A scalar: the winning definition.
    Scalar(Src),
    /// A sequence: the surviving items, in Compose's order.
    Seq(Vec<Item>),
    /// A mapping merged key by key.
    Map(MMap),
}

/// A merged mapping.
#[derive(Debug, Clone, Default)]
pub struct MMap {
    /// Entries in order of first definition.
    pub entries: Vec<MEntry>,
    /// Keys a later layer dropped with `!reset` (the last reset of each), with its node.
    pub resets: Vec<(String, Src)>,
}

/// One entry of a merged mapping.
#[derive(Debug, Clone)]
pub struct MEntry {
    /// The key.
    pub key: String,
    /// The merged value.
    pub value: MValue,
    /// The definitions that make it up, lowest priority first (after any `!reset`).
    pub defs: Vec<Def>,
}

impl MEntry {
    /// The definition that wins for a scalar (the last one).
    pub fn winner(&self) -> &Def {
        // NOTE: an entry always has at least one definition (entries without are not built).
        &self.defs[self.defs.len() - 1]
    }
}

impl MMap {
    /// The entry `key`.
    pub fn get(&self, key: &str) -> Option<&MEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The layer that dropped `key` with `!reset`, if one did.
    pub fn reset_of(&self, key: &str) -> Option<Src> {
        self.resets.iter().find(|(k, _)| k == key).map(|(_, s)| *s)
    }
}

impl MValue {
    /// The mapping, if this is one.
    pub fn map(&self) -> Option<&MMap> {
        match self {
            MValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn items(&self) -> &[Item] {
        match self {
            MValue::Seq(v) => v,
            _ => &[],
        }
    }

    /// The scalar's source, if this is a scalar.
    pub fn scalar(&self) -> Option<Src> {
        match self {
            MValue::Scalar(s) => Some(*s),
            _ => None,
        }
    }
}

/// One definition merged into a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// The file.
    pub file: usize,
    /// Index into that file's `compose.services`.
    pub service: usize,
    /// Whether it is a definition of the service itself (not of a service it `extends`).
    pub own: bool,
}

/// Something the merge could not follow (an `extends` base it cannot see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The file.
    pub file: usize,
    /// Byte offset in it.
    pub at: usize,
    /// What cannot be seen, for notes ("its `extends` base `x` in `y` …").
    pub message: String,
}

/// A service of the project with every definition merged.
#[derive(Debug, Clone)]
pub struct MergedService {
    /// The name.
    pub name: String,
    /// The definitions merged into it, lowest priority first.
    pub layers: Vec<Layer>,
    /// The layer where its definition lives (its first own definition): missing settings are
    /// added there.
    pub home: usize,
    /// The merged settings (`extends` is consumed by the merge and not listed).
    pub map: MMap,
    /// Its `profiles:` (empty: always started).
    pub profiles: Vec<String>,
    /// Bases it extends that cannot be seen: what it inherits from them is unknown.
    pub gaps: Vec<Gap>,
}

/// A problem the merge found (reported by the `project-file` rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: usize,
    /// Byte offset.
    pub at: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every service of a project, merged.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Project services in order of first definition.
    pub services: Vec<MergedService>,
    /// Problems of the project (missing or unreadable references, non-Compose files).
    pub problems: Vec<Problem>,
    /// (file, service index) of an own definition -> the merged service it belongs to.
    pub owners: HashMap<(usize, usize), usize>,
    /// (file, service index) of a definition used as an `extends` base -> how many merged
    /// services extend it.
    pub base_uses: HashMap<(usize, usize), usize>,
}

impl Model {
    /// The merged service whose own definition is service `service` of file `file`.
    pub fn owner(&self, file: usize, service: usize) -> Option<&MergedService> {
        self.owners
            .get(&(file, service))
            .map(|&i| &self.services[i])
    }
}

/// The entries of mapping `map` with `<<` merge keys resolved: own entries first, then those of
/// merged mappings not already present (priority order). (key, key node, value node, shared).
fn entries_of(y: &Yaml, map: NodeId) -> Vec<(String, NodeId, NodeId, bool)> {
    let map = y.resolve(map);
    let mut out: Vec<(String, NodeId, NodeId, bool)> = Vec::new();
    let own = |y: &Yaml, m: NodeId, shared: bool, out: &mut Vec<(String, NodeId, NodeId, bool)>| {
        for e in y.entries(m).unwrap_or(&[]) {
            let Some(k) = y.scalar(e.key) else { continue };
            if k == "<<" && y.node(e.key).tag.is_none() {
                continue;
            }
            if out.iter().any(|(x, ..)| x == k) {
                continue;
            }
            let shared = shared || y.resolve(e.value) != e.value;
            out.push((k.to_string(), e.key, e.value, shared));
        }
    };
    own(y, map, false, &mut out);
    let mut merges = Vec::new();
    merged_maps(y, map, &mut merges, 0);
    for m in merges {
        own(y, m, true, &mut out);
    }
    out
}

/// How a key's definitions combine (compose-go's `mergeSpecials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Generic,
    Replace,
    ToSeq,
    ToMap,
    Build,
    Logging,
}

/// How sequence items are told apart for de-duplication (compose-go's `unique`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    KeyValue,
    Port,
    Volume,
    Device,
    Mount(&'static str),
    Exact,
    EnvFile,
}

fn matches(path: &[&str], pattern: &str) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() == path.len() && pat.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

fn how(path: &[&str]) -> How {
    const REPLACE: &[&str] = &["command", "entrypoint", "healthcheck.test", "ulimits.*"];
    const TO_SEQ: &[&str] = &[
        "annotations",
        "build.args",
        "build.additional_contexts",
        "build.extra_hosts",
        "build.labels",
        "deploy.labels",
        "dns",
        "dns_opt",
        "dns_search",
        "env_file",
        "label_file",
        "environment",
        "extra_hosts",
        "labels",
        "sysctls",
        "tmpfs",
    ];
    const TO_MAP: &[&str] = &["depends_on", "networks", "models"];
    let any = |l: &[&str]| l.iter().any(|p| matches(path, p));
    if any(REPLACE) {
        How::Replace
    } else if any(TO_SEQ) {
        How::ToSeq
    } else if any(TO_MAP) {
        How::ToMap
    } else if matches(path, "build") {
        How::Build
    } else if matches(path, "logging") {
        How::Logging
    } else {
        How::Generic
    }
}

fn index(path: &[&str]) -> Option<Index> {
    const KV: &[&str] = &[
        "annotations",
        "build.args",
        "build.additional_contexts",
        "build.platform",
        "build.tags",
        "build.labels",
        "cap_add",
        "cap_drop",
        "deploy.labels",
        "dns",
        "dns_opt",
        "dns_search",
        "environment",
        "labels",
        "links",
        "networks.*.aliases",
        "networks.*.link_local_ips",
        "profiles",
        "sysctls",
        "tmpfs",
    ];
    if KV.iter().any(|p| matches(path, p)) {
        return Some(Index::KeyValue);
    }
    Some(match path {
        ["ports"] => Index::Port,
        ["volumes"] => Index::Volume,
        ["devices"] => Index::Device,
        ["configs"] => Index::Mount(""),
        ["secrets"] => Index::Mount("/run/secrets"),
        ["expose"] | ["extra_hosts"] | ["build", "extra_hosts"] => Index::Exact,
        ["env_file"] => Index::EnvFile,
        _ => return None,
    })
}

/// The text of a merged sequence item: a scalar's text, or `KEY=VALUE` (`KEY` alone for a null
/// value) for an item made from a mapping entry. `None` for a collection item.
pub fn item_text(y: &Yaml, item: &Item) -> Option<String> {
    match item.key {
        Some(k) => {
            let key = y.scalar(k)?;
            if y.is_null(item.src.node) {
                Some(key.to_string())
            } else {
                y.scalar(item.src.node).map(|v| format!("{key}={v}"))
            }
        }
        None => y.scalar(item.src.node).map(str::to_string),
    }
}

/// The merge of a project's sources.
struct Merger<'s, 'a> {
    files: &'s [Source<'a>],
}

impl Merger<'_, '_> {
    fn y(&self, file: usize) -> &Yaml {
        self.files[file].yaml
    }

    /// The definitions that survive `!reset`/`!override` and `null`s, and the last reset.
    fn live(&self, defs: &[Def]) -> (Vec<Def>, Option<Def>) {
        let mut start = 0;
        let mut reset = None;
        for (i, d) in defs.iter().enumerate().rev() {
            let y = self.y(d.src.file);
            if is_reset(y, d.value) {
                start = i + 1;
                reset = Some(*d);
                break;
            }
            if is_override(y, d.value) {
                start = i;
                break;
            }
        }
        let live: Vec<Def> = defs[start..].to_vec();
        let non_null: Vec<Def> = live
            .iter()
            .copied()
            .filter(|d| !self.y(d.src.file).is_null(d.src.node))
            .collect();
        if non_null.is_empty() {
            (live.last().copied().into_iter().collect(), reset)
        } else {
            (non_null, reset)
        }
    }

    fn kind(&self, d: &Def) -> u8 {
        match &self.y(d.src.file).node(d.src.node).kind {
            NodeKind::Map { .. } => 2,
            NodeKind::Seq { .. } => 1,
            _ => 0,
        }
    }

    /// The items of one definition as a sequence (a mapping's entries become `KEY=VALUE`
    /// items, sorted by key as compose-go sorts them; a scalar becomes one item).
    fn to_items(&self, d: &Def) -> Vec<Item> {
        let y = self.y(d.src.file);
        let at = |node: NodeId| d.src.at(node);
        match &y.node(d.src.node).kind {
            NodeKind::Seq { items } => items
                .iter()
                .map(|&i| Item {
                    src: at(y.resolve(i)),
                    key: None,
                    shared: d.shared || y.resolve(i) != i,
                })
                .collect(),
            NodeKind::Map { .. } => {
                let mut v: Vec<(String, Item)> = entries_of(y, d.src.node)
                    .into_iter()
                    .map(|(k, key, value, shared)| {
                        (
                            k,
                            Item {
                                src: at(y.resolve(value)),
                                key: Some(key),
                                shared: d.shared || shared,
                            },
                        )
                    })
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v.into_iter().map(|(_, i)| i).collect()
            }
            _ => vec![Item {
                src: d.src,
                key: None,
                shared: d.shared,
            }],
        }
    }

    fn index_key(&self, how: Index, item: &Item) -> String {
        let y = self.y(item.src.file);
        let n = item.src.node;
        let field = |k: &str| y.get(n, k).and_then(|v| y.scalar(v)).map(str::to_string);
        let text = item_text(y, item);
        match how {
            Index::KeyValue => match item.key {
                Some(k) => y.scalar(k).unwrap_or_default().to_string(),
                None => text
                    .map(|t| t.split('=').next().unwrap_or_default().to_string())
                    .unwrap_or_default(),
            },
            Index::Exact | Index::EnvFile => text.or_else(|| field("path")).unwrap_or_default(),
            Index::Port => match &text {
                Some(t) => match super::ports::parse_short(t) {
                    Ok(p) => format!(
                        "{}:{}:{}/{}",
                        p.host_ip.as_ref().map_or("0.0.0.0", |h| h.text()),
                        p.published.as_deref().unwrap_or(""),
                        p.target,
                        p.protocol.as_deref().unwrap_or("tcp")
                    ),
                    Err(_) => t.clone(),
                },
                None => format!(
                    "{}:{}:{}/{}",
                    field("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
                    field("published").unwrap_or_default(),
                    field("target").unwrap_or_default(),
                    field("protocol").unwrap_or_else(|| "tcp".into())
                ),
            },
            Index::Volume | Index::Device => match &text {
                Some(t) => {
                    let parts: Vec<&str> = t.split(':').collect();
                    parts.get(1).unwrap_or(&parts[0]).to_string()
                }
                None => field("target").unwrap_or_default(),
            },
            Index::Mount(base) => match &text {
                Some(t) => format!("{base}/{t}"),
                None => field("target")
                    .unwrap_or_else(|| format!("{base}/{}", field("source").unwrap_or_default())),
            },
        }
    }

    fn unique(&self, path: &[&str], items: Vec<Item>) -> Vec<Item> {
        let Some(how) = index(path) else {
            return items;
        };
        let mut out: Vec<Item> = Vec::with_capacity(items.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for it in items {
            let k = self.index_key(how, &it);
            match seen.get(&k) {
                Some(&j) => out[j] = it,
                None => {
                    seen.insert(k, out.len());
                    out.push(it);
                }
            }
        }
        out
    }

    /// Merge the definitions of one value at `path` (relative to the service).
    fn value(&self, path: &[&str], defs: &[Def]) -> MValue {
        let last = defs[defs.len() - 1];
        match how(path) {
            How::Replace => self.whole(path, &last),
            How::ToSeq => {
                let items = defs.iter().flat_map(|d| self.to_items(d)).collect();
                MValue::Seq(self.unique(path, items))
            }
            How::ToMap | How::Build => MValue::Map(self.maps(path, defs)),
            How::Logging => {
                let driver = |d: &Def| {
                    let y = self.y(d.src.file);
                    y.get(d.src.node, "driver")
                        .and_then(|v| y.scalar(v))
                        .map(str::to_string)
                };
                let mut start = 0;
                let mut eff = driver(&defs[0]);
                for (i, d) in defs.iter().enumerate().skip(1) {
                    let dr = driver(d);
                    if dr.is_some() && eff.is_some() && dr != eff {
                        start = i;
                    }
                    if dr.is_some() {
                        eff = dr;
                    }
                }
                MValue::Map(self.maps(path, &defs[start..]))
            }
            How::Generic => {
                let k = self.kind(&last);
                // Values of another kind than the last cannot merge (Compose refuses them).
                let from = defs
                    .iter()
                    .rposition(|d| self.kind(d) != k)
                    .map_or(0, |i| i + 1);
                let defs = &defs[from..];
                match k {
                    2 => MValue::Map(self.maps(path, defs)),
                    1 => {
                        let items = defs.iter().flat_map(|d| self.to_items(d)).collect();
                        MValue::Seq(self.unique(path, items))
                    }
                    _ => MValue::Scalar(last.src),
                }
            }
        }
    }

    /// One definition as a merged value.
    fn whole(&self, path: &[&str], d: &Def) -> MValue {
        match self.kind(d) {
            2 => MValue::Map(self.maps(path, std::slice::from_ref(d))),
            1 => MValue::Seq(self.to_items(d)),
            _ => MValue::Scalar(d.src),
        }
    }

    /// The entries of one definition for a mapping merge: a mapping's entries; for `ToMap` and
    /// `build` keys a sequence's items (or a scalar) become keys.
    fn map_entries(&self, d: &Def) -> Vec<(String, Def)> {
        let y = self.y(d.src.file);
        let at = |node: NodeId| d.src.at(node);
        match &y.node(d.src.node).kind {
            NodeKind::Map { .. } => entries_of(y, d.src.node)
                .into_iter()
                .map(|(k, key, value, shared)| {
                    (
                        k,
                        Def {
                            src: at(y.resolve(value)),
                            key,
                            value,
                            shared: d.shared || shared,
                        },
                    )
                })
                .collect(),
            NodeKind::Seq { items } => items
                .iter()
                .filter_map(|&i| {
                    let r = y.resolve(i);
                    y.scalar(r).map(|t| {
                        (
                            t.to_string(),
                            Def {
                                src: at(r),
                                key: r,
                                value: i,
                                shared: d.shared || r != i,
                            },
                        )
                    })
                })
                .collect(),
            // `build: ./dir` is `build: {context: ./dir}`.
            _ => vec![("context".to_string(), *d)],
        }
    }

    /// Merge mapping definitions key by key.
    fn maps(&self, path: &[&str], defs: &[Def]) -> MMap {
        let mut order: Vec<String> = Vec::new();
        let mut per: HashMap<String, Vec<Def>> = HashMap::new();
        for d in defs {
            for (k, e) in self.map_entries(d) {
                if path.is_empty() && k == "extends" {
                    continue;
                }
                per.entry(k.clone())
                    .or_insert_with(|| {
                        order.push(k.clone());
                        Vec::new()
                    })
                    .push(e);
            }
        }
        let mut out = MMap::default();
        for k in order {
            let all = &per[&k];
            let (live, reset) = self.live(all);
            if let Some(r) = reset {
                out.resets.push((k.clone(), r.src));
            }
            if live.is_empty() {
                continue;
            }
            let mut sub: Vec<&str> = path.to_vec();
            sub.push(&k);
            let value = self.value(&sub, &live);
            out.entries.push(MEntry {
                key: k,
                value,
                defs: live,
            });
        }
        out
    }
}

// ---- layers: which definitions make up a service ----

/// Where a definition was found, for assembling layers.
#[derive(Debug, Clone, Copy)]
struct Found {
    file: usize,
    service: usize,
}

struct Assembler<'s, 'a> {
    files: &'s [Source<'a>],
    problems: Vec<Problem>,
    /// Reported extends problems (file, node), so a base used twice is reported once.
    seen: Vec<(usize, NodeId)>,
    /// (file, document, name) -> index into that file's services.
    index: HashMap<(usize, usize, &'a str), usize>,
}

impl<'a> Assembler<'_, 'a> {
    fn service_index(&self, file: usize, doc: usize, name: &str) -> Option<usize> {
        self.index.get(&(file, doc, name)).copied()
    }

    fn problem(&mut self, file: usize, node: NodeId, message: String) {
        if self.seen.contains(&(file, node)) {
            return;
        }
        self.seen.push((file, node));
        let at = self.files[file].yaml.node(node).span.start;
        self.problems.push(Problem { file, at, message });
    }

    /// The layers of `name` in the files of `unit` (merged in order, every document).
    fn unit(
        &mut self,
        unit: &[usize],
        name: &str,
        includes: bool,
        stack: &mut Vec<(usize, String)>,
        gaps: &mut Vec<Gap>,
    ) -> Vec<(Found, bool)> {
        let mut out = Vec::new();
        for &f in unit {
            for doc in 0..self.files[f].yaml.docs.len() {
                let layers = self.doc(f, doc, name, includes, stack, gaps);
                if layers.is_empty() {
                    continue;
                }
                if let Some(i) = self.service_index(f, doc, name) {
                    let y = self.files[f].yaml;
                    let node = self.files[f].compose.services[i].node;
                    if is_reset(y, node) || is_override(y, node) {
                        // `name: !override {…}` replaces what earlier files defined.
                        out.clear();
                    }
                }
                out.extend(layers);
            }
        }
        out
    }

    /// The layers of `name` as document `doc` of file `f` defines it: its includes' definition,
    /// the bases it extends, then its own entry. `bool`: whether the layer is own.
    fn doc(
        &mut self,
        f: usize,
        doc: usize,
        name: &str,
        includes: bool,
        stack: &mut Vec<(usize, String)>,
        gaps: &mut Vec<Gap>,
    ) -> Vec<(Found, bool)> {
        let mut out: Vec<(Found, bool)> = Vec::new();
        if includes {
            let items: Vec<Vec<usize>> =
                self.files[f].includes.get(doc).cloned().unwrap_or_default();
            for item in items {
                out.extend(self.unit(&item, name, true, stack, gaps));
            }
        }
        let Some(si) = self.service_index(f, doc, name) else {
            return out;
        };
        let key = (f, name.to_string());
        if stack.contains(&key) {
            let node = self.files[f].compose.services[si].key;
            self.problem(
                f,
                node,
                format!("`extends` of service `{name}` forms a cycle; Docker Compose refuses it"),
            );
            return out;
        }
        stack.push(key);
        let svc = self.files[f].compose.services[si].clone();
        match &svc.extends {
            None => {}
            Some(Extends::Local(base)) => {
                let base_layers = if self.service_index(f, doc, base).is_some() || includes {
                    self.doc(f, doc, base, includes, stack, gaps)
                } else {
                    Vec::new()
                };
                if base_layers.is_empty() {
                    let y = self.files[f].yaml;
                    let node = svc.get(y, "extends").map_or(svc.key, |s| s.resolved);
                    let file = match self.files[f].display {
                        "" => "the file",
                        d => d,
                    };
                    let message =
                        format!("service `{name}` extends `{base}`, which {file} does not define");
                    self.problem(f, node, format!("{message}; Docker Compose refuses it"));
                    gaps.push(Gap {
                        file: f,
                        at: y.node(node).span.start,
                        message: format!("it extends `{base}`, which cannot be found"),
                    });
                }
                out.extend(base_layers.into_iter().map(|(l, _)| (l, false)));
            }
            Some(Extends::File { file, service }) => {
                let y = self.files[f].yaml;
                let target = self.files[f]
                    .extends
                    .iter()
                    .find(|(n, _)| n == file)
                    .and_then(|(_, t)| *t);
                let path = y.scalar(*file).unwrap_or_default().to_string();
                match target {
                    Some(t) => {
                        let layers = self.unit(&[t], service, false, stack, gaps);
                        if layers.is_empty() {
                            self.problem(
                                f,
                                *file,
                                format!(
                                    "service `{name}` extends `{service}` from {}, which does not define it; Docker Compose refuses it",
                                    self.files[t].display
                                ),
                            );
                            gaps.push(Gap {
                                file: f,
                                at: y.node(*file).span.start,
                                message: format!(
                                    "it extends `{service}`, which {} does not define",
                                    self.files[t].display
                                ),
                            });
                        }
                        out.extend(layers.into_iter().map(|(l, _)| (l, false)));
                    }
                    None => gaps.push(Gap {
                        file: f,
                        at: y.node(*file).span.start,
                        message: format!(
                            "it extends `{service}` from `{path}`, which is not loaded, so what it inherits is unknown"
                        ),
                    }),
                }
            }
        }
        stack.pop();
        out.push((
            Found {
                file: f,
                service: si,
            },
            true,
        ));
        out
    }
}

impl Model {
    /// Merge the services of the project whose main files are `main` (in load order), with
    /// `problems` found while loading.
    pub fn build(files: &[Source<'_>], main: &[usize], problems: Vec<Problem>) -> Model {
        let mut index = HashMap::new();
        for (f, src) in files.iter().enumerate() {
            for (i, s) in src.compose.services.iter().enumerate() {
                index.entry((f, s.doc, s.name.as_str())).or_insert(i);
            }
        }
        let mut asm = Assembler {
            files,
            problems,
            seen: Vec::new(),
            index,
        };
        // Project service names: those of the main files and of what they include.
        let mut names: Vec<String> = Vec::new();
        let mut named: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut stack: Vec<usize> = main.to_vec();
        let mut visited: Vec<usize> = Vec::new();
        while let Some(f) = stack.pop() {
            if visited.contains(&f) {
                continue;
            }
            visited.push(f);
            for inc in files[f].includes.iter().flatten().flatten().rev() {
                stack.push(*inc);
            }
        }
        let mut order: Vec<usize> = main.to_vec();
        for f in visited {
            if !order.contains(&f) {
                order.push(f);
            }
        }
        for f in order {
            for s in &files[f].compose.services {
                if named.insert(s.name.as_str()) {
                    names.push(s.name.clone());
                }
            }
        }
        let merger = Merger { files };
        let mut services = Vec::new();
        for name in names {
            let mut gaps = Vec::new();
            let found = asm.unit(main, &name, true, &mut Vec::new(), &mut gaps);
            if found.is_empty() {
                continue;
            }
            let layers: Vec<Layer> = found
                .iter()
                .map(|(f, own)| Layer {
                    file: f.file,
                    service: f.service,
                    own: *own,
                })
                .collect();
            let defs: Vec<Def> = layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let s = &files[l.file].compose.services[l.service];
                    Def {
                        src: Src {
                            file: l.file,
                            layer: i,
                            node: s.node,
                        },
                        key: s.key,
                        value: s.node,
                        shared: s.is_alias,
                    }
                })
                .collect();
            let map = merger.maps(&[], &defs);
            let profiles = map
                .get("profiles")
                .map(|e| {
                    e.value
                        .items()
                        .iter()
                        .filter_map(|i| item_text(files[i.src.file].yaml, i))
                        .collect()
                })
                .unwrap_or_default();
            let home = layers.iter().position(|l| l.own).unwrap_or(0);
            services.push(MergedService {
                name,
                layers,
                home,
                map,
                profiles,
                gaps,
            });
        }
        let mut owners = HashMap::new();
        let mut base_uses: HashMap<(usize, usize), usize> = HashMap::new();
        for (i, m) in services.iter().enumerate() {
            let mut counted: Vec<(usize, usize)> = Vec::new();
            for l in &m.layers {
                if l.own {
                    owners.entry((l.file, l.service)).or_insert(i);
                } else if !counted.contains(&(l.file, l.service)) {
                    counted.push((l.file, l.service));
                    *base_uses.entry((l.file, l.service)).or_default() += 1;
                }
            }
        }
        Model {
            services,
            problems: asm.problems,
            owners,
            base_uses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(texts: &[&str]) -> (Vec<Yaml>, Vec<Compose>) {
        let ys: Vec<Yaml> = texts
            .iter()
            .map(|t| Yaml::parse(t.to_string()).expect("parse"))
            .collect();
        let cs = ys.iter().map(|y| Compose::load(y).expect("load")).collect();
        (ys, cs)
    }

    fn texts(y: &[Yaml], m: &MMap, key: &str) -> Vec<String> {
        m.get(key)
            .map(|e| {
                e.value
                    .items()
                    .iter()
                    .filter_map(|i| item_text(&y[i.src.file], i))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn build(texts: &[&str]) -> (Vec<Yaml>, Model) {
        let (ys, cs) = model(texts);
        let srcs: Vec<Source> = ys
            .iter()
            .zip(&cs)
            .map(|(y, c)| Source::single(y, c, "f"))
            .collect();
        let main: Vec<usize> = (0..ys.len()).collect();
        let m = Model::build(&srcs, &main, Vec::new());
        (ys, m)
    }

    #[test]
    fn override_file_merges_like_compose() {
        let (ys, m) = build(&[
            "services:\n  db:\n    image: postgres:15\n    cap_add: [CHOWN]\n    security_opt: [a]\n    ports: ['5432:5432']\n    environment:\n      A: '1'\n      B: '2'\n",
            "services:\n  db:\n    image: postgres:16\n    cap_add: [CHOWN, SETUID]\n    security_opt: [a]\n    ports: ['5432:5432', '127.0.0.1:80:80']\n    environment: [B=3, C=4]\n",
        ]);
        let db = &m.services[0];
        assert_eq!(db.layers.len(), 2);
        assert_eq!(db.home, 0);
        let img = db
            .map
            .get("image")
            .expect("image")
            .value
            .scalar()
            .expect("scalar");
        assert_eq!((img.file, ys[1].scalar(img.node)), (1, Some("postgres:16")));
        assert_eq!(texts(&ys, &db.map, "cap_add"), ["CHOWN", "SETUID"]);
        // security_opt is appended without de-duplication, as Compose does.
        assert_eq!(texts(&ys, &db.map, "security_opt"), ["a", "a"]);
        assert_eq!(
            texts(&ys, &db.map, "ports"),
            ["5432:5432", "127.0.0.1:80:80"]
        );
        assert_eq!(texts(&ys, &db.map, "environment"), ["A=1", "B=3", "C=4"]);
    }

    #[test]
    fn reset_and_override_tags() {
        let (ys, m) = build(&[
            "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    cap_add: [NET_ADMIN]\n",
            "services:\n  web:\n    ports: !reset []\n    cap_add: !override [CHOWN]\n",
        ]);
        let web = &m.services[0];
        assert!(web.map.get("ports").is_none());
        assert_eq!(web.map.reset_of("ports").map(|s| s.file), Some(1));
        assert_eq!(texts(&ys, &web.map, "cap_add"), ["CHOWN"]);
    }

    #[test]
    fn extends_in_file_and_null_keeps_earlier() {
        let (ys, m) = build(&[
            "services:\n  base:\n    image: redis:7\n    privileged: true\n  web:\n    extends: base\n    read_only:\n",
        ]);
        let web = m.services.iter().find(|s| s.name == "web").expect("web");
        assert_eq!(web.layers.len(), 2);
        assert!(!web.layers[0].own && web.layers[1].own);
        assert_eq!(web.home, 1);
        assert!(web.map.get("extends").is_none());
        let p = web.map.get("privileged").expect("privileged");
        assert_eq!(p.winner().src.layer, 0);
        let img = web
            .map
            .get("image")
            .and_then(|e| e.value.scalar())
            .expect("image");
        assert_eq!(ys[0].scalar(img.node), Some("redis:7"));
    }

    #[test]
    fn missing_extends_base_is_a_problem_and_a_gap() {
        let (_, m) = build(&["services:\n  web:\n    extends: nothere\n"]);
        assert_eq!(m.problems.len(), 1);
        assert_eq!(m.services[0].gaps.len(), 1);
    }
}
