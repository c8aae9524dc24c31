//! `postgres-trust-auth`: a PostgreSQL server lets every client in without a password
//! (`POSTGRES_HOST_AUTH_METHOD: trust`, or `--auth=trust` in `POSTGRES_INITDB_ARGS`).

use super::env_entries::{self, Env};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::{Applicability, Fix};

/// The rule.
pub struct PostgresTrustAuth;

/// The rule id.
pub const ID: &str = "postgres-trust-auth";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "PostgreSQL accepts every connection without a password (`trust` authentication)",
    why: "`POSTGRES_HOST_AUTH_METHOD: trust` makes the official image's entrypoint write \
`host all all all trust` into pg_hba.conf: anyone who can reach port 5432 — every container on \
the same network, and the whole network when the port is published — logs in as any role, \
including the superuser, without a password. The same holds for `--auth=trust` or \
`--auth-host=trust` in `POSTGRES_INITDB_ARGS`. Development stacks set it for convenience \
(the dev-stack hardening guide this tool follows lists it first among the changes for \
production).",
    fix: "Remove `POSTGRES_HOST_AUTH_METHOD: trust`, so the entrypoint uses its default \
(`scram-sha-256` on PostgreSQL 14 and later, `md5` before). Offered only when the service also \
sets `POSTGRES_PASSWORD` or `POSTGRES_PASSWORD_FILE`: without a password the official image \
refuses to initialise a database, so the finding says to set one first (as \
`${POSTGRES_PASSWORD:?set in .env}`, which `compose-harden env` fills) and to give every client \
the same password. `POSTGRES_INITDB_ARGS` with `--auth…=trust` is reported, not edited.",
    breaks: "Clients that connected without a password (or with a wrong one, which trust \
ignores) are refused: give them the server's password (the same variable). The setting only \
takes effect when the data directory is initialised: on an existing database pg_hba.conf \
already holds the `trust` line, so also replace `trust` with `scram-sha-256` in \
`$PGDATA/pg_hba.conf` and run `SELECT pg_reload_conf();` — and make sure every role has a \
password (`ALTER ROLE … PASSWORD …`) before you do.",
    applicability: Applicability::Review,
    severity: Severity::Critical,
    options: "[rules.postgres-trust-auth]\nenabled = true\n\n[services.NAME]\nignore = \
[\"postgres-trust-auth\"]",
    before: "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set in .env}\n      POSTGRES_HOST_AUTH_METHOD: trust",
    after: "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set in .env}",
};

fn has_password(env: &Env) -> bool {
    env.entries.iter().any(|e| {
        matches!(
            e.key.as_str(),
            "POSTGRES_PASSWORD" | "POSTGRES_PASSWORD_FILE"
        ) && e.value.as_deref().is_some_and(|v| !v.trim().is_empty())
    })
}

/// Whether `POSTGRES_INITDB_ARGS` asks initdb for trust authentication.
fn initdb_trust(args: &str) -> bool {
    args.split_whitespace().any(|a| {
        ["--auth=", "--auth-host=", "--auth-local=", "-A"]
            .iter()
            .any(|p| {
                a.strip_prefix(p)
                    .is_some_and(|m| m.trim_start_matches('=') == "trust")
            })
    }) || args
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| matches!(w[0], "-A" | "--auth" | "--auth-host") && w[1] == "trust")
}

impl Rule for PostgresTrustAuth {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        for svc in ctx.services(ID) {
            let Some(env) = env_entries::environment(y, svc) else {
                continue;
            };
            if let Some(e) = env.get("POSTGRES_INITDB_ARGS") {
                if e.value.as_deref().is_some_and(initdb_trust) {
                    out.push(Finding {
                        file: ctx.file,
                        rule: ID,
                        at: y.node(e.node).span.start,
                        message: format!(
                            "service `{}` initialises PostgreSQL with trust authentication (`POSTGRES_INITDB_ARGS`)",
                            svc.name
                        ),
                        severity: Severity::Warning,
                        fix: None,
                        note: Some("remove the `--auth…=trust` option and set a password; on an existing database edit pg_hba.conf (see `compose-harden explain postgres-trust-auth`)".into()),
                    });
                }
            }
            let Some(e) = env.get("POSTGRES_HOST_AUTH_METHOD") else {
                continue;
            };
            if !e
                .value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("trust"))
            {
                continue;
            }
            let mut finding = Finding {
                file: ctx.file,
                rule: ID,
                at: y.node(e.node).span.start,
                message: format!(
                    "service `{}` lets every client in without a password (`POSTGRES_HOST_AUTH_METHOD: trust`)",
                    svc.name
                ),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            if !has_password(&env) {
                finding.note = Some(
                    "no automatic fix: the service sets no POSTGRES_PASSWORD, and without one the image refuses to initialise; add `POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set in .env}`, give its clients the same variable, then remove the trust setting".into(),
                );
                out.push(finding);
                continue;
            }
            match env_entries::remove(y, svc, &env, e) {
                Ok((edit, change)) => {
                    finding.note = Some(
                        "review: clients must now send the server's password; an existing database keeps `trust` in pg_hba.conf until you edit it".into(),
                    );
                    finding.fix = Some(Fix::new(
                        ID,
                        "Remove `POSTGRES_HOST_AUTH_METHOD: trust` (the image's default password authentication applies)",
                        Applicability::Review,
                        vec![edit],
                        vec![change],
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
    fn initdb_args() {
        assert!(initdb_trust("--auth-host=trust --data-checksums"));
        assert!(initdb_trust("-A trust"));
        assert!(initdb_trust("--auth=trust"));
        assert!(!initdb_trust("--auth-host=scram-sha-256"));
        assert!(!initdb_trust("--data-checksums"));
    }
}
