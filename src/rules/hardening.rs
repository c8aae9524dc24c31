//! Helpers shared by the container-hardening rules (`privileged`, `cap-drop-all`,
//! `read-only-rootfs`, `resource-limits` and the report-only detections): capability
//! normalisation, port and mount reading, and [`ServiceEdit`], which plans the edits that give
//! one service new keys or list items without ever touching a shared anchor. The image table
//! is `data/images.toml`, read by [`super::images`].

use crate::compose::{values, Origin, Service};
use crate::yaml::{ops, render, Change, Edit, NewNode, NodeKind, Value, Yaml};

/// The built-in image knowledge now lives in `data/images.toml` ([`super::images`]).
pub use super::images::{lookup, ImageInfo};

/// A capability name normalised for comparison: upper case, without `CAP_`.
pub fn norm_cap(s: &str) -> String {
    let u = s.trim().to_ascii_uppercase();
    u.strip_prefix("CAP_").map(str::to_string).unwrap_or(u)
}

/// Whether the service listens on (publishes or exposes) a container port below 1024, or
/// declares no port at all (so it keeps its image default, e.g. nginx on 80).
pub fn listens_low(y: &Yaml, svc: &Service) -> bool {
    let mut ports = Vec::new();
    for key in ["ports", "expose"] {
        let Some(s) = svc.get(y, key) else { continue };
        for &it in y.items(s.resolved).unwrap_or(&[]) {
            ports.extend(container_port(y, y.resolve(it)));
        }
    }
    ports.is_empty() || ports.iter().any(|p| p.is_none_or(|p| p < 1024))
}

/// The container port of a `ports:`/`expose:` item (`[ip:][host:]container[/proto]`, the
/// first of a range, or a long item's `target`): `Some(None)` when it is not a number,
/// `None` when the item has none.
pub fn container_port(y: &Yaml, it: crate::yaml::NodeId) -> Option<Option<u32>> {
    if let Some(t) = y.scalar(it) {
        let c = t.rsplit(':').next().unwrap_or(t);
        let c = c.split('/').next().unwrap_or(c);
        let c = c.split('-').next().unwrap_or(c);
        Some(c.trim().parse::<u32>().ok())
    } else {
        y.get(it, "target")
            .and_then(|n| y.scalar(y.resolve(n)))
            .map(|t| t.trim().parse::<u32>().ok())
    }
}

/// Whether the file writes short lists (`cap_add`, `security_opt`, `tmpfs`, …) in flow style
/// (`[a, b]`) more often than in block style.
pub fn prefers_flow(y: &Yaml, services: &[Service]) -> bool {
    let (mut flow, mut block) = (0, 0);
    for svc in services {
        for key in [
            "cap_add",
            "cap_drop",
            "security_opt",
            "tmpfs",
            "profiles",
            "dns",
        ] {
            if let Some(s) = svc.get(y, key) {
                let n = y.node(s.resolved);
                if matches!(&n.kind, NodeKind::Seq { items } if !items.is_empty()) {
                    if n.flow {
                        flow += 1;
                    } else {
                        block += 1;
                    }
                }
            }
        }
    }
    flow > block
}

/// A list value to write: `[a, b]` when the file prefers flow lists, else a block sequence.
pub fn list_node(items: &[String], flow: bool) -> (NewNode, Value) {
    let nodes = items.iter().map(|s| NewNode::Str(s.clone())).collect();
    let node = if flow {
        NewNode::FlowSeq(nodes)
    } else {
        NewNode::Seq(nodes)
    };
    let value = node.value();
    (node, value)
}

/// Edits to one service, planned step by step and turned into one fix's edits and changes.
/// New keys are written after the service's last entry, in the order they were planned; items
/// appended to one list become one edit.
pub struct ServiceEdit<'a> {
    y: &'a Yaml,
    svc: &'a Service,
    flow: bool,
    edits: Vec<Edit>,
    changes: Vec<Change>,
    new_keys: Vec<(String, NewNode, Value)>,
}

impl<'a> ServiceEdit<'a> {
    /// Start planning edits to `svc`; `flow` chooses the style of new lists.
    pub fn new(y: &'a Yaml, svc: &'a Service, flow: bool) -> Result<Self, String> {
        if svc.is_alias {
            return Err("the service is an alias of another node; harden that node".into());
        }
        Ok(ServiceEdit {
            y,
            svc,
            flow,
            edits: Vec::new(),
            changes: Vec::new(),
            new_keys: Vec::new(),
        })
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.new_keys.is_empty()
    }

    /// The effective list `key` as scalar strings (`None` when unset); an error when it is
    /// not a list of scalars.
    pub fn list(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        let y = self.y;
        let Some(s) = self.svc.get(y, key) else {
            return Ok(None);
        };
        if values::is_reset(y, s.value) {
            // `key: !reset …`: Compose reads the key as absent.
            return Ok(None);
        }
        if y.is_null(s.resolved) {
            return Err(format!("`{key}` is empty (null)"));
        }
        let items = y
            .items(s.resolved)
            .ok_or_else(|| format!("`{key}` is not a list"))?;
        items
            .iter()
            .map(|&i| {
                y.scalar(y.resolve(i))
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{key}` holds a non-scalar item"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Make the list `key` hold every item of `want` (compared with `same`): append the
    /// missing ones to the service's own list, give the service a local copy of a list merged
    /// from an anchor, or add the key. Returns the items added.
    pub fn ensure_items(
        &mut self,
        key: &str,
        want: &[String],
        same: fn(&str, &str) -> bool,
    ) -> Result<Vec<String>, String> {
        let y = self.y;
        let current = self.list(key)?.unwrap_or_default();
        let missing = missing_items(&current, want, same);
        if missing.is_empty() {
            return Ok(missing);
        }
        match self.svc.get(y, key) {
            None => {
                let (node, value) = list_node(&missing, self.flow);
                self.new_keys.push((key.to_string(), node, value));
            }
            Some(s) if values::is_reset(y, s.value) => {
                let (e, v) = replace_reset(y, &s, key, &missing)?;
                self.edits.push(e);
                self.changes.push(Change::Set(self.svc.path.key(key), v));
            }
            Some(s) if s.is_local() => {
                let items: Vec<NewNode> = missing.iter().map(|m| NewNode::Str(m.clone())).collect();
                let edit = ops::append_items(y, s.resolved, &items)
                    .map_err(|w| format!("cannot append to `{key}`: {w}"))?;
                for item in &items {
                    self.changes
                        .push(Change::Append(self.svc.path.key(key), item.value()));
                }
                self.edits.extend(edit);
            }
            Some(s) if matches!(s.origin, Origin::Merged { .. }) => {
                // Shared through `<<: *anchor`: a local list keeps the anchor's entries.
                let mut all = current.clone();
                all.extend(missing.iter().cloned());
                let flow = y.node(s.resolved).flow || self.flow;
                let (node, value) = list_node(&all, flow);
                self.new_keys.push((key.to_string(), node, value));
            }
            Some(_) => {
                return Err(format!(
                    "`{key}` is an alias shared with other services; no automatic fix"
                ))
            }
        }
        Ok(missing)
    }

    /// Set the scalar `key` to `raw` (written as is): replace the service's own scalar, or add
    /// a local key (which overrides a merged one).
    pub fn set_scalar(&mut self, key: &str, raw: &str) -> Result<(), String> {
        let y = self.y;
        let node = NewNode::Raw(raw.to_string());
        match self.svc.get(y, key) {
            Some(s) if s.origin == Origin::Own && values::is_reset(y, s.value) => {
                // `key: !reset …` reads as absent: write the value in its place.
                if !s.is_local() {
                    return Err(format!("`{key}` is an alias; no automatic fix"));
                }
                let e = ops::replace_node(y, s.value, raw)
                    .map_err(|w| format!("cannot rewrite `{key}`: {w}"))?;
                self.edits.push(e);
                self.changes
                    .push(Change::Set(self.svc.path.key(key), node.value()));
            }
            Some(s) if s.origin == Origin::Own => {
                if !s.is_local() {
                    return Err(format!("`{key}` is an alias; no automatic fix"));
                }
                let (e, v) = replace_raw(y, s.resolved, raw)
                    .map_err(|w| format!("cannot rewrite `{key}`: {w}"))?;
                self.edits.push(e);
                self.changes.push(Change::Set(self.svc.path.key(key), v));
            }
            _ => {
                let v = node.value();
                self.new_keys.push((key.to_string(), node, v));
            }
        }
        Ok(())
    }

    /// Add the key `key` with `node` (the caller checked it is absent or only merged).
    pub fn add_key(&mut self, key: &str, node: NewNode) {
        let v = node.value();
        self.new_keys.push((key.to_string(), node, v));
    }

    /// Remove the service's own entry `key`.
    pub fn remove_own(&mut self, key: &str) -> Result<(), String> {
        let y = self.y;
        let s = self
            .svc
            .get(y, key)
            .filter(|s| s.origin == Origin::Own)
            .ok_or_else(|| format!("`{key}` is not the service's own entry"))?;
        let e = ops::remove_entry(y, self.svc.node, s.index)
            .map_err(|w| format!("cannot remove `{key}`: {w}"))?;
        self.edits.push(e);
        self.changes.push(Change::Remove(self.svc.path.key(key)));
        Ok(())
    }

    /// Edit nested mapping `node` (at `path`, the service's own): append planned by caller.
    pub fn push_raw(&mut self, edit: Edit, change: Change) {
        self.edits.push(edit);
        self.changes.push(change);
    }

    /// The edits and declared changes.
    pub fn finish(mut self) -> Result<(Vec<Edit>, Vec<Change>), String> {
        if !self.new_keys.is_empty() {
            let keys = std::mem::take(&mut self.new_keys);
            let (edit, changes) = insert_keys(self.y, self.svc.node, &self.svc.path, keys)?;
            self.edits.push(edit);
            self.changes.extend(changes);
        }
        Ok((self.edits, self.changes))
    }
}

/// The items of `want` that `current` lacks (compared with `same`), each once, in order.
pub fn missing_items(
    current: &[String],
    want: &[String],
    same: fn(&str, &str) -> bool,
) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for w in want {
        if !current.iter().chain(&missing).any(|c| same(c, w)) {
            missing.push(w.clone());
        }
    }
    missing
}

/// Replace scalar `node` with `raw`: written as is over a plain scalar (so `true` stays a
/// boolean), or as a string in the scalar's own quotes over a quoted one. Returns the edit and
/// the value it declares.
pub fn replace_raw(
    y: &Yaml,
    node: crate::yaml::NodeId,
    raw: &str,
) -> Result<(Edit, Value), String> {
    let n = y.node(node);
    match &n.kind {
        NodeKind::Scalar {
            style: crate::yaml::ScalarStyle::Plain,
            ..
        } if !n.span.is_empty() && n.tag.is_none() => Ok((
            Edit::replace(n.span.clone(), raw),
            NewNode::Raw(raw.to_string()).value(),
        )),
        NodeKind::Scalar { .. } if n.tag.is_none() => Ok((
            ops::replace_scalar(y, node, raw, ops::Quote::Keep)?,
            Value::str(raw),
        )),
        _ => Err("not a plain or quoted scalar".into()),
    }
}

/// Replace a `key: !reset …` list (Compose reads it as absent) with `!override [items]`: the
/// items replace whatever another file or an `extends:` base gives the key, which is what the
/// `!reset` asked for. A `!reset` merged from an anchor is refused: Compose drops the key
/// whatever the service writes.
pub fn replace_reset(
    y: &Yaml,
    s: &crate::compose::Setting,
    key: &str,
    items: &[String],
) -> Result<(Edit, Value), String> {
    if s.origin != Origin::Own || !s.is_local() {
        return Err(format!(
            "`{key}: !reset` comes from a merged anchor or an alias: Compose drops the key whatever the service sets; remove the `!reset` there"
        ));
    }
    let (_, mut value) = list_node(items, true);
    let text = format!(
        "!override [{}]",
        items
            .iter()
            .map(|i| render::auto(i, true))
            .collect::<Vec<_>>()
            .join(", ")
    );
    value.tag = Some("!override".into());
    let edit =
        ops::replace_node(y, s.value, &text).map_err(|w| format!("cannot rewrite `{key}`: {w}"))?;
    Ok((edit, value))
}

/// Insert `keys` (in order) as the last entries of mapping `map` at `path`, as one edit.
pub fn insert_keys(
    y: &Yaml,
    map: crate::yaml::NodeId,
    path: &crate::yaml::Path,
    keys: Vec<(String, NewNode, Value)>,
) -> Result<(Edit, Vec<Change>), String> {
    let mut entries = Vec::with_capacity(keys.len());
    let mut changes = Vec::with_capacity(keys.len());
    for (k, node, value) in keys {
        changes.push(Change::InsertKey(path.clone(), k.clone(), value));
        entries.push((k, node));
    }
    let edit = ops::insert_keys(y, map, &entries)?.ok_or("no key to add")?;
    Ok((edit, changes))
}

/// A host path mounted into a service.
#[derive(Debug, Clone)]
pub struct BindMount {
    /// The volume item node.
    pub node: crate::yaml::NodeId,
    /// Host path as written.
    pub source: String,
    /// Container path.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// The bind mounts of `svc` (short `src:dst[:opts]` items whose source is a path, and long
/// items with `type: bind`).
/// Interpolation is read as Compose reads it (`env`, else the defaults), so
/// `${SOCK:-/var/run/docker.sock}:/var/run/docker.sock` mounts the socket.
pub fn bind_mounts(y: &Yaml, svc: &Service, env: &crate::compose::interp::Env) -> Vec<BindMount> {
    let Some(s) = svc.get(y, "volumes") else {
        return Vec::new();
    };
    if values::is_reset(y, s.value) {
        return Vec::new();
    }
    y.items(s.resolved)
        .unwrap_or(&[])
        .iter()
        .filter_map(|&it| bind_mount(y, y.resolve(it), env))
        .collect()
}

/// The bind mount volume item `it` (aliases followed) describes, if it is one: a short
/// `src:dst[:opts]` item whose source is a path, or a long item with `type: bind`.
/// Interpolation is read as Compose reads it (`env`, else the defaults).
pub fn bind_mount(
    y: &Yaml,
    it: crate::yaml::NodeId,
    env: &crate::compose::interp::Env,
) -> Option<BindMount> {
    if let Some(raw) = y.scalar(it) {
        let evaluated = crate::compose::interp::evaluate(raw, env)
            .ok()
            .and_then(|e| e.known().map(str::to_string));
        let t = evaluated.as_deref().unwrap_or(raw);
        let parts: Vec<&str> = t.split(':').collect();
        if parts.len() < 2 {
            return None;
        }
        let src = parts[0].trim();
        if !(src.starts_with('/')
            || src.starts_with('.')
            || src.starts_with('~')
            || src.starts_with('$'))
        {
            return None;
        }
        let ro = parts
            .get(2)
            .is_some_and(|o| o.split(',').any(|o| o.trim() == "ro"));
        Some(BindMount {
            node: it,
            source: src.to_string(),
            target: parts[1].trim().to_string(),
            read_only: ro,
        })
    } else if y.entries(it).is_some() {
        let get = |k: &str| {
            y.get(it, k)
                .and_then(|n| crate::compose::values::string(y, n, env))
        };
        if get("type").as_deref() != Some("bind") {
            return None;
        }
        let src = get("source")?;
        Some(BindMount {
            node: it,
            source: src,
            target: get("target").unwrap_or_default(),
            read_only: get("read_only").is_some_and(|v| values::parse_bool(v.trim()) == Some(true)),
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_names() {
        assert_eq!(norm_cap("cap_net_raw"), "NET_RAW");
        assert_eq!(norm_cap(" CAP_CHOWN "), "CHOWN");
    }
}
