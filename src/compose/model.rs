//! The Compose view of a parsed file: its services, and each service's effective settings with
//! merge keys (`<<: *a`, `<<: [*a, *b]`) resolved, knowing where every value comes from.

use crate::yaml::{NodeId, NodeKind, Path, Yaml};

/// A Compose-level problem with the file's shape (`services` not a mapping, …).
#[derive(Debug, Clone)]
pub struct ShapeError {
    /// Byte offset of the offending node.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

/// One service of the file.
#[derive(Debug, Clone)]
pub struct Service {
    /// The service name.
    pub name: String,
    /// Document index.
    pub doc: usize,
    /// The key node (the name).
    pub key: NodeId,
    /// The service's mapping node (aliases followed).
    pub node: NodeId,
    /// Whether the service's mapping is an alias of another node (edits would be shared).
    pub is_alias: bool,
    /// Path of the service mapping (`services.<name>`).
    pub path: Path,
    /// Mappings merged in with `<<`, in priority order.
    pub merges: Vec<NodeId>,
    /// `extends:` — the service it extends.
    pub extends: Option<Extends>,
}

/// The target of a service's `extends:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extends {
    /// A service of the same file (`extends: base` or `extends: {service: base}`).
    Local(String),
    /// A service of another file (`extends: {file: other.yml, service: base}`); the project
    /// model loads that file.
    File {
        /// The `file:` value node (the path as written).
        file: NodeId,
        /// The service it extends there.
        service: String,
    },
}

/// Where an effective setting comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An entry of the service's own mapping.
    Own,
    /// An entry of a mapping merged with `<<` (shared with whoever else merges it).
    Merged {
        /// The merged mapping.
        from: NodeId,
    },
}

/// An effective setting of a service.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key node.
    pub key: NodeId,
    /// The value node as written (may be an alias).
    pub value: NodeId,
    /// The value node with aliases followed.
    pub resolved: NodeId,
    /// Where it comes from.
    pub origin: Origin,
    /// The entry's index in its mapping.
    pub index: usize,
}

impl Setting {
    /// Whether the value is the service's own, written in place (not merged, not an alias).
    pub fn is_local(&self) -> bool {
        self.origin == Origin::Own && self.value == self.resolved
    }
}

/// All services of a file.
#[derive(Debug, Clone, Default)]
pub struct Compose {
    /// Services in file order (across documents).
    pub services: Vec<Service>,
}

/// The names a Compose list-or-mapping holds: a sequence's scalar items, or a mapping's keys
/// (`depends_on`, `networks`, `volumes`, … accept both forms).
pub fn names(y: &Yaml, id: NodeId) -> Vec<String> {
    match &y.node(y.resolve(id)).kind {
        NodeKind::Seq { items } => items
            .iter()
            .filter_map(|&i| y.scalar(y.resolve(i)).map(str::to_string))
            .collect(),
        NodeKind::Map { entries } => entries
            .iter()
            .filter_map(|e| y.scalar(e.key).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The mappings merged into `map` with `<<` (recursively), in priority order.
pub(crate) fn merged_maps(y: &Yaml, map: NodeId, out: &mut Vec<NodeId>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Some(entries) = y.entries(map) else {
        return;
    };
    for e in entries {
        if y.scalar(e.key) != Some("<<") || y.node(e.key).tag.is_some() {
            continue;
        }
        let v = y.resolve(e.value);
        let sources: Vec<NodeId> = match &y.node(v).kind {
            NodeKind::Map { .. } => vec![v],
            NodeKind::Seq { items } => items.iter().map(|&i| y.resolve(i)).collect(),
            _ => Vec::new(),
        };
        for s in sources {
            if matches!(y.node(s).kind, NodeKind::Map { .. }) && !out.contains(&s) {
                out.push(s);
                merged_maps(y, s, out, depth + 1);
            }
        }
    }
}

impl Service {
    /// The effective setting `key`: the service's own entry, else the first merged one.
    pub fn get(&self, y: &Yaml, key: &str) -> Option<Setting> {
        let find = |map: NodeId, origin: Origin| {
            let entries = y.entries(map)?;
            entries
                .iter()
                .enumerate()
                .find(|(_, e)| y.scalar(e.key) == Some(key))
                .map(|(index, e)| Setting {
                    key: e.key,
                    value: e.value,
                    resolved: y.resolve(e.value),
                    origin,
                    index,
                })
        };
        find(self.node, Origin::Own).or_else(|| {
            self.merges
                .iter()
                .find_map(|&m| find(m, Origin::Merged { from: m }))
        })
    }

    /// The effective scalar value of `key`.
    pub fn scalar<'y>(&self, y: &'y Yaml, key: &str) -> Option<&'y str> {
        self.get(y, key).and_then(|s| y.scalar(s.resolved))
    }

    /// The image name, if any.
    pub fn image<'y>(&self, y: &'y Yaml) -> Option<&'y str> {
        self.scalar(y, "image")
    }

    /// Byte offset to report findings about the whole service at (its name).
    pub fn at(&self, y: &Yaml) -> usize {
        y.node(self.key).span.start
    }
}

impl Compose {
    /// The service named `name` in document `doc`.
    pub fn service(&self, doc: usize, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.doc == doc && s.name == name)
    }

    /// Read the services of every document, checking the file's shape.
    pub fn load(y: &Yaml) -> Result<Compose, ShapeError> {
        let mut services = Vec::new();
        let non_empty = y.docs.iter().filter(|d| !y.is_null(d.root)).count();
        if non_empty == 0 {
            return Err(ShapeError {
                at: 0,
                message: "the file holds no YAML document (empty file)".into(),
            });
        }
        for (doc, d) in y.docs.iter().enumerate() {
            if y.is_null(d.root) {
                continue;
            }
            let root = y.node(d.root);
            if !matches!(root.kind, NodeKind::Map { .. }) {
                return Err(ShapeError {
                    at: root.full_start,
                    message: "the top level of a Compose file must be a mapping".into(),
                });
            }
            let Some(svcs) = y.get(d.root, "services") else {
                continue;
            };
            if y.is_null(svcs) {
                continue;
            }
            let svcs_r = y.resolve(svcs);
            let NodeKind::Map { entries } = y.node(svcs_r).kind else {
                return Err(ShapeError {
                    at: y.node(svcs).full_start,
                    message: "`services` must be a mapping of service names to definitions".into(),
                });
            };
            let base = Path::root(doc).key("services");
            for e in entries {
                let Some(name) = y.scalar(e.key) else {
                    return Err(ShapeError {
                        at: y.node(e.key).full_start,
                        message: "a service name must be a string".into(),
                    });
                };
                if name == "<<" {
                    continue;
                }
                let node = y.resolve(e.value);
                if y.is_null(node) {
                    continue;
                }
                if !matches!(y.node(node).kind, NodeKind::Map { .. }) {
                    return Err(ShapeError {
                        at: y.node(e.value).full_start,
                        message: format!("service `{name}` must be a mapping"),
                    });
                }
                let mut merges = Vec::new();
                merged_maps(y, node, &mut merges, 0);
                let mut svc = Service {
                    name: name.to_string(),
                    doc,
                    key: e.key,
                    node,
                    is_alias: node != e.value,
                    path: base.key(name),
                    merges,
                    extends: None,
                };
                svc.extends = svc.get(y, "extends").and_then(|s| {
                    if let Some(name) = y.scalar(s.resolved) {
                        return Some(Extends::Local(name.to_string()));
                    }
                    let file = y.get(s.resolved, "file").map(|f| y.resolve(f));
                    let target = y.get(s.resolved, "service").and_then(|v| y.scalar(v))?;
                    Some(match file {
                        Some(file) => Extends::File {
                            file,
                            service: target.to_string(),
                        },
                        None => Extends::Local(target.to_string()),
                    })
                });
                services.push(svc);
            }
        }
        Ok(Compose { services })
    }
}
