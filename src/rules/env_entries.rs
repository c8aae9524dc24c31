//! A service's `environment:` read as key/value entries, in list form (`- KEY=value`) or
//! mapping form (`KEY: value`, with `<<` merges inside the mapping), knowing which node holds
//! each entry so rules can remove or rewrite it. Used by the rules that look at single
//! variables (`postgres-trust-auth`, `dev-root-token`, `docker-socket`, `network-segmentation`).

use crate::compose::{Origin, Service, Setting};
use crate::yaml::{ops, Change, Edit, NewNode, NodeId, NodeKind, Path, Yaml};

/// How `environment:` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `- KEY=value` items.
    List,
    /// `KEY: value` entries.
    Map,
}

/// One variable of `environment:`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The variable name.
    pub key: String,
    /// Its value (`None` for `- KEY` / `KEY:` without a value, or a non-scalar).
    pub value: Option<String>,
    /// The list item, or the mapping value node.
    pub node: NodeId,
    /// The item index (list form) or entry index (mapping form) in its collection.
    pub index: usize,
    /// The collection (sequence or mapping) that holds the entry.
    pub parent: NodeId,
    /// Whether the entry is written in the service's own `environment:` (not merged from an
    /// anchor with `<<`, not reached through an alias).
    pub own: bool,
}

/// A service's effective `environment:`.
#[derive(Debug, Clone)]
pub struct Env {
    /// The `environment` setting of the service.
    pub setting: Setting,
    /// List or mapping form.
    pub form: Form,
    /// Every variable, own entries first.
    pub entries: Vec<Entry>,
}

impl Env {
    /// The entry named `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Whether the whole `environment:` is the service's own, written in place.
    pub fn is_local(&self) -> bool {
        self.setting.is_local()
    }
}

/// The effective `environment:` of `svc` (`None` when unset, null or not a collection).
pub fn environment(y: &Yaml, svc: &Service) -> Option<Env> {
    let setting = svc.get(y, "environment")?;
    let node = setting.resolved;
    let own_collection = setting.is_local();
    match &y.node(node).kind {
        NodeKind::Seq { items } => {
            let entries = items
                .iter()
                .enumerate()
                .filter_map(|(index, &it)| {
                    let text = y.scalar(it)?;
                    let (k, v) = match text.split_once('=') {
                        Some((k, v)) => (k, Some(v.to_string())),
                        None => (text, None),
                    };
                    Some(Entry {
                        key: k.trim().to_string(),
                        value: v,
                        node: it,
                        index,
                        parent: node,
                        own: own_collection && y.resolve(it) == it,
                    })
                })
                .collect();
            Some(Env {
                setting,
                form: Form::List,
                entries,
            })
        }
        NodeKind::Map { .. } => {
            let mut entries = Vec::new();
            map_entries(y, node, own_collection, &mut entries, 0);
            Some(Env {
                setting,
                form: Form::Map,
                entries,
            })
        }
        _ => None,
    }
}

fn map_entries(y: &Yaml, map: NodeId, own: bool, out: &mut Vec<Entry>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Some(list) = y.entries(map) else { return };
    let mut merged = Vec::new();
    for (index, e) in list.iter().enumerate() {
        let Some(k) = y.scalar(e.key) else { continue };
        if k == "<<" && y.node(e.key).tag.is_none() {
            let v = y.resolve(e.value);
            match &y.node(v).kind {
                NodeKind::Map { .. } => merged.push(v),
                NodeKind::Seq { items } => merged.extend(items.iter().map(|&i| y.resolve(i))),
                _ => {}
            }
            continue;
        }
        if out.iter().any(|o| o.key == k) {
            continue;
        }
        out.push(Entry {
            key: k.to_string(),
            value: y.scalar(e.value).map(str::to_string),
            node: e.value,
            index,
            parent: map,
            own: own && y.resolve(e.value) == e.value,
        });
    }
    for m in merged {
        map_entries(y, m, false, out, depth + 1);
    }
}

/// The edit and declared change that remove `entry` (an own entry) from `env`; the whole
/// `environment:` key goes when it is the only variable.
pub fn remove(y: &Yaml, svc: &Service, env: &Env, entry: &Entry) -> Result<(Edit, Change), String> {
    if !entry.own || !env.is_local() || svc.is_alias {
        return Err("the variable is shared through an anchor or alias; edit it there".into());
    }
    let path = svc.path.key("environment");
    let siblings = match env.form {
        Form::List => y.items(entry.parent).map_or(0, <[_]>::len),
        Form::Map => y.entries(entry.parent).map_or(0, <[_]>::len),
    };
    if siblings == 1 && entry.parent == env.setting.resolved {
        // The only variable: remove `environment:` itself rather than leave it empty (null).
        return Ok((
            ops::remove_entry(y, svc.node, env.setting.index)?,
            Change::Remove(path),
        ));
    }
    match env.form {
        Form::List => Ok((
            ops::remove_item(y, entry.parent, entry.index)?,
            Change::Remove(path.index(entry.index)),
        )),
        Form::Map => Ok((
            ops::remove_entry(y, entry.parent, entry.index)?,
            Change::Remove(path.key(&entry.key)),
        )),
    }
}

/// How a variable is added to a service: an item or entry appended to its own
/// `environment:`, or (when it has none) a new `environment:` mapping that the caller adds as a
/// key together with the service's other new keys.
pub enum Add {
    /// Append this edit with this change.
    Edit(Edit, Change),
    /// Add the key `environment` with this value.
    NewKey(NewNode),
}

/// Plan adding `key=value` to `svc`'s environment (the caller checked `key` is absent).
pub fn add(y: &Yaml, svc: &Service, key: &str, value: &str) -> Result<Add, String> {
    let Some(env) = environment(y, svc) else {
        if svc.get(y, "environment").is_some() {
            return Err("`environment` is empty or not a list or mapping".into());
        }
        return Ok(Add::NewKey(NewNode::Map(vec![(
            key.to_string(),
            NewNode::Str(value.to_string()),
        )])));
    };
    if !env.is_local() || svc.is_alias {
        return Err(match env.setting.origin {
            Origin::Merged { .. } => "`environment` comes from a merged anchor".into(),
            Origin::Own => "`environment` is an alias shared with other services".into(),
        });
    }
    let path: Path = svc.path.key("environment");
    match env.form {
        Form::List => {
            let item = NewNode::Str(format!("{key}={value}"));
            let edit = ops::append_item(y, env.setting.resolved, &item)?;
            Ok(Add::Edit(edit, Change::Append(path, item.value())))
        }
        Form::Map => {
            let v = NewNode::Str(value.to_string());
            let edit = ops::insert_key(y, env.setting.resolved, key, &v)?;
            Ok(Add::Edit(
                edit,
                Change::InsertKey(path, key.to_string(), v.value()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Compose;

    fn load(t: &str) -> (Yaml, Compose) {
        let y = Yaml::parse(t.to_string()).expect("parses");
        let c = Compose::load(&y).expect("compose");
        (y, c)
    }

    #[test]
    fn list_and_map_forms() {
        let (y, c) = load(
            "x: &e {A: 1}\nservices:\n  a:\n    environment:\n      - K=v=w\n      - BARE\n  b:\n    environment:\n      <<: *e\n      B: two\n",
        );
        let a = environment(&y, &c.services[0]).expect("env");
        assert_eq!(a.form, Form::List);
        assert_eq!(a.get("K").and_then(|e| e.value.as_deref()), Some("v=w"));
        assert_eq!(a.get("BARE").map(|e| e.value.is_none()), Some(true));
        let b = environment(&y, &c.services[1]).expect("env");
        assert_eq!(b.form, Form::Map);
        assert!(b.get("B").is_some_and(|e| e.own));
        assert!(b.get("A").is_some_and(|e| !e.own));
    }
}
