//! Rules: each finds problems in a Compose project and proposes fixes made of edits. Rules
//! never splice text or write files; the engine applies and verifies their fixes.

use crate::compose::merge::{Item, MEntry, MergedService, Model, Problem, Source, Src};
use crate::compose::{Compose, Service};
use crate::profile::Profile;
use crate::yaml::{Applicability, Fix, Yaml};

pub mod cap_drop_all;
pub mod dangerous_cap_add;
pub mod dev_root_token;
pub mod docker_socket;
pub mod env_entries;
pub mod hardcoded_secret;
pub mod hardening;
pub mod host_namespace;
pub mod images;
pub mod kafka_host_listener;
pub mod logging_limits;
pub mod merged;
pub mod network_graph;
pub mod network_segmentation;
pub mod no_new_privileges;
pub mod non_root_user;
pub mod postgres_trust_auth;
pub mod privileged;
pub mod project_file;
pub mod public_port;
pub mod read_only_rootfs;
pub mod resource_limits;
pub mod restart_policy;
pub mod sensitive_mount;
pub mod socket_proxy;
pub mod unconfined;
pub mod unpinned_image;

/// How serious a finding is: `critical`, `high`, `medium`, `low` or `info`.
///
/// Each rule declares its level in [`RuleMeta::severity`] (the single source). A rule pushes
/// [`Severity::Warning`] ("this rule's level") or [`Severity::Info`] (worth knowing, left as is
/// on purpose, e.g. a port the profile keeps public); the engine resolves `Warning` to the
/// rule's level after the rules run, so reports only ever see the five real levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Worth knowing; left as is on purpose (kept or accepted by the profile). Never fails a run.
    Info,
    /// Defence in depth with little direct exposure (resource limits, writable root filesystem).
    Low,
    /// A hardening gap an attacker inside a container, or on the network, can use.
    Medium,
    /// Direct exposure: credentials in the file, unauthenticated services reachable from outside,
    /// weakened isolation.
    High,
    /// The container is as good as root on the host (`privileged`, runtime socket).
    Critical,
    /// "The rule's own level" (what [`Severity::Warning`] stands for); resolved by the engine.
    #[doc(hidden)]
    RuleDefault,
}

impl Severity {
    /// A hardening gap at the rule's declared level ([`RuleMeta::severity`]).
    #[allow(non_upper_case_globals)]
    pub const Warning: Severity = Severity::RuleDefault;

    /// The real levels, most serious first.
    pub const LEVELS: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// `critical`, `high`, `medium`, `low`, `info` (`warning` for an unresolved level).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
            Severity::RuleDefault => "warning",
        }
    }

    /// The level named `s` (as `as_str` writes it).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::LEVELS.into_iter().find(|l| l.as_str() == s)
    }

    /// 0 (info) to 4 (critical); an unresolved level counts as medium.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Low => 1,
            Severity::Medium | Severity::RuleDefault => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// This level, with "the rule's level" replaced by `rule`'s declared one.
    pub fn resolve(self, rule: Severity) -> Severity {
        match self {
            Severity::RuleDefault => rule,
            s => s,
        }
    }
}

/// Give every finding that carries "the rule's level" ([`Severity::Warning`]) its rule's
/// declared severity.
pub fn resolve_severities(findings: &mut [Finding]) {
    for f in findings {
        let declared = by_id(f.rule).map_or(Severity::Medium, |r| r.meta().severity);
        f.severity = f.severity.resolve(declared);
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
    /// The level of the rule's findings (a finding may still say `Info` when the profile keeps
    /// what it reports on purpose).
    pub severity: Severity,
    /// Profile options of the rule.
    pub options: &'static str,
    /// Example before the fix.
    pub before: &'static str,
    /// Example after the fix.
    pub after: &'static str,
}

/// A problem found in a project file, with an optional fix.
///
/// `file` and `at` name the definition that is weak: the node that supplies a weak value (in
/// whichever file of the project supplies it), or, for a missing setting, the service's
/// definition in the file where missing settings are added. The fix's parts name their own
/// files ([`Fix::file`], [`Fix::parts`]); the engine applies each file's parts in one pass and
/// a fix whole or not at all.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule that found it.
    pub rule: &'static str,
    /// Byte offset it is about, in file `file`.
    pub at: usize,
    /// One-line description (never holds a secret).
    pub message: String,
    /// How serious it is.
    pub severity: Severity,
    /// The proposed fix, if one correct edit exists.
    pub fix: Option<Fix>,
    /// Why there is no fix, or what to check.
    pub note: Option<String>,
    /// Index of the project file `at` is in (see [`Ctx::files`]; 0 in a one-file view).
    pub file: usize,
}

impl Finding {
    /// A finding without fix or note at byte `at` of project file `file`.
    pub fn new(
        rule: &'static str,
        file: usize,
        at: usize,
        severity: Severity,
        message: String,
    ) -> Finding {
        Finding {
            rule,
            at,
            message,
            severity,
            fix: None,
            note: None,
            file,
        }
    }
}

/// What a rule sees: the whole project (every file, the merged services) and, for rules that
/// still work file by file, one file of it (`y`, `compose`, `file`).
pub struct Ctx<'a> {
    /// The file a file-by-file rule works on (the first file in a project view).
    pub y: &'a Yaml,
    /// Its services.
    pub compose: &'a Compose,
    /// The active profile.
    pub profile: &'a Profile,
    /// Index of `y` in `files`.
    pub file: usize,
    /// Every file of the project, in load order (main files first).
    pub files: Vec<Source<'a>>,
    /// The project's merged model when the engine built it (see [`Ctx::model`]).
    shared: Option<&'a Model>,
    /// The merged model of a one-file view, built on first use.
    own: std::cell::OnceCell<Model>,
    /// Variables for reading interpolated values (the operator's `.env`; empty: defaults).
    pub env: crate::compose::interp::Env,
    /// Per file: whether it prefers flow lists (computed once, on first use).
    flow: Vec<std::cell::OnceCell<bool>>,
}

/// Whether a rule's fix may edit a layer of a merged service (see [`Ctx::reach`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Yes: the layer is the service's own definition, or a base only it extends.
    Here,
    /// No need: the layer is another project service's own definition, which this rule judges
    /// (and fixes) on its own.
    Covered,
    /// No: editing it would change other services (the reason, for a note).
    Refused(String),
}

impl<'a> Ctx<'a> {
    /// What rules see of one parsed file under `profile` (a project of that one file).
    pub fn new(y: &'a Yaml, compose: &'a Compose, profile: &'a Profile) -> Self {
        Ctx {
            y,
            compose,
            profile,
            file: 0,
            env: crate::compose::interp::Env::empty(),
            flow: vec![std::cell::OnceCell::new()],
            files: vec![Source::single(y, compose, "")],
            shared: None,
            own: std::cell::OnceCell::new(),
        }
    }

    /// What rules see of a project: its files (main files first) and its merged model.
    pub fn project(files: Vec<Source<'a>>, model: &'a Model, profile: &'a Profile) -> Self {
        Ctx {
            y: files[0].yaml,
            compose: files[0].compose,
            profile,
            file: 0,
            env: crate::compose::interp::Env::empty(),
            flow: files.iter().map(|_| std::cell::OnceCell::new()).collect(),
            files,
            shared: Some(model),
            own: std::cell::OnceCell::new(),
        }
    }

    /// The same view, reading interpolated values with `env` (the operator's `.env`).
    pub fn with_env(mut self, env: crate::compose::interp::Env) -> Self {
        self.env = env;
        self
    }

    /// Whether boolean field `key` of `svc` (of `y`) reads as true, as compose-go reads it
    /// (YAML 1.1 spellings, quoted or not, interpolated with [`Ctx::env`]; `!reset` is absent).
    pub fn is_true(&self, svc: &Service, key: &str) -> bool {
        svc.get(self.y, key)
            .is_some_and(|s| crate::compose::values::is_true(self.y, s.value, &self.env))
    }

    /// The string value of `key` of `svc` (of `y`) as Compose reads it (interpolated with
    /// [`Ctx::env`]); `None` when absent, `!reset`, not a scalar or not known.
    pub fn string(&self, svc: &Service, key: &str) -> Option<String> {
        svc.get(self.y, key)
            .and_then(|s| crate::compose::values::string(self.y, s.value, &self.env))
    }

    /// The project's services with every definition merged, as Docker Compose merges them
    /// (for a one-file view, built on first use: file-by-file rules never pay for it).
    pub fn model(&self) -> &Model {
        match self.shared {
            Some(m) => m,
            None => self
                .own
                .get_or_init(|| Model::build(&self.files, &[0], Vec::new())),
        }
    }

    /// The same project, with `y`/`compose`/`file` set to file `file` (for file-by-file rules).
    pub fn focus(&self, file: usize) -> Ctx<'a> {
        Ctx {
            y: self.files[file].yaml,
            compose: self.files[file].compose,
            profile: self.profile,
            file,
            env: self.env.clone(),
            flow: self
                .files
                .iter()
                .map(|_| std::cell::OnceCell::new())
                .collect(),
            files: self.files.clone(),
            shared: self.shared,
            own: self.own.clone(),
        }
    }

    /// Whether new short lists in file `file` should be written `[a, b]` (the file mostly
    /// writes them so).
    pub fn prefers_flow_in(&self, file: usize) -> bool {
        let f = &self.files[file];
        *self.flow[file].get_or_init(|| hardening::prefers_flow(f.yaml, &f.compose.services))
    }

    /// Whether new short lists should be written `[a, b]` in `y` (the file mostly writes them so).
    pub fn prefers_flow(&self) -> bool {
        self.prefers_flow_in(self.file)
    }

    /// How `svc` (of `y`) relates to an `extends:` base for rule `id`, file by file. Compose
    /// merges the base's settings (sequences concatenated, scalars overridden), so a key the
    /// rule adds to the base reaches the service too; adding it to both would duplicate list
    /// items.
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

    /// The services of `y` rule `id` applies to (not ignored by the profile), file by file.
    pub fn services<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Service> + 's {
        let profile = self.profile;
        self.compose
            .services
            .iter()
            .filter(move |s| !profile.service_ignores(&s.name, id))
    }

    // ---- the project view ----

    /// The merged services of the project rule `id` applies to (not ignored by the profile).
    pub fn merged<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s MergedService> + 's {
        let profile = self.profile;
        self.model()
            .services
            .iter()
            .filter(move |s| !profile.service_ignores(&s.name, id))
    }

    /// The parsed file `file`.
    pub fn yaml(&self, file: usize) -> &'a Yaml {
        self.files[file].yaml
    }

    /// The path of file `file` as shown to the user.
    pub fn display(&self, file: usize) -> &'a str {
        self.files[file].display
    }

    /// The definition (file's tree and service) of layer `layer` of `ms`.
    pub fn layer(&self, ms: &MergedService, layer: usize) -> (&'a Yaml, &'a Service) {
        let l = ms.layers[layer];
        let f = &self.files[l.file];
        (f.yaml, &f.compose.services[l.service])
    }

    /// Where findings about the whole service point: its name in its home definition
    /// (file, byte offset).
    pub fn at(&self, ms: &MergedService) -> (usize, usize) {
        let (y, svc) = self.layer(ms, ms.home);
        (ms.layers[ms.home].file, svc.at(y))
    }

    /// Where `src` points (file, byte offset).
    pub fn at_src(&self, src: Src) -> (usize, usize) {
        (src.file, self.yaml(src.file).node(src.node).span.start)
    }

    /// A finding about `ms` as a whole, at its home definition.
    pub fn finding(
        &self,
        rule: &'static str,
        ms: &MergedService,
        severity: Severity,
        message: String,
    ) -> Finding {
        let (file, at) = self.at(ms);
        Finding::new(rule, file, at, severity, message)
    }

    /// A finding about the node `src` supplies.
    pub fn finding_at(
        &self,
        rule: &'static str,
        src: Src,
        severity: Severity,
        message: String,
    ) -> Finding {
        let (file, at) = self.at_src(src);
        Finding::new(rule, file, at, severity, message)
    }

    /// The merged setting `key` of `ms`.
    pub fn entry<'m>(&self, ms: &'m MergedService, key: &str) -> Option<&'m MEntry> {
        ms.map.get(key)
    }

    /// The effective scalar `key` of `ms` and the node that supplies it.
    pub fn scalar(&self, ms: &MergedService, key: &str) -> Option<(&'a str, Src)> {
        let src = ms.map.get(key)?.value.scalar()?;
        self.yaml(src.file).scalar(src.node).map(|t| (t, src))
    }

    /// The effective list `key` of `ms` (after Compose's merge and de-duplication).
    pub fn items<'m>(&self, ms: &'m MergedService, key: &str) -> &'m [Item] {
        ms.map.get(key).map_or(&[], |e| e.value.items())
    }

    /// The text of a merged list item (`KEY=VALUE` for a mapping entry; `None` for a
    /// collection item).
    pub fn text(&self, item: &Item) -> Option<String> {
        crate::compose::merge::item_text(self.yaml(item.src.file), item)
    }

    /// Whether the merged boolean `key` of `ms` reads as true, as compose-go reads it (YAML 1.1
    /// spellings, interpolated with [`Ctx::env`]), and the node that supplies it.
    pub fn is_true_in(&self, ms: &MergedService, key: &str) -> Option<Src> {
        let src = ms.map.get(key)?.value.scalar()?;
        crate::compose::values::is_true(self.yaml(src.file), src.node, &self.env).then_some(src)
    }

    /// The merged string `key` of `ms` as Compose reads it (interpolated with [`Ctx::env`]).
    pub fn string_in(&self, ms: &MergedService, key: &str) -> Option<(String, Src)> {
        let src = ms.map.get(key)?.value.scalar()?;
        crate::compose::values::string(self.yaml(src.file), src.node, &self.env).map(|v| (v, src))
    }

    /// The image of `ms` and where it is set.
    pub fn image(&self, ms: &MergedService) -> Option<(&'a str, Src)> {
        self.scalar(ms, "image")
    }

    /// `" (set in FILE)"` when `src` is in another file than `file`, for messages about merged
    /// values.
    pub fn from_file(&self, src: Src, file: usize) -> String {
        if src.file == file {
            String::new()
        } else {
            format!(" (set in {})", self.display(src.file))
        }
    }

    /// Why what `ms` inherits cannot be seen (an `extends` base that is not loaded or not
    /// found), for notes of rules that refuse to guess.
    pub fn unseen(&self, ms: &MergedService) -> Option<String> {
        (!ms.gaps.is_empty()).then(|| {
            ms.gaps
                .iter()
                .map(|g| g.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The merged service whose own definition is `(file, service)`, if it is a project
    /// service.
    fn own_user(&self, file: usize, service: usize) -> Option<&MergedService> {
        self.model().owner(file, service)
    }

    /// Whether rule `id` may edit layer `layer` of `ms`.
    pub fn reach(&self, ms: &MergedService, layer: usize, id: &str) -> Reach {
        let l = ms.layers[layer];
        if l.own {
            return Reach::Here;
        }
        let (_, svc) = self.layer(ms, layer);
        if let Some(b) = self.own_user(l.file, l.service) {
            return if self.profile.service_ignores(&b.name, id) {
                Reach::Refused(format!(
                    "it comes from `{}` (which it extends), and the profile exempts `{}` from `{id}`",
                    b.name, b.name
                ))
            } else {
                Reach::Covered
            };
        }
        let users = self
            .model()
            .base_uses
            .get(&(l.file, l.service))
            .copied()
            .unwrap_or(0);
        if users <= 1 {
            Reach::Here
        } else {
            Reach::Refused(format!(
                "it comes from `{}` in {}, which {users} services extend; edit it there",
                svc.name,
                self.display(l.file)
            ))
        }
    }

    /// The project service `ms` extends whose own fix (by rule `id`) of `keys` reaches `ms`
    /// too: a setting added to that base's definition is inherited (unless `ms` replaces the
    /// key with `!override` or drops it with `!reset`), so `ms` needs none of its own.
    pub fn inherits_from(
        &self,
        ms: &MergedService,
        id: &str,
        keys: &[&str],
    ) -> Option<&MergedService> {
        ms.layers.iter().enumerate().find_map(|(i, l)| {
            if l.own || self.reach(ms, i, id) != Reach::Covered {
                return None;
            }
            let b = self.own_user(l.file, l.service)?;
            let home = b.layers[b.home];
            if home.file != l.file || home.service != l.service {
                return None;
            }
            // What the base gets must survive the merge into `ms`.
            let reaches = keys.iter().all(|k| match ms.map.get(k) {
                Some(e) => e.defs.iter().any(|d| d.src.layer == i),
                None => ms.map.reset_of(k).is_none_or(|r| r.layer < i),
            });
            reaches.then_some(b)
        })
    }

    /// Whether a report-only finding about the value `src` of `ms` is reported for `ms`: not
    /// when it comes from another project service's own definition (that one reports it).
    pub fn reports(&self, ms: &MergedService, src: Src, id: &str) -> bool {
        self.reach(ms, src.layer, id) != Reach::Covered
    }

    /// Problems of the project (missing references, files that are not Compose files).
    pub fn problems(&self) -> &[Problem] {
        &self.model().problems
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
    /// Report findings (with fixes) for the project (or, for a file-by-file rule, for
    /// `ctx.y`).
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);
    /// Whether the rule judges the merged project once (`ctx.merged(…)`, findings in any file).
    /// `false` (the default): the engine runs it once per file, with `ctx.y`, `ctx.compose` and
    /// `ctx.file` set to each main or included file in turn — what a rule written against one
    /// file expects.
    fn project_wide(&self) -> bool {
        false
    }
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
    &postgres_trust_auth::PostgresTrustAuth,
    &dev_root_token::DevRootToken,
    &non_root_user::NonRootUser,
    &logging_limits::LoggingLimits,
    &restart_policy::RestartPolicy,
    &network_segmentation::NetworkSegmentation,
    &project_file::ProjectFile,
];

/// Checks the engine runs itself after the rules, whatever the profile selects (documented
/// and explained like rules).
pub static ENGINE_CHECKS: &[&dyn Rule] = &[&crate::suppress::InvalidSuppression];

/// Every rule and engine check, in registry order.
pub fn all() -> impl Iterator<Item = &'static dyn Rule> {
    REGISTRY.iter().chain(ENGINE_CHECKS).copied()
}

/// The rule (or engine check) with id `id`.
pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    all().find(|r| r.meta().id == id)
}

/// Render a rule's documentation for `explain`.
pub fn explain(meta: &RuleMeta) -> String {
    let mut s = format!(
        "{}: {}\n\nSeverity: {}\n\n",
        meta.id,
        meta.summary,
        meta.severity.as_str()
    );
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
a test keeps this file in step with the code.\n\n| rule | severity | fix | summary |\n|---|---|---|---|\n",
    );
    for r in all() {
        let m = r.meta();
        s.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} |\n",
            m.id,
            m.id,
            m.severity.as_str(),
            m.applicability.as_str(),
            m.summary
        ));
    }
    for r in all() {
        let m = r.meta();
        s.push_str(&format!(
            "\n## {}\n\n{}\n\n**Severity: {}.**\n\n",
            m.id,
            m.summary,
            m.severity.as_str()
        ));
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
