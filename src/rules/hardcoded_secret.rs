//! `hardcoded-secret`: credentials written into `environment:` become required variables
//! (`${VAR:?set in .env}`) whose values live in `.env` (see `compose-harden env`).
//!
//! Naming needs the whole file: occurrences are grouped by (key, literal) first, then every
//! occurrence gets its own finding and fix. [`plan`] exposes the variables the fixes introduce,
//! so `env` writes exactly what the hardened file needs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::profile::HardcodedSecretOptions;
use crate::secrets::classify::{self, SecretValue};
use crate::secrets::generate::Format;
use crate::yaml::{ops, Applicability, Change, Fix, NodeId, NodeKind, Value, Yaml};

/// The rule.
pub struct HardcodedSecret;

/// The rule id.
pub const ID: &str = "hardcoded-secret";

/// The default text after `:?`.
pub const DEFAULT_MESSAGE: &str = "set in .env";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "credential written into the Compose file (environment literal, URL or connection-string password)",
    why: "A password, token or key in the Compose file is in every copy, backup and git history \
of it, and is usually a shared default (`openbmp`, `changeme`). `${VAR:-default}` is no better: \
the default is the secret. Moving the value to a git-ignored `.env` and referencing it with \
`${VAR:?…}` keeps it out of the file and makes the stack fail fast when it is missing (the OpenBMP \
hardening checklist, Priority 0).",
    fix: "Replace the literal with `${VAR:?set in .env}` (list form `- KEY=${VAR:?…}`, map form \
keeps its quoting). In URLs and connection strings only the password becomes a variable. \
Services using the same key with the same literal share one variable; the same key with \
different literals gets `<SERVICE>_<KEY>`; a default (`${VAR:-x}`) keeps its variable name. \
A literal in an anchor is edited once, at the anchor. Run `compose-harden env` to write the \
`.env` (random values, mode 0600; `--keep-values` moves the current literals instead).",
    breaks: "The stack no longer starts without the `.env` (by design). New random values for \
init-only variables (`POSTGRES_PASSWORD`, `DOCKER_INFLUXDB_INIT_*`, …) do not change an \
existing database: `env` and `diff` print the rotation steps. Different keys that held the \
same literal get different values unless a `link` group joins them (`check` reports them).",
    applicability: Applicability::Review,
    severity: Severity::High,
    options: "[rules.hardcoded-secret]\nenabled = true\nextra-keys = [\"PIN\", \"*_AUTH\"]     # more credential key patterns\n\
ignore-keys = [\"BUILD_TOKEN\"]          # keys never reported\n\
ignore-values = [\"dev-only\"]           # reported, never fixed\n\
message = \"set in .env\"                # text after `:?` (no `$`)\n\
link = [[\"POSTGRES_PASSWORD\", \"DB_PASS\"]]   # keys that must share a variable\n\n\
[rules.hardcoded-secret.vars.POSTGRES_PASSWORD]\nname = \"PG_PASSWORD\"   # rename the variable\nformat = \"alnum:40\"    # base64 | hex | alnum | alnum:N",
    before: "services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=openbmp",
    after: "services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=${POSTGRES_PASSWORD:?set in .env}",
};

/// A variable the rule's fixes introduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The variable name.
    pub var: String,
    /// The environment key of its first use.
    pub key: String,
    /// The value Compose sees today (`$$` unescaped), for `env --keep-values`.
    pub literal: String,
    /// The format of a generated value.
    pub format: Format,
    /// Services that see it (file order, no duplicates).
    pub services: Vec<String>,
    /// Every (service, key) that uses it.
    pub uses: Vec<(String, String)>,
    /// Used inside a URL or connection string.
    pub in_url: bool,
}

/// Which part of the value is the secret.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// The whole value.
    Whole,
    /// `${VAR:-literal}`: the whole value, the literal is the default.
    Default,
    /// A password inside a URL or connection string (range in the value).
    Inner(Range<usize>),
}

#[derive(Debug, Clone)]
enum Verdict {
    Fix {
        part: Part,
        literal: String,
        base: String,
        fixed_name: bool,
    },
    NoFix {
        note: String,
        severity: Severity,
    },
}

/// One environment entry that holds a credential.
#[derive(Debug, Clone)]
struct Occ {
    key: String,
    /// The scalar node to edit (list item `KEY=value` or map value).
    node: NodeId,
    /// Where the environment value starts inside the scalar's decoded text.
    offset: usize,
    value: String,
    services: Vec<String>,
    verdict: Verdict,
}

fn options<'a>(ctx: &'a Ctx<'_>) -> std::borrow::Cow<'a, HardcodedSecretOptions> {
    match &ctx.profile.rules.hardcoded_secret {
        Some(o) => std::borrow::Cow::Borrowed(o),
        None => std::borrow::Cow::Owned(HardcodedSecretOptions::default()),
    }
}

/// The text after `:?`: the profile's, with `$` and `}` dropped (they would change the
/// reference's meaning).
pub fn message(o: &HardcodedSecretOptions) -> String {
    let m: String = o
        .message
        .as_deref()
        .unwrap_or(DEFAULT_MESSAGE)
        .chars()
        .filter(|c| !matches!(c, '$' | '}' | '\n' | '\r'))
        .collect();
    if m.trim().is_empty() {
        DEFAULT_MESSAGE.to_string()
    } else {
        m
    }
}

/// `name` as an environment variable name: upper-case, non-alphanumerics as `_`.
pub fn var_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The default format for a variable fed to `key`: hex for tokens and keys (and anything in a
/// URL), base64 for passwords.
pub fn default_format(key: &str, in_url: bool) -> Format {
    if in_url {
        return Format::Hex;
    }
    let words = classify::split_words(key);
    let hexy = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "TOKEN" | "TOKENS" | "KEY" | "APIKEY" | "ACCESSKEY" | "SECRETKEY" | "PRIVATEKEY"
        )
    });
    if hexy {
        Format::Hex
    } else {
        Format::Base64
    }
}

fn key_ignored(o: &HardcodedSecretOptions, key: &str) -> bool {
    o.ignore_keys
        .iter()
        .any(|p| p == key || ((p.contains('*') || p.contains('?')) && classify::glob_match(p, key)))
}

/// The effective entries of an environment mapping: own keys, then keys of mappings merged
/// with `<<` that the mapping does not set itself. Returns (key, value node resolved).
fn map_entries(y: &Yaml, map: NodeId) -> Vec<(String, NodeId)> {
    let mut out: Vec<(String, NodeId)> = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = vec![(map, 0usize)];
    let mut visited = HashSet::new();
    while let Some((m, depth)) = queue.pop() {
        if depth > 16 || !visited.insert(m) {
            continue;
        }
        let Some(entries) = y.entries(m) else {
            continue;
        };
        let mut merges = Vec::new();
        for e in entries {
            let Some(k) = y.scalar(e.key) else { continue };
            if k == "<<" && y.node(e.key).tag.is_none() {
                let v = y.resolve(e.value);
                match &y.node(v).kind {
                    NodeKind::Map { .. } => merges.push(v),
                    NodeKind::Seq { items } => merges.extend(items.iter().map(|&i| y.resolve(i))),
                    _ => {}
                }
                continue;
            }
            if seen.insert(k.to_string()) {
                out.push((k.to_string(), y.resolve(e.value)));
            }
        }
        // Earlier merges take priority: push them last so they pop first.
        for m2 in merges.into_iter().rev() {
            queue.push((m2, depth + 1));
        }
    }
    out
}

/// Every environment scalar of the services the rule covers, once per node, with the
/// services that see it. Items: (key, node, offset, value, services).
fn environment_scalars(ctx: &Ctx<'_>) -> Vec<(String, NodeId, usize, String, Vec<String>)> {
    let y = ctx.y;
    let mut out: Vec<(String, NodeId, usize, String, Vec<String>)> = Vec::new();
    let mut index: HashMap<NodeId, usize> = HashMap::new();
    let mut push = |key: &str, node: NodeId, offset: usize, value: &str, svc: &str| {
        if let Some(&i) = index.get(&node) {
            let services: &mut Vec<String> = &mut out[i].4;
            if !services.iter().any(|s| s == svc) {
                services.push(svc.to_string());
            }
            return;
        }
        index.insert(node, out.len());
        out.push((
            key.to_string(),
            node,
            offset,
            value.to_string(),
            vec![svc.to_string()],
        ));
    };
    for svc in ctx.services(ID) {
        let Some(s) = svc.get(y, "environment") else {
            continue;
        };
        let env = s.resolved;
        match &y.node(env).kind {
            NodeKind::Seq { items } => {
                for &it in items {
                    let it = y.resolve(it);
                    let Some(text) = y.scalar(it) else { continue };
                    if !matches!(y.node(it).kind, NodeKind::Scalar { .. }) {
                        continue;
                    }
                    let Some((k, v)) = text.split_once('=') else {
                        continue;
                    };
                    push(k, it, k.len() + 1, v, &svc.name);
                }
            }
            NodeKind::Map { .. } => {
                for (k, v) in map_entries(y, env) {
                    if y.is_null(v) || !matches!(y.node(v).kind, NodeKind::Scalar { .. }) {
                        continue;
                    }
                    let Some(text) = y.scalar(v) else { continue };
                    push(&k, v, 0, text, &svc.name);
                }
            }
            _ => {}
        }
    }
    out
}

fn inner_base(key: &str) -> String {
    let words = classify::split_words(key);
    match words.last().map(String::as_str) {
        Some("PASSWORD" | "PASS" | "PWD" | "PASSWD") => var_name(key),
        _ => format!("{}_PASSWORD", var_name(key)),
    }
}

fn classify_occ(o: &HardcodedSecretOptions, key: &str, value: &str) -> Option<Verdict> {
    if key_ignored(o, key) {
        return None;
    }
    let secret = classify::is_secret_key(key, &o.extra_keys);
    let (part, literal, base, fixed_name) = match classify::analyze_value(value) {
        SecretValue::UrlCredential { password } | SecretValue::ConnStringCredential { password } => {
            (
                Part::Inner(password.clone()),
                value[password].to_string(),
                inner_base(key),
                false,
            )
        }
        _ if !secret => return None,
        SecretValue::Literal => (Part::Whole, value.to_string(), var_name(key), false),
        SecretValue::DefaultLiteral { var, default } => (Part::Default, default, var, true),
        SecretValue::Placeholder => {
            return Some(Verdict::NoFix {
                note: "the value is empty or a placeholder meaning none; set a real secret (e.g. `${VAR:?set in .env}`) if the service needs one".into(),
                severity: Severity::Warning,
            })
        }
        SecretValue::Mixed => {
            return Some(Verdict::NoFix {
                note: "part of the value is written literally next to a reference; move it to .env by hand".into(),
                severity: Severity::Warning,
            })
        }
        SecretValue::Setting | SecretValue::Required => return None,
    };
    if o.ignore_values.contains(&literal) {
        return Some(Verdict::NoFix {
            note: "the value is ignored by the profile (`ignore-values`)".into(),
            severity: Severity::Info,
        });
    }
    Some(Verdict::Fix {
        part,
        literal,
        base,
        fixed_name,
    })
}

/// Every variable name referenced anywhere in the file's scalars (keys included).
fn referenced_vars(y: &Yaml) -> HashSet<String> {
    y.scalars()
        .filter(|value| value.contains('$'))
        .flat_map(|v| classify::references(v).into_iter().map(|(n, _)| n))
        .collect()
}

/// The whole analysis: variables to introduce and one finding per occurrence.
fn analyze(ctx: &Ctx<'_>) -> (Vec<Planned>, Vec<Finding>) {
    let y = ctx.y;
    let o = options(ctx);
    let msg = message(&o);
    let occs: Vec<Occ> = environment_scalars(ctx)
        .into_iter()
        .filter_map(|(key, node, offset, value, services)| {
            let verdict = classify_occ(&o, &key, &value)?;
            Some(Occ {
                key,
                node,
                offset,
                value,
                services,
                verdict,
            })
        })
        .collect();

    // Link groups: keys (or variable names) joined to the first of their group.
    let canonical = |base: &str, key: &str| -> String {
        for g in &o.link {
            if g.iter().any(|m| m == key || var_name(m) == base) {
                if let Some(first) = g.first() {
                    return var_name(first);
                }
            }
        }
        base.to_string()
    };

    // Groups by (base, literal), in file order.
    struct Group {
        base: String,
        literal: String,
        occs: Vec<usize>,
        fixed_name: bool,
        name: Option<String>,
        refused: Option<String>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut occ_group: Vec<Option<usize>> = vec![None; occs.len()];
    let mut fixed_vars = HashSet::new();
    for (i, occ) in occs.iter().enumerate() {
        let Verdict::Fix {
            literal,
            base,
            fixed_name,
            ..
        } = &occ.verdict
        else {
            continue;
        };
        let base = if *fixed_name {
            fixed_vars.insert(base.clone());
            base.clone()
        } else {
            canonical(base, &occ.key)
        };
        let g = match groups
            .iter()
            .position(|g| g.base == base && g.literal == *literal)
        {
            Some(g) => g,
            None => {
                groups.push(Group {
                    base,
                    literal: literal.clone(),
                    occs: Vec::new(),
                    fixed_name: false,
                    name: None,
                    refused: None,
                });
                groups.len() - 1
            }
        };
        groups[g].occs.push(i);
        groups[g].fixed_name |= *fixed_name;
        occ_group[i] = Some(g);
    }

    // Names: defaults keep their variable; a key with one literal keeps the key's name; the
    // same key with different literals gets `<SERVICE>_<KEY>`; never a name used elsewhere.
    let mut literals_per_base: HashMap<&str, usize> = HashMap::new();
    for g in &groups {
        *literals_per_base.entry(g.base.as_str()).or_default() += 1;
    }
    let literals_per_base: HashMap<String, usize> = literals_per_base
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let mut taken: HashSet<String> = referenced_vars(y)
        .into_iter()
        .filter(|v| !fixed_vars.contains(v))
        .collect();
    let mut fixed_claimed: HashSet<String> = HashSet::new();
    let order: Vec<usize> = (0..groups.len())
        .filter(|&g| groups[g].fixed_name)
        .chain((0..groups.len()).filter(|&g| !groups[g].fixed_name))
        .collect();
    for g in order {
        let grp = &groups[g];
        let name = if grp.fixed_name {
            if !fixed_claimed.insert(grp.base.clone()) {
                groups[g].refused = Some(format!(
                    "`{}` has different defaults in different places; give them distinct variables by hand",
                    grp.base
                ));
                continue;
            }
            grp.base.clone()
        } else {
            let first_service = occs[grp.occs[0]]
                .services
                .first()
                .cloned()
                .unwrap_or_default();
            let wanted = if literals_per_base[&grp.base] == 1 && !taken.contains(&grp.base) {
                grp.base.clone()
            } else {
                var_name(&format!("{first_service}_{}", grp.base))
            };
            let mut name = wanted.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{wanted}_{n}");
                n += 1;
            }
            name
        };
        let name = match o.vars.get(&name).and_then(|v| v.name.clone()) {
            Some(custom) => custom,
            None => name,
        };
        taken.insert(name.clone());
        groups[g].name = Some(name);
    }

    let mut planned: Vec<Planned> = Vec::new();
    let mut findings = Vec::new();
    for (i, occ) in occs.iter().enumerate() {
        let at = y.node(occ.node).span.start;
        let where_ = if occ.services.len() == 1 {
            format!("service `{}`", occ.services[0])
        } else {
            format!("services {}", occ.services.join(", "))
        };
        let mut finding = Finding {
            rule: ID,
            at,
            message: format!("`{}` in {where_} holds a hardcoded credential", occ.key),
            severity: Severity::Warning,
            fix: None,
            note: None,
            file: ctx.file,
        };
        let (part, g) = match (&occ.verdict, occ_group[i]) {
            (Verdict::NoFix { note, severity }, _) => {
                if note.starts_with("the value is empty") {
                    finding.message =
                        format!("`{}` in {where_} is empty or a placeholder", occ.key);
                }
                finding.severity = *severity;
                finding.note = Some(note.clone());
                findings.push(finding);
                continue;
            }
            (Verdict::Fix { part, .. }, Some(g)) => (part, g),
            (Verdict::Fix { .. }, None) => continue,
        };
        let grp = &groups[g];
        if let Some(why) = &grp.refused {
            finding.note = Some(why.clone());
            findings.push(finding);
            continue;
        }
        let Some(var) = grp.name.clone() else {
            continue;
        };
        // Different keys with the same literal: probably one credential.
        let linked: Vec<String> = groups
            .iter()
            .filter(|h| h.literal == grp.literal && h.base != grp.base)
            .filter_map(|h| h.name.clone())
            .collect();
        if !linked.is_empty() {
            finding.note = Some(format!(
                "probably linked: the same value is also used as {} (join them with a `link` group in the profile if they must stay equal)",
                linked
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let reference = format!("${{{var}:?{msg}}}");
        let range = match part {
            Part::Whole | Part::Default => occ.offset..occ.offset + occ.value.len(),
            Part::Inner(r) => occ.offset + r.start..occ.offset + r.end,
        };
        let node = y.node(occ.node);
        let decoded = y.scalar(occ.node).unwrap_or_default();
        if node.tag.is_some_and(|t| t != "!!str") {
            finding.note = Some("the value has a YAML tag; no automatic fix".into());
            findings.push(finding);
            continue;
        }
        let edit = match ops::rewrite_in_scalar(y, occ.node, range.clone(), &reference) {
            Ok(e) => e,
            Err(why) => {
                finding.note = Some(format!("no automatic fix: {why}"));
                findings.push(finding);
                continue;
            }
        };
        let new_value = format!(
            "{}{}{}",
            &decoded[..range.start],
            reference,
            &decoded[range.end..]
        );
        let mut v = Value::str(new_value);
        v.anchor = node.anchor.map(str::to_string);
        v.tag = node.tag.map(str::to_string);
        finding.fix = Some(Fix::new(
            ID,
            format!("Move `{}` to .env as `{var}`", occ.key),
            Applicability::Review,
            vec![edit],
            vec![Change::Set(y.path_of(occ.node), v)],
            at,
        ));
        findings.push(finding);

        let in_url = matches!(part, Part::Inner(_));
        let p = match planned.iter().position(|p| p.var == var) {
            Some(p) => p,
            None => {
                planned.push(Planned {
                    var: var.clone(),
                    key: occ.key.clone(),
                    literal: grp.literal.replace("$$", "$"),
                    format: Format::Base64,
                    services: Vec::new(),
                    uses: Vec::new(),
                    in_url: false,
                });
                planned.len() - 1
            }
        };
        let p = &mut planned[p];
        p.in_url |= in_url;
        for s in &occ.services {
            if !p.services.contains(s) {
                p.services.push(s.clone());
            }
            let u = (s.clone(), occ.key.clone());
            if !p.uses.contains(&u) {
                p.uses.push(u);
            }
        }
    }
    for p in &mut planned {
        p.format = o
            .vars
            .get(&p.var)
            .and_then(|v| v.format)
            .unwrap_or_else(|| default_format(&p.key, p.in_url));
    }
    (planned, findings)
}

/// The variables the rule's fixes introduce in the file of `ctx`, in first-use order.
pub fn plan(ctx: &Ctx<'_>) -> Vec<Planned> {
    analyze(ctx).0
}

/// How the services of `ctx` use variables in their `environment:` (existing references):
/// variable → [(service, key, inside a URL or connection string)].
pub fn variable_uses(ctx: &Ctx<'_>) -> BTreeMap<String, Vec<(String, String, bool)>> {
    let mut out: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    let y = ctx.y;
    for svc in &ctx.compose.services {
        let Some(s) = svc.get(y, "environment") else {
            continue;
        };
        let env = s.resolved;
        let pairs: Vec<(String, String)> = match &y.node(env).kind {
            NodeKind::Seq { items } => items
                .iter()
                .filter_map(|&i| y.scalar(y.resolve(i)))
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            NodeKind::Map { .. } => map_entries(y, env)
                .into_iter()
                .filter_map(|(k, v)| y.scalar(v).map(|t| (k, t.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        for (k, v) in pairs {
            let whole = classify::references(&v).len() == 1 && v.starts_with('$');
            for (var, _) in classify::references(&v) {
                let in_url = !whole && (v.contains("://") || v.contains(';'));
                let e = out.entry(var).or_default();
                let u = (svc.name.clone(), k.clone(), in_url);
                if !e.contains(&u) {
                    e.push(u);
                }
            }
        }
    }
    out
}

impl Rule for HardcodedSecret {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        out.extend(analyze(ctx).1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Compose;
    use crate::profile::Profile;

    fn planned(text: &str) -> Vec<Planned> {
        let y = Yaml::parse(text.to_string()).expect("yaml");
        let c = Compose::load(&y).expect("compose");
        let p = Profile::default();
        plan(&Ctx::new(&y, &c, &p))
    }

    #[test]
    fn shared_literal_shares_a_variable() {
        let p = planned(
            "services:\n  a:\n    environment:\n      - POSTGRES_PASSWORD=x\n  b:\n    environment:\n      POSTGRES_PASSWORD: x\n  c:\n    environment:\n      POSTGRES_PASSWORD: y\n",
        );
        let names: Vec<&str> = p.iter().map(|p| p.var.as_str()).collect();
        assert_eq!(names, ["A_POSTGRES_PASSWORD", "C_POSTGRES_PASSWORD"]);
        assert_eq!(p[0].services, ["a", "b"]);
        assert_eq!(p[0].format, Format::Base64);
    }

    #[test]
    fn names_avoid_variables_in_use() {
        let p = planned(
            "services:\n  a:\n    image: ${API_TOKEN}\n    environment:\n      API_TOKEN: abcdef1234\n",
        );
        assert_eq!(p[0].var, "A_API_TOKEN");
        assert_eq!(p[0].format, Format::Hex);
    }

    #[test]
    fn url_password_is_hex_and_default_keeps_its_name() {
        let p = planned(
            "services:\n  a:\n    environment:\n      DATABASE_URL: postgres://u:pw@db/x\n      DB_PASSWORD: ${DBP:-hunter2}\n",
        );
        assert_eq!(p[0].var, "DATABASE_URL_PASSWORD");
        assert!(p[0].in_url);
        assert_eq!(p[0].format, Format::Hex);
        assert_eq!(p[0].literal, "pw");
        assert_eq!(p[1].var, "DBP");
        assert_eq!(p[1].literal, "hunter2");
    }
}
