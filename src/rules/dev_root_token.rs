//! `dev-root-token`: a Vault (or OpenBao) server runs in dev mode or with a fixed dev root
//! token, or a client holds that root token.

use super::env_entries::{self, Env};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::Service;
use crate::yaml::{Applicability, Fix, Yaml};

/// The rule.
pub struct DevRootToken;

/// The rule id.
pub const ID: &str = "dev-root-token";

/// Variables that fix the dev server's root token.
const TOKEN_VARS: &[&str] = &["VAULT_DEV_ROOT_TOKEN_ID", "BAO_DEV_ROOT_TOKEN_ID"];
/// Variables through which clients pass a token.
const CLIENT_VARS: &[&str] = &["VAULT_TOKEN", "BAO_TOKEN"];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "Vault/OpenBao runs in dev mode or with a fixed dev root token",
    why: "`vault server -dev` (the default command of the official `hashicorp/vault` image) \
keeps all secrets in memory, starts unsealed, listens without TLS and creates a root token \
with unlimited rights; `VAULT_DEV_ROOT_TOKEN_ID` writes that root token into the Compose \
file, where everyone who can read the repository (or `docker inspect`) finds it. Clients that \
are given the root token (`VAULT_TOKEN: root`) can read and change every secret and policy. \
The dev-stack hardening guide this tool follows puts \"remove the root token from service \
configurations\" first on its production checklist.",
    fix: "Dev mode and clients holding the root token are reported, not edited: leaving dev \
mode needs a configuration file with a storage backend, `vault operator init` and unsealing, \
and clients need their own scoped credentials (AppRole, a token with a policy) — no single \
edit of the Compose file does that. The one edit that is always correct is offered: a \
`VAULT_DEV_ROOT_TOKEN_ID` (or `BAO_DEV_ROOT_TOKEN_ID`) on a server that does not run in dev \
mode is never read, so it is removed (with its token value).",
    breaks: "Removing the unused dev-token variable changes nothing for the server. Nothing \
else is edited; when you leave dev mode, every client that used the root token needs a new \
token, and secrets written to the dev server (in memory) are gone.",
    applicability: Applicability::Safe,
    severity: Severity::High,
    options: "[rules.dev-root-token]\nenabled = true\n\n[services.NAME]\nignore = \
[\"dev-root-token\"]",
    before: "services:\n  vault:\n    image: hashicorp/vault:1.17\n    command: server -config=/vault/config\n    environment:\n      VAULT_DEV_ROOT_TOKEN_ID: root",
    after: "services:\n  vault:\n    image: hashicorp/vault:1.17\n    command: server -config=/vault/config",
};

fn is_vault_image(image: Option<&str>) -> bool {
    image.is_some_and(|i| {
        let repo = crate::compose::image::repository_any_registry(i);
        let last = repo.rsplit('/').next().unwrap_or(&repo);
        matches!(last, "vault" | "openbao")
    })
}

/// The words of the service's `command:` (`None` when unset or not a string or list).
fn command_words(y: &Yaml, svc: &Service) -> Option<Vec<String>> {
    let c = svc.get(y, "command")?;
    if let Some(s) = y.scalar(c.resolved) {
        return Some(s.split_whitespace().map(str::to_string).collect());
    }
    y.items(c.resolved).map(|items| {
        items
            .iter()
            .filter_map(|&i| y.scalar(i))
            .flat_map(|s| s.split_whitespace().map(str::to_string))
            .collect()
    })
}

/// Whether the server runs in dev mode (`Some(why)`), is known not to (`None` with
/// `known = true`), or cannot be told.
fn dev_mode(y: &Yaml, svc: &Service, env: Option<&Env>) -> (Option<String>, bool) {
    let vault = is_vault_image(svc.image(y));
    match command_words(y, svc) {
        Some(words) => {
            if let Some(w) = words.iter().find(|w| {
                matches!(w.as_str(), "-dev" | "--dev")
                    || w.starts_with("-dev-")
                    || w.starts_with("--dev-")
                    || w.starts_with("-dev=")
            }) {
                return (Some(format!("its command has `{w}`")), true);
            }
            let server = words.iter().any(|w| w == "server");
            (None, server && (vault || env.is_some()))
        }
        None => {
            if vault && svc.get(y, "entrypoint").is_none() {
                (
                    Some("the image's default command is `server -dev`".into()),
                    true,
                )
            } else {
                (None, false)
            }
        }
    }
}

impl Rule for DevRootToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        // Root-token values the file fixes: (value, server) — to recognise clients that hold it.
        let mut tokens: Vec<(String, String)> = Vec::new();
        for svc in &ctx.compose.services {
            if let Some(env) = env_entries::environment(y, svc) {
                for k in TOKEN_VARS {
                    if let Some(v) = env.get(k).and_then(|e| e.value.clone()) {
                        if !v.trim().is_empty() {
                            tokens.push((v, svc.name.clone()));
                        }
                    }
                }
            }
        }
        for svc in ctx.services(ID) {
            let env = env_entries::environment(y, svc);
            let token_entry = env
                .as_ref()
                .and_then(|e| TOKEN_VARS.iter().find_map(|k| e.get(k)));
            let server = is_vault_image(svc.image(y)) || token_entry.is_some();
            if server {
                let (dev, known) = dev_mode(y, svc, env.as_ref());
                if let Some(why) = dev {
                    out.push(Finding {
                        file: ctx.file,
                        rule: ID,
                        at: svc.at(y),
                        message: format!(
                            "service `{}` runs Vault in dev mode ({why}): in-memory storage, unsealed, a root token{}",
                            svc.name,
                            if token_entry.is_some() { " fixed in the file" } else { "" }
                        ),
                        severity: Severity::Warning,
                        fix: None,
                        note: Some("run `server -config=…` with a storage backend, initialise and unseal it, and give clients scoped tokens (AppRole); see `compose-harden explain dev-root-token`".into()),
                    });
                } else if let (Some(env), Some(e)) = (env.as_ref(), token_entry) {
                    let mut finding = Finding {
                        file: ctx.file,
                        rule: ID,
                        at: y.node(e.node).span.start,
                        message: format!(
                            "service `{}` sets `{}`, which only a dev-mode server reads",
                            svc.name, e.key
                        ),
                        severity: Severity::Warning,
                        fix: None,
                        note: None,
                    };
                    if !known {
                        finding.note = Some(
                            "the server's command is not visible (custom entrypoint or none): if it runs `server -dev`, leave dev mode; otherwise remove the variable".into(),
                        );
                    } else {
                        match env_entries::remove(y, svc, env, e) {
                            Ok((edit, change)) => {
                                finding.fix = Some(Fix::new(
                                    ID,
                                    format!("Remove the unused `{}`", e.key),
                                    Applicability::Safe,
                                    vec![edit],
                                    vec![change],
                                    svc.at(y),
                                ))
                            }
                            Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                        }
                    }
                    out.push(finding);
                }
            }
            let Some(env) = env.as_ref() else { continue };
            for k in CLIENT_VARS {
                let Some(e) = env.get(k) else { continue };
                let Some(v) = e.value.as_deref().map(str::trim) else {
                    continue;
                };
                let holder = tokens
                    .iter()
                    .find(|(t, _)| t == v)
                    .map(|(_, s)| format!("the dev root token of `{s}`"))
                    .or_else(|| (v == "root").then(|| "the dev root token `root`".to_string()))
                    .or_else(|| {
                        TOKEN_VARS
                            .iter()
                            .any(|t| v.contains(&format!("${{{t}")) || v == format!("${t}"))
                            .then(|| "the dev root token".to_string())
                    });
                if let Some(what) = holder {
                    out.push(Finding {
                        file: ctx.file,
                        rule: ID,
                        at: y.node(e.node).span.start,
                        message: format!("service `{}` uses {what} (`{}`)", svc.name, e.key),
                        severity: Severity::Warning,
                        fix: None,
                        note: Some("give the service its own token with a least-privilege policy (AppRole); a root token can read and change everything".into()),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_images() {
        assert!(is_vault_image(Some("hashicorp/vault:1.17")));
        assert!(is_vault_image(Some("quay.io/openbao/openbao:2")));
        assert!(is_vault_image(Some("vault")));
        assert!(!is_vault_image(Some("vaultwarden/server:1.32")));
    }
}
