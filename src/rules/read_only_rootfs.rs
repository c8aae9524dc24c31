//! `read-only-rootfs`: services run with `read_only: true` and `tmpfs` mounts for the paths
//! they write outside their volumes.

use super::cap_drop_all::image_label;
use super::images::{self, ImageInfo};
use super::merged::MergedEdit;
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::compose::merge::MergedService;
use crate::yaml::Applicability;

/// The rule.
pub struct ReadOnlyRootfs;

const ID: &str = "read-only-rootfs";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service has a writable root filesystem (`read_only` not set)",
    why: "With a writable root filesystem, an attacker who gets code execution can drop tools, \
modify binaries and configuration, and persist until the container is recreated. \
`read_only: true` makes the image immutable; the few paths the process writes go to `tmpfs` \
mounts (memory, wiped on restart) or volumes (the OpenBMP hardening checklist, §5.3).",
    fix: "Set `read_only: true` (replacing `read_only: false`, or a local key when the setting \
comes from a merged anchor) and add the `tmpfs` paths the service needs: the profile's \
`[services.NAME] tmpfs` or `[images.\"REPO\"] tmpfs`, else the built-in image table \
(data/images.toml, rendered in docs/images.md; e.g. nginx: /tmp, /var/cache/nginx, /var/run; \
postgres family: /tmp, /var/run/postgresql; prometheus, memcached: none). Existing `tmpfs` \
entries are kept; new ones are appended without duplicates. A table image that writes a path \
it does not declare as a volume (grafana: /var/lib/grafana) is edited only when the service \
mounts something there. A service whose image is not in the table (or whose entry does not \
know its write paths) and whose profile says nothing is reported, not edited: find its write paths (run it with `read_only: true` and read the log for `Read-only file \
system`, or `docker diff CONTAINER` on a running one), then set `[services.NAME] read-only = true` \
and `tmpfs = [...]`.",
    breaks: "Anything that writes outside the listed tmpfs paths and its volumes: pid files, \
caches, generated configuration (entrypoints that template config files into /etc), package \
installs at start. Test each service individually.",
    applicability: Applicability::Review,
    severity: Severity::Low,
    options: "[rules.read-only-rootfs]\nenabled = true\nimage-table = true   # edit services whose \
image is in the built-in table without a profile entry\n\n[services.NAME]\nread-only = true   # \
or false: never\ntmpfs = [\"/tmp\", \"/var/run\"]\n\n[images.\"openbmp/whois\"]\ntmpfs = \
[\"/tmp\"]",
    before: "services:\n  web:\n    image: nginx:1.27",
    after: "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n    tmpfs:\n      - /tmp\n      - /var/cache/nginx\n      - /var/run",
};

fn same_path(a: &str, b: &str) -> bool {
    let p = |s: &str| {
        let s = s.split(':').next().unwrap_or(s).trim();
        let t = s.trim_end_matches('/');
        if t.is_empty() { s } else { t }.to_string()
    };
    p(a) == p(b)
}

/// The paths `info` says must be volumes that the merged service mounts nothing at.
fn missing_volumes(ctx: &Ctx<'_>, ms: &MergedService, info: Option<&ImageInfo>) -> Vec<String> {
    let Some(info) = info else {
        return Vec::new();
    };
    let targets = mount_targets(ctx, ms);
    info.volumes
        .iter()
        .filter(|v| !targets.iter().any(|t| same_path(t, v)))
        .cloned()
        .collect()
}

/// Container paths of the merged `volumes:` (short `src:dst[:opts]` or `dst`, long `target`).
fn mount_targets(ctx: &Ctx<'_>, ms: &MergedService) -> Vec<String> {
    let mut out = Vec::new();
    for it in ctx.items(ms, "volumes") {
        let y = ctx.yaml(it.src.file);
        let n = it.src.node;
        if let Some(t) = y.scalar(n) {
            let parts: Vec<&str> = t.split(':').collect();
            let target = if parts.len() >= 2 { parts[1] } else { parts[0] };
            out.push(target.trim().to_string());
        } else if let Some(t) = y.get(n, "target").and_then(|v| y.scalar(y.resolve(v))) {
            out.push(t.trim().to_string());
        }
    }
    out
}

impl Rule for ReadOnlyRootfs {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let use_table = ctx.profile.rules.image_table(ID);
        for ms in ctx.merged(ID) {
            let read_only = ctx.scalar(ms, "read_only");
            if ctx.is_true_in(ms, "read_only").is_some() {
                continue;
            }
            let cfg = ctx.profile.service(&ms.name);
            let explicit = cfg.and_then(|c| c.read_only);
            if explicit == Some(false) {
                continue;
            }
            if read_only.is_some_and(|(_, src)| ctx.reach(ms, src.layer, ID) == Reach::Covered)
                || (read_only.is_none()
                    && ctx.inherits_from(ms, ID, &["read_only", "tmpfs"]).is_some())
            {
                // The service it extends gets `read_only` (and its tmpfs); Compose merges them.
                continue;
            }
            let image = ctx.image(ms).map(|(i, _)| i);
            let from_profile = cfg
                .and_then(|c| c.tmpfs.clone())
                .or_else(|| image.and_then(|i| ctx.profile.image(i)?.tmpfs.clone()));
            let info = image.and_then(images::lookup);
            let from_table = info.and_then(|i| i.tmpfs.as_ref().map(|t| (i.family.as_str(), t)));
            let message = format!("service `{}` has a writable root filesystem", ms.name);
            // A `read_only: false` is the weak definition; without one, the service's own.
            let mut finding = match read_only {
                Some((_, src)) if ctx.reach(ms, src.layer, ID) == Reach::Here => {
                    ctx.finding_at(ID, src, Severity::Warning, message)
                }
                _ => ctx.finding(ID, ms, Severity::Warning, message),
            };
            if let Some(why) = ctx.unseen(ms) {
                // Its image and what it writes may come from what cannot be seen: no guess.
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            let (paths, note): (Vec<String>, String) = match (from_profile, from_table) {
                (Some(p), _) => (p, "tmpfs paths from the profile".into()),
                (None, Some((family, _)))
                    if (explicit == Some(true) || use_table)
                        && !missing_volumes(ctx, ms, info).is_empty() =>
                {
                    finding.note = Some(format!(
                        "{family} images write {} and do not declare it a volume: mount a volume \
there first, or `/` read-only stops the service from writing its data",
                        missing_volumes(ctx, ms, info).join(", ")
                    ));
                    out.push(finding);
                    continue;
                }
                (None, Some((family, t))) if explicit == Some(true) || use_table => (
                    t.iter().map(|s| s.to_string()).collect(),
                    format!(
                        "review: tmpfs paths from the built-in table for {family} images; test \
the service and set `[services.{}] tmpfs` if it writes elsewhere",
                        ms.name
                    ),
                ),
                (None, _) if explicit == Some(true) => (
                    Vec::new(),
                    "`read-only = true` in the profile without tmpfs paths".into(),
                ),
                _ if !use_table => {
                    finding.note = Some(format!(
                        "the profile does not list it (`image-table = false`): set \
`[services.{}] read-only = true` and `tmpfs = [...]`, or `read-only = false` to accept it",
                        ms.name
                    ));
                    out.push(finding);
                    continue;
                }
                _ => {
                    finding.note = Some(format!(
                        "image {} is not in the built-in table and the profile says nothing: \
find the paths it writes, then set `[services.{}] read-only = true` and `tmpfs = [...]`",
                        image_label(ctx, ms, finding.file)
                            .as_deref()
                            .unwrap_or("`(none)`"),
                        ms.name
                    ));
                    out.push(finding);
                    continue;
                }
            };
            let mut edit = MergedEdit::new(ctx, ms, ID);
            let plan = edit
                .set_scalar("read_only", "true")
                .and_then(|()| edit.ensure_items("tmpfs", &paths, same_path))
                .and_then(|_| {
                    edit.finish(
                        "Make the root filesystem read-only, with tmpfs for the paths it writes",
                        Applicability::Review,
                        finding.file,
                        finding.at,
                    )
                });
            match plan {
                Ok(fix) => {
                    finding.note = Some(note);
                    finding.fix = fix;
                }
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
