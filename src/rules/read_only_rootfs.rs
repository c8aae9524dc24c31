//! `read-only-rootfs`: services run with `read_only: true` and `tmpfs` mounts for the paths
//! they write outside their volumes.

use super::cap_drop_all::image_label;
use super::hardening;
use super::merged::MergedEdit;
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
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
`[services.NAME] tmpfs` or `[images.\"REPO\"] tmpfs`, else the built-in image table (nginx: \
/tmp, /var/cache/nginx, /var/run; grafana: /tmp; postgres family: /tmp, /var/run/postgresql; \
mysql: /tmp, /var/run/mysqld; mariadb: /tmp, /run/mysqld; redis, mongo: /tmp; prometheus, \
memcached: none). Existing `tmpfs` entries are kept; new ones are appended without duplicates. \
A service whose image is not in the table and whose profile says nothing is reported, not \
edited: find its write paths (run it with `read_only: true` and read the log for `Read-only file \
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
            let from_table = image
                .and_then(hardening::lookup)
                .and_then(|i| i.tmpfs.map(|t| (i.family, t)));
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
