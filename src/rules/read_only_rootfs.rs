//! `read-only-rootfs`: services run with `read_only: true` and `tmpfs` mounts for the paths
//! they write outside their volumes.

use super::hardening::ServiceEdit;
use super::images::{self, ImageInfo};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::Service;
use crate::yaml::Yaml;
use crate::yaml::{Applicability, Fix};

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

/// The paths `info` says must be volumes that the service mounts nothing at.
fn missing_volumes(y: &Yaml, svc: &Service, info: Option<&ImageInfo>) -> Vec<String> {
    let Some(info) = info else {
        return Vec::new();
    };
    let targets = mount_targets(y, svc);
    info.volumes
        .iter()
        .filter(|v| !targets.iter().any(|t| same_path(t, v)))
        .cloned()
        .collect()
}

/// Container paths of the service's `volumes:` (short `src:dst[:opts]` or `dst`, long `target`).
fn mount_targets(y: &Yaml, svc: &Service) -> Vec<String> {
    let Some(s) = svc.get(y, "volumes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &it in y.items(s.resolved).unwrap_or(&[]) {
        let it = y.resolve(it);
        if let Some(t) = y.scalar(it) {
            let parts: Vec<&str> = t.split(':').collect();
            let target = if parts.len() >= 2 { parts[1] } else { parts[0] };
            out.push(target.trim().to_string());
        } else if let Some(t) = y.get(it, "target").and_then(|n| y.scalar(y.resolve(n))) {
            out.push(t.trim().to_string());
        }
    }
    out
}

impl Rule for ReadOnlyRootfs {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        let use_table = ctx.profile.rules.image_table(ID);
        let flow = ctx.prefers_flow();
        for svc in ctx.services(ID) {
            if ctx.is_true(svc, "read_only") {
                continue;
            }
            let cfg = ctx.profile.service(&svc.name);
            let explicit = cfg.and_then(|c| c.read_only);
            if explicit == Some(false) {
                continue;
            }
            let image = svc.image(y);
            let from_profile = cfg
                .and_then(|c| c.tmpfs.clone())
                .or_else(|| image.and_then(|i| ctx.profile.image(i)?.tmpfs.clone()));
            let info = image.and_then(images::lookup);
            let from_table = info.and_then(|i| i.tmpfs.as_ref().map(|t| (i.family.as_str(), t)));
            let mut finding = Finding {
                rule: ID,
                at: svc.at(y),
                message: format!("service `{}` has a writable root filesystem", svc.name),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            let (paths, note): (Vec<String>, String) = match (from_profile, from_table) {
                (Some(p), _) => (p, "tmpfs paths from the profile".into()),
                (None, Some((family, _)))
                    if (explicit == Some(true) || use_table)
                        && !missing_volumes(y, svc, info).is_empty() =>
                {
                    finding.note = Some(format!(
                        "{family} images write {} and do not declare it a volume: mount a volume \
there first, or `/` read-only stops the service from writing its data",
                        missing_volumes(y, svc, info).join(", ")
                    ));
                    out.push(finding);
                    continue;
                }
                (None, Some((family, t))) if explicit == Some(true) || use_table => (
                    t.iter().map(|s| s.to_string()).collect(),
                    format!(
                        "review: tmpfs paths from the built-in table for {family} images; test \
the service and set `[services.{}] tmpfs` if it writes elsewhere",
                        svc.name
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
                        svc.name
                    ));
                    out.push(finding);
                    continue;
                }
                _ => {
                    finding.note = Some(format!(
                        "image `{}` is not in the built-in table and the profile says nothing: \
find the paths it writes, then set `[services.{}] read-only = true` and `tmpfs = [...]`",
                        image.unwrap_or("(none)"),
                        svc.name
                    ));
                    out.push(finding);
                    continue;
                }
            };
            let plan = (|| {
                let mut edit = ServiceEdit::new(y, svc, flow)?;
                edit.set_scalar("read_only", "true")?;
                edit.ensure_items("tmpfs", &paths, same_path)?;
                edit.finish()
            })();
            match plan {
                Ok((edits, changes)) => {
                    finding.note = Some(note);
                    finding.fix = Some(Fix::new(
                        ID,
                        "Make the root filesystem read-only, with tmpfs for the paths it writes",
                        Applicability::Review,
                        edits,
                        changes,
                        svc.at(y),
                    ));
                }
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
