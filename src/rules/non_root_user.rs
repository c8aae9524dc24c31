//! `non-root-user`: services whose image starts as root but works with a non-root `user:`
//! get that user; services that set `user: root` are reported.

use std::sync::OnceLock;

use serde::Deserialize;

use super::hardening::{self, ServiceEdit};
use super::{Ctx, Finding, Inherit, Rule, RuleMeta, Severity};
use crate::yaml::{Applicability, Fix};

/// The rule.
pub struct NonRootUser;

/// The rule id.
pub const ID: &str = "non-root-user";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service starts as root although its image supports a non-root `user:`",
    why: "A process that runs as root inside the container is root on the host for every \
kernel interface the container can reach and for every file a volume or bind mount exposes; \
a container escape then lands as host root. Official database images start as root only to \
fix the ownership of their data directory and then drop to their own user; with `user:` set \
they skip that step and never hold root. A service that sets `user: root` (or `0`) chooses \
root on purpose and is reported too.",
    fix: "Add `user:` with the image's own unprivileged user, from the image knowledge in \
`data/image-users.toml` (postgres, postgis, timescaledb: `postgres`; mysql, mariadb: `mysql`; \
redis, valkey: `redis`; mongo: `mongodb`). Refused (reported) when a data directory of the \
image is a bind mount (the host directory must first be owned by that user), when the image \
is a derivative of a known family whose entrypoint may need root, or for `user: root`.",
    breaks: "The process can no longer fix the ownership of its data directory: a data \
directory owned by root or by another uid (a bind mount, a volume restored from elsewhere, \
an init script that writes as root) makes the service fail to start with a permission error. \
Named volumes created by the image keep working. Entrypoint steps that need root (installing \
packages, editing /etc) fail.",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options: "[rules.non-root-user]\nenabled = true\n\n[services.NAME]\nignore = \
[\"non-root-user\"]",
    before: "services:\n  cache:\n    image: redis:7.4\n    volumes:\n      - cache:/data",
    after: "services:\n  cache:\n    image: redis:7.4\n    volumes:\n      - cache:/data\n    user: redis",
};

/// One entry of `data/image-users.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageUser {
    /// The built-in image table's family name.
    pub family: String,
    /// What the image's process starts as.
    pub default_user: String,
    /// The non-root `user:` to set (absent: already non-root, or not supported).
    pub user: Option<String>,
    /// Repositories whose entrypoint is known to work with `user:`.
    pub repositories: Vec<String>,
    /// Container paths the process must own.
    pub data: Vec<String>,
    /// Where the behaviour is documented.
    pub source: String,
}

#[derive(Deserialize)]
struct File {
    image: Vec<ImageUser>,
}

/// The entries of `data/image-users.toml`.
pub fn table() -> &'static [ImageUser] {
    static T: OnceLock<Vec<ImageUser>> = OnceLock::new();
    T.get_or_init(|| {
        let f: File = toml::from_str(include_str!("../../data/image-users.toml"))
            .expect("data/image-users.toml is valid (checked by a unit test)");
        f.image
    })
}

fn is_root(user: &str) -> bool {
    let u = user.trim();
    let name = u.split(':').next().unwrap_or(u);
    matches!(name, "root" | "0")
}

impl Rule for NonRootUser {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        for svc in ctx.services(ID) {
            if let Some(u) = svc.scalar(y, "user") {
                if is_root(u) {
                    out.push(Finding {
                        file: ctx.file,
                        rule: ID,
                        at: svc.get(y, "user").map_or(svc.at(y), |s| y.node(s.value).span.start),
                        message: format!("service `{}` runs as root (`user: {}`)", svc.name, u.trim()),
                        severity: Severity::Warning,
                        fix: None,
                        note: Some("remove it or set the image's own user if the service works without root".into()),
                    });
                }
                continue;
            }
            if svc.get(y, "user").is_some() {
                continue;
            }
            let Some(image) = svc.image(y) else { continue };
            let Some(info) = hardening::lookup(image) else {
                continue;
            };
            let Some(entry) = table().iter().find(|e| e.family == info.family) else {
                continue;
            };
            let Some(user) = entry.user.as_deref() else {
                continue;
            };
            let mut finding = Finding {
                file: ctx.file,
                rule: ID,
                at: svc.at(y),
                message: format!(
                    "service `{}` starts as root; its image supports `user: {user}`",
                    svc.name
                ),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            match ctx.inherits(svc, ID) {
                Inherit::FromBase => continue,
                Inherit::Unknown => {
                    finding.note =
                        Some("it `extends` a service from another file; set `user:` there".into());
                    out.push(finding);
                    continue;
                }
                Inherit::No => {}
            }
            let repo = crate::compose::image::repository(image);
            if !entry.repositories.contains(&repo) {
                finding.message = format!(
                    "service `{}` may start as root; {} images support `user: {user}`",
                    svc.name, info.family
                );
                finding.note = Some(format!(
                    "`{repo}` is derived from the {} image; its entrypoint may need root: test `user: {user}` before setting it",
                    info.family
                ));
                out.push(finding);
                continue;
            }
            if let Some(m) = hardening::bind_mounts(y, svc, &ctx.env)
                .into_iter()
                .find(|m| {
                    let t = m.target.trim_end_matches('/');
                    entry.data.iter().any(|d| d == t)
                })
            {
                finding.note = Some(format!(
                    "the data directory {} is the bind mount `{}`: chown it on the host to the uid of `{user}` (`docker run --rm {image} id {user}` prints it), then set `user: {user}`",
                    m.target, m.source
                ));
                out.push(finding);
                continue;
            }
            let planned = ServiceEdit::new(y, svc, ctx.prefers_flow()).and_then(|mut e| {
                e.set_scalar("user", user)?;
                e.finish()
            });
            match planned {
                Ok((edits, changes)) => {
                    finding.note = Some(format!(
                        "review: the data directory must be owned by `{user}` (named volumes the image created are)"
                    ));
                    finding.fix = Some(Fix::new(
                        ID,
                        format!("Run as the image's own user (`user: {user}`)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_names_known_families() {
        let t = table();
        assert!(!t.is_empty());
        for e in t {
            assert!(
                super::super::images::table()
                    .iter()
                    .any(|i| i.family == e.family),
                "{} is not a family of the image table",
                e.family
            );
            assert!(!e.source.trim().is_empty(), "{}: no source", e.family);
            assert!(!e.default_user.trim().is_empty(), "{}", e.family);
            if e.user.is_some() {
                assert!(!e.repositories.is_empty(), "{}: no repository", e.family);
            }
        }
        assert!(is_root("0:0") && is_root("root") && !is_root("1000"));
    }
}
