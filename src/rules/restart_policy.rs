//! `restart-policy`: long-running services have a `restart` policy, so they come back after a
//! crash or a host reboot.

use super::hardening::ServiceEdit;
use super::{Ctx, Finding, Inherit, Rule, RuleMeta, Severity};
use crate::compose::Service;
use crate::yaml::{Applicability, Fix, Yaml};

/// The rule.
pub struct RestartPolicy;

/// The rule id.
pub const ID: &str = "restart-policy";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "long-running service has no `restart` policy",
    why: "Without a restart policy a service that crashes, is OOM-killed or is stopped by a \
daemon restart or host reboot stays down until someone notices: an outage, and for security \
services (a proxy enforcing authentication, a log shipper, a firewall helper) a silent loss of \
protection. `unless-stopped` brings it back unless an operator stopped it on purpose.",
    fix: "Add `restart: unless-stopped` (or the profile's `policy`) after the service's last \
entry. Services that look like one-shot jobs are skipped: another service waits for them with \
`condition: service_completed_successfully`, their name has a word such as `init`, `setup`, \
`migrate`, `seed`, `bootstrap`, `provision` or `job`, or they are scaled to 0. A service with \
`deploy.restart_policy` or any `restart:` value (also `\"no\"`) is left as it is.",
    breaks: "A one-shot job the rule did not recognise (a migration, an initialiser, a test \
runner) is restarted after it exits with `unless-stopped`/`always`, over and over: check each \
service in the diff, and give one-shot jobs `restart: \"no\"` (or `on-failure`) yourself. A \
crash-looping service now loops instead of staying down.",
    applicability: Applicability::Review,
    severity: Severity::Low,
    options: "[rules.restart-policy]\nenabled = true\npolicy = \"unless-stopped\"   # or \
\"always\", \"on-failure\"\n\n[services.NAME]\nignore = [\"restart-policy\"]   # a one-shot job",
    before: "services:\n  api:\n    image: example/api:1.4",
    after: "services:\n  api:\n    image: example/api:1.4\n    restart: unless-stopped",
};

/// Words in a service or container name that mark a one-shot job.
const ONE_SHOT_WORDS: &[&str] = &[
    "init",
    "setup",
    "migrate",
    "migration",
    "migrations",
    "migrator",
    "seed",
    "seeder",
    "bootstrap",
    "provision",
    "provisioner",
    "job",
    "oneshot",
    "installer",
    "createbuckets",
];

/// The words of a name: split at `-`, `_`, `.` and lower-to-upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Why `svc` looks like a one-shot job, if it does.
pub fn one_shot(ctx: &Ctx<'_>, svc: &Service) -> Option<String> {
    let y = ctx.y;
    for name in [Some(svc.name.as_str()), svc.scalar(y, "container_name")]
        .into_iter()
        .flatten()
    {
        if let Some(w) = words(name)
            .into_iter()
            .find(|w| ONE_SHOT_WORDS.contains(&w.as_str()))
        {
            return Some(format!("its name has `{w}`"));
        }
    }
    for other in &ctx.compose.services {
        if other.doc != svc.doc {
            continue;
        }
        let Some(d) = other.get(y, "depends_on") else {
            continue;
        };
        let Some(cond) = y
            .get(d.resolved, &svc.name)
            .and_then(|v| y.get(v, "condition"))
            .and_then(|c| y.scalar(c))
        else {
            continue;
        };
        if cond.trim() == "service_completed_successfully" {
            return Some(format!(
                "`{}` waits for it to complete (`service_completed_successfully`)",
                other.name
            ));
        }
    }
    let zero = |v: Option<&str>| v.is_some_and(|v| v.trim() == "0");
    let replicas = svc
        .get(y, "deploy")
        .and_then(|d| y.get(d.resolved, "replicas"))
        .and_then(|r| y.scalar(r));
    if zero(svc.scalar(y, "scale")) || zero(replicas) {
        return Some("it is scaled to 0".into());
    }
    None
}

fn has_deploy_policy(y: &Yaml, svc: &Service) -> bool {
    svc.get(y, "deploy")
        .is_some_and(|d| y.get(d.resolved, "restart_policy").is_some())
}

impl Rule for RestartPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        let policy = ctx.profile.restart_policy();
        for svc in ctx.services(ID) {
            if svc.get(y, "restart").is_some() || has_deploy_policy(y, svc) {
                continue;
            }
            if one_shot(ctx, svc).is_some() {
                continue;
            }
            let mut finding = Finding {
                file: ctx.file,
                rule: ID,
                at: svc.at(y),
                message: format!("service `{}` has no restart policy", svc.name),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            match ctx.inherits(svc, ID) {
                // The base gets the policy; `extends` passes it on.
                Inherit::FromBase => continue,
                Inherit::Unknown => {
                    finding.note = Some(
                        "it `extends` a service from another file; give that one a restart policy"
                            .into(),
                    );
                    out.push(finding);
                    continue;
                }
                Inherit::No => {}
            }
            let planned = ServiceEdit::new(y, svc, ctx.prefers_flow()).and_then(|mut e| {
                e.set_scalar("restart", policy)?;
                e.finish()
            });
            match planned {
                Ok((edits, changes)) => {
                    finding.fix = Some(Fix::new(
                        ID,
                        format!("Add `restart: {policy}`"),
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
    fn name_words() {
        assert_eq!(words("initContainer"), ["init", "container"]);
        assert_eq!(words("db-migrate_1"), ["db", "migrate", "1"]);
        assert_eq!(words("minio.createbuckets"), ["minio", "createbuckets"]);
        assert_eq!(words("initial"), ["initial"]);
    }
}
