//! Rules: each finds problems in a Compose file and proposes fixes made of edits. Rules never
//! splice text or write files; the engine applies and verifies their fixes.

use crate::compose::{Compose, Service};
use crate::profile::Profile;
use crate::yaml::{Applicability, Fix, Yaml};

pub mod cap_drop_all;
pub mod dangerous_cap_add;
pub mod docker_socket;
pub mod hardcoded_secret;
pub mod hardening;
pub mod host_namespace;
pub mod kafka_host_listener;
pub mod no_new_privileges;
pub mod privileged;
pub mod public_port;
pub mod read_only_rootfs;
pub mod resource_limits;
pub mod sensitive_mount;
pub mod unconfined;
pub mod unpinned_image;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; left as is on purpose (e.g. a port the profile keeps public).
    Info,
    /// A hardening gap.
    Warning,
}

impl Severity {
    /// `info` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
        }
    }
}

/// Everything a rule's documentation says; the single source for `explain` and `rules`.
#[derive(Debug)]
pub struct RuleMeta {
    /// Permanent kebab-case id.
    pub id: &'static str,
    /// One line: what the rule reports.
    pub summary: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// What the fix does.
    pub fix: &'static str,
    /// What the fix may break.
    pub breaks: &'static str,
    /// The fix's applicability.
    pub applicability: Applicability,
    /// Profile options of the rule.
    pub options: &'static str,
    /// Example before the fix.
    pub before: &'static str,
    /// Example after the fix.
    pub after: &'static str,
}

/// A problem found in a file, with an optional fix.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule that found it.
    pub rule: &'static str,
    /// Byte offset it is about.
    pub at: usize,
    /// One-line description (never holds a secret).
    pub message: String,
    /// How serious it is.
    pub severity: Severity,
    /// The proposed fix, if one correct edit exists.
    pub fix: Option<Fix>,
    /// Why there is no fix, or what to check.
    pub note: Option<String>,
}

/// What a rule sees.
pub struct Ctx<'a> {
    /// The parsed file.
    pub y: &'a Yaml,
    /// Its services.
    pub compose: &'a Compose,
    /// The active profile.
    pub profile: &'a Profile,
    /// Whether the file prefers flow lists (computed once, on first use).
    flow: std::cell::OnceCell<bool>,
}

impl<'a> Ctx<'a> {
    /// What rules see of one parsed file under `profile`.
    pub fn new(y: &'a Yaml, compose: &'a Compose, profile: &'a Profile) -> Self {
        Ctx {
            y,
            compose,
            profile,
            flow: std::cell::OnceCell::new(),
        }
    }

    /// Whether new short lists should be written `[a, b]` (the file mostly writes them so).
    pub fn prefers_flow(&self) -> bool {
        *self
            .flow
            .get_or_init(|| hardening::prefers_flow(self.y, &self.compose.services))
    }

    /// How `svc` relates to an `extends:` base for rule `id`. Compose merges the base's settings
    /// (sequences concatenated, scalars overridden), so a key the rule adds to the base reaches
    /// the service too; adding it to both would duplicate list items.
    pub fn inherits(&self, svc: &Service, id: &str) -> Inherit {
        match &svc.extends {
            None => Inherit::No,
            Some(crate::compose::Extends::File { .. }) => Inherit::Unknown,
            Some(crate::compose::Extends::Local(base)) => {
                match self.compose.service(svc.doc, base) {
                    Some(b) if !self.profile.service_ignores(&b.name, id) => Inherit::FromBase,
                    Some(_) => Inherit::No,
                    None => Inherit::Unknown,
                }
            }
        }
    }

    /// The services rule `id` applies to (not ignored by the profile).
    pub fn services<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Service> + 's {
        let profile = self.profile;
        self.compose
            .services
            .iter()
            .filter(move |s| !profile.service_ignores(&s.name, id))
    }
}

/// Whether a service inherits settings through `extends:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// No `extends:` (or its base is not hardened by this rule).
    No,
    /// It extends a service of this file that this rule also hardens.
    FromBase,
    /// It extends a service this file does not define: its settings cannot be seen.
    Unknown,
}

/// A hardening rule.
pub trait Rule: Sync {
    /// The rule's documentation.
    fn meta(&self) -> &'static RuleMeta;
    /// Report findings (with fixes) for the file.
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);
}

/// Every rule, in the order their fixes apply when they insert at the same place.
pub static REGISTRY: &[&dyn Rule] = &[
    &hardcoded_secret::HardcodedSecret,
    &kafka_host_listener::KafkaHostListener,
    &public_port::PublicPort,
    &privileged::Privileged,
    &cap_drop_all::CapDropAll,
    &no_new_privileges::NoNewPrivileges,
    &read_only_rootfs::ReadOnlyRootfs,
    &resource_limits::ResourceLimits,
    &docker_socket::DockerSocket,
    &host_namespace::HostNamespace,
    &unconfined::Unconfined,
    &unpinned_image::UnpinnedImage,
    &sensitive_mount::SensitiveMount,
    &dangerous_cap_add::DangerousCapAdd,
];

/// The rule with id `id`.
pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    REGISTRY.iter().copied().find(|r| r.meta().id == id)
}

/// Render a rule's documentation for `explain`.
pub fn explain(meta: &RuleMeta) -> String {
    let mut s = format!("{}: {}\n\n", meta.id, meta.summary);
    s.push_str(&format!(
        "What it checks and why\n  {}\n\n",
        indent(meta.why)
    ));
    s.push_str(&format!(
        "Fix ({})\n  {}\n\n",
        meta.applicability.as_str(),
        indent(meta.fix)
    ));
    s.push_str(&format!("What may break\n  {}\n\n", indent(meta.breaks)));
    s.push_str(&format!("Profile options\n  {}\n\n", indent(meta.options)));
    s.push_str(&format!(
        "Before\n{}\nAfter\n{}",
        indent_block(meta.before),
        indent_block(meta.after)
    ));
    s
}

/// Render every rule's documentation as Markdown (the committed `docs/rules.md`).
pub fn markdown_reference() -> String {
    let mut s = String::from(
        "# Rules\n\nGenerated from the rules' own documentation (`compose-harden rules --markdown`); \
a test keeps this file in step with the code.\n\n| rule | fix | summary |\n|---|---|---|\n",
    );
    for r in REGISTRY {
        let m = r.meta();
        s.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            m.id,
            m.id,
            m.applicability.as_str(),
            m.summary
        ));
    }
    for r in REGISTRY {
        let m = r.meta();
        s.push_str(&format!("\n## {}\n\n{}\n\n", m.id, m.summary));
        s.push_str(&format!("**What it checks and why.** {}\n\n", m.why.trim()));
        s.push_str(&format!(
            "**Fix ({}).** {}\n\n",
            m.applicability.as_str(),
            m.fix.trim()
        ));
        s.push_str(&format!("**What may break.** {}\n\n", m.breaks.trim()));
        s.push_str(&format!(
            "**Profile options.**\n\n```toml\n{}\n```\n",
            m.options.trim()
        ));
        if !m.before.trim().is_empty() {
            s.push_str(&format!(
                "\nBefore:\n\n```yaml\n{}\n```\n\nAfter:\n\n```yaml\n{}\n```\n",
                m.before.trim_matches('\n'),
                m.after.trim_matches('\n')
            ));
        }
    }
    s
}

fn indent(t: &str) -> String {
    t.trim().replace('\n', "\n  ")
}

fn indent_block(t: &str) -> String {
    t.trim_matches('\n')
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect()
}
