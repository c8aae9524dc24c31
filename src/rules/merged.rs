//! Edits to a merged service: each change goes to the file that defines the setting, and a
//! missing setting is added once, in the service's home definition. Per layer the edits are
//! planned with [`ServiceEdit`] (which never touches a shared anchor); [`MergedEdit::finish`]
//! turns them into one fix with a part per file.

use super::hardening::ServiceEdit;
use super::{Ctx, Reach};
use crate::compose::merge::{Def, MergedService};
use crate::compose::Origin;
use crate::yaml::{Applicability, Fix};

/// One file's share of a fix: (file, edits, declared changes).
pub type FilePart = (usize, Vec<crate::yaml::Edit>, Vec<crate::yaml::Change>);

/// Edits to one merged service, planned step by step.
pub struct MergedEdit<'c, 'a> {
    ctx: &'c Ctx<'a>,
    ms: &'c MergedService,
    rule: &'static str,
    parts: Vec<(usize, ServiceEdit<'a>)>,
    flow: Option<bool>,
}

impl<'c, 'a> MergedEdit<'c, 'a> {
    /// Start planning edits to `ms` for rule `rule`.
    pub fn new(ctx: &'c Ctx<'a>, ms: &'c MergedService, rule: &'static str) -> Self {
        MergedEdit {
            ctx,
            ms,
            rule,
            parts: Vec::new(),
            flow: None,
        }
    }

    /// Write new lists in this style (`true`: `[a, b]`) instead of each file's own.
    pub fn with_flow(mut self, flow: bool) -> Self {
        self.flow = Some(flow);
        self
    }

    /// The planned edits of layer `layer` (created on first use). Refuses a layer the rule may
    /// not edit.
    fn part(&mut self, layer: usize) -> Result<&mut ServiceEdit<'a>, String> {
        match self.ctx.reach(self.ms, layer, self.rule) {
            Reach::Here => {}
            Reach::Covered => {
                return Err(format!(
                    "it comes from `{}`, which is hardened on its own",
                    self.ctx.layer(self.ms, layer).1.name
                ))
            }
            Reach::Refused(why) => return Err(why),
        }
        if let Some(i) = self.parts.iter().position(|(l, _)| *l == layer) {
            return Ok(&mut self.parts[i].1);
        }
        let (y, svc) = self.ctx.layer(self.ms, layer);
        let flow = self
            .flow
            .unwrap_or_else(|| self.ctx.prefers_flow_in(self.ms.layers[layer].file));
        let edit = ServiceEdit::new(y, svc, flow)?;
        self.parts.push((layer, edit));
        let n = self.parts.len() - 1;
        Ok(&mut self.parts[n].1)
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|(_, e)| e.is_empty())
    }

    /// The effective list `key` as scalar strings (`None` when unset); an error when an item is
    /// not a scalar.
    pub fn list(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        let Some(e) = self.ms.map.get(key) else {
            return Ok(None);
        };
        let w = e.winner();
        if self.ctx.yaml(w.src.file).is_null(w.src.node) {
            return Err(format!("`{key}` is empty (null)"));
        }
        if e.value.scalar().is_some() || e.value.map().is_some() {
            return Err(format!("`{key}` is not a list"));
        }
        e.value
            .items()
            .iter()
            .map(|i| {
                self.ctx
                    .text(i)
                    .ok_or_else(|| format!("`{key}` holds a non-scalar item"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Check that a new key `key` added to the home definition takes effect (no later
    /// definition drops it with `!reset`).
    fn check_not_reset(&self, key: &str) -> Result<(), String> {
        match self.ms.map.reset_of(key) {
            Some(r) if r.layer > self.ms.home => Err(format!(
                "`{key}` is dropped with `!reset` in {}; set it there",
                self.ctx.display(r.file)
            )),
            _ => Ok(()),
        }
    }

    /// Make the merged list `key` hold every item of `want` (compared with `same`): append the
    /// missing ones to a list that survives the merge (the home definition's when it has one,
    /// else the last own definition's), or add the key to the home definition. Returns the
    /// items added.
    pub fn ensure_items(
        &mut self,
        key: &str,
        want: &[String],
        same: fn(&str, &str) -> bool,
    ) -> Result<Vec<String>, String> {
        let current = self.list(key)?.unwrap_or_default();
        let missing = super::hardening::missing_items(&current, want, same);
        if missing.is_empty() {
            return Ok(missing);
        }
        let home = self.ms.home;
        let target = match self.ms.map.get(key) {
            Some(e) => {
                let own: Vec<usize> = e
                    .defs
                    .iter()
                    .map(|d| d.src.layer)
                    .filter(|&l| self.ms.layers[l].own)
                    .collect();
                if own.contains(&home) {
                    home
                } else if let Some(&last) = own.last() {
                    last
                } else {
                    // Only a base sets it: a list in the home definition is appended to it.
                    home
                }
            }
            // Dropped with `!reset` in an own definition at or after the home one: that
            // definition's list is replaced with `!override [items]`.
            None => match self.ms.map.reset_of(key) {
                Some(r) if r.layer >= home && self.ms.layers[r.layer].own => r.layer,
                _ => {
                    self.check_not_reset(key)?;
                    home
                }
            },
        };
        self.part(target)?.ensure_items(key, &missing, same)?;
        Ok(missing)
    }

    /// Set the scalar `key` to `raw` (written as is) where the winning definition sets it, or
    /// add it to the home definition (which overrides a base's value).
    pub fn set_scalar(&mut self, key: &str, raw: &str) -> Result<(), String> {
        let home = self.ms.home;
        let layer = match self.ms.map.get(key) {
            Some(e) if self.ms.layers[e.winner().src.layer].own => e.winner().src.layer,
            Some(_) => home,
            None => {
                self.check_not_reset(key)?;
                home
            }
        };
        self.part(layer)?.set_scalar(key, raw)
    }

    /// The layers whose definitions make the merged flag `key` true (those after its last
    /// non-true definition), each with whether this rule may edit it.
    pub fn flag_defs(&self, key: &str) -> Vec<(Def, Reach)> {
        let Some(e) = self.ms.map.get(key) else {
            return Vec::new();
        };
        let true_at = |d: &Def| {
            crate::compose::values::is_true(self.ctx.yaml(d.src.file), d.src.node, &self.ctx.env)
        };
        let start = e
            .defs
            .iter()
            .rposition(|d| !true_at(d))
            .map_or(0, |i| i + 1);
        e.defs[start..]
            .iter()
            .map(|d| (*d, self.ctx.reach(self.ms, d.src.layer, self.rule)))
            .collect()
    }

    /// Make the merged flag `key` not `true`: remove each definition that sets it `true` where
    /// it is (one merged from an anchor gets a local `key: false`); a definition this rule may
    /// not edit (a base other services extend) is overridden with `key: false` in the home
    /// definition. Definitions another project service owns are left to its own fix.
    pub fn unset_flag(&mut self, key: &str) -> Result<(), String> {
        let defs = self.flag_defs(key);
        let home = self.ms.home;
        let override_home = defs.iter().any(|(_, r)| matches!(r, Reach::Refused(_)));
        let mut done_home = false;
        for (d, r) in &defs {
            if *r != Reach::Here {
                continue;
            }
            let layer = d.src.layer;
            if override_home && layer == home {
                self.part(home)?.set_scalar(key, "false")?;
                done_home = true;
                continue;
            }
            let (y, svc) = self.ctx.layer(self.ms, layer);
            let setting = svc
                .get(y, key)
                .ok_or_else(|| format!("`{key}` not found"))?;
            let part = self.part(layer)?;
            match setting.origin {
                Origin::Own if setting.is_local() => part.remove_own(key)?,
                Origin::Own => return Err(format!("`{key}` is an alias; no automatic fix")),
                // Merged from an anchor: override locally, leave the anchor alone.
                Origin::Merged { .. } => part.set_scalar(key, "false")?,
            }
        }
        if override_home && !done_home {
            self.part(home)?.set_scalar(key, "false")?;
        }
        Ok(())
    }

    /// The fix: one part per file edited (the first part is the one in the home definition's
    /// file when it has edits). `at` is the byte offset in file `file` the fix is about.
    pub fn finish(
        self,
        title: impl Into<String>,
        applicability: Applicability,
        file: usize,
        at: usize,
    ) -> Result<Option<Fix>, String> {
        let title = title.into();
        let mut per_file: Vec<FilePart> = Vec::new();
        for (layer, edit) in self.parts {
            if edit.is_empty() {
                continue;
            }
            let f = self.ms.layers[layer].file;
            let (edits, changes) = edit.finish()?;
            per_file.push((f, edits, changes));
        }
        Ok(fix_from_parts(
            self.rule,
            &title,
            applicability,
            file,
            at,
            per_file,
        ))
    }
}

/// One fix from edits in several files: (file, edits, changes) per file, merged per file, the
/// part in `file` (where the finding is, at `at`) first.
pub fn fix_from_parts(
    rule: &'static str,
    title: &str,
    applicability: Applicability,
    file: usize,
    at: usize,
    parts: Vec<FilePart>,
) -> Option<Fix> {
    let mut per_file: Vec<FilePart> = Vec::new();
    for (f, edits, changes) in parts {
        if edits.is_empty() {
            continue;
        }
        match per_file.iter_mut().find(|(x, _, _)| *x == f) {
            Some((_, e, c)) => {
                e.extend(edits);
                c.extend(changes);
            }
            None => per_file.push((f, edits, changes)),
        }
    }
    if let Some(i) = per_file.iter().position(|(f, _, _)| *f == file) {
        let p = per_file.remove(i);
        per_file.insert(0, p);
    }
    let mut fixes = per_file.into_iter().map(|(f, edits, changes)| {
        let here = if f == file {
            at
        } else {
            edits.first().map_or(0, |e| e.range.start)
        };
        Fix::new(rule, title.to_string(), applicability, edits, changes, here).in_file(f)
    });
    let mut first = fixes.next()?;
    for p in fixes {
        first = first.with_part(p);
    }
    Some(first)
}

/// Whether `ms` listens on (publishes or exposes) a container port below 1024, or declares no
/// port at all (so it keeps its image default, e.g. nginx on 80), over its merged `ports` and
/// `expose`.
pub fn listens_low(ctx: &Ctx<'_>, ms: &MergedService) -> bool {
    let ports: Vec<Option<u32>> = ["ports", "expose"]
        .iter()
        .flat_map(|key| ctx.items(ms, key))
        .filter_map(|it| super::hardening::container_port(ctx.yaml(it.src.file), it.src.node))
        .collect();
    ports.is_empty() || ports.iter().any(|p| p.is_none_or(|p| p < 1024))
}

/// A host path mounted into a merged service.
#[derive(Debug, Clone)]
pub struct BindMount {
    /// The volume item (file and node).
    pub src: crate::compose::merge::Src,
    /// Host path as Compose reads it.
    pub source: String,
    /// Container path.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// The bind mounts of `ms` over its merged `volumes` (as [`hardening::bind_mount`] reads each
/// item, interpolated with [`Ctx::env`]).
pub fn bind_mounts(ctx: &Ctx<'_>, ms: &MergedService) -> Vec<BindMount> {
    ctx.items(ms, "volumes")
        .iter()
        .filter_map(|it| {
            let m = super::hardening::bind_mount(ctx.yaml(it.src.file), it.src.node, &ctx.env)?;
            Some(BindMount {
                src: it.src,
                source: m.source,
                target: m.target,
                read_only: m.read_only,
            })
        })
        .collect()
}
