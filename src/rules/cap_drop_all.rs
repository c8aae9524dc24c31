//! `cap-drop-all`: every service runs with `cap_drop: [ALL]` and gets back only the
//! capabilities the profile or the built-in image table gives it.

use super::hardening;
use super::images::{Decision, StartUser};
use super::merged::{self, MergedEdit};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::merge::MergedService;
use crate::compose::Service;
use crate::yaml::Applicability;

/// The rule.
pub struct CapDropAll;

const ID: &str = "cap-drop-all";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service keeps Docker's default capabilities (no `cap_drop: [ALL]`)",
    why: "Docker gives every container 14 capabilities by default (CHOWN, DAC_OVERRIDE, FOWNER, \
SETUID, SETGID, NET_RAW, MKNOD, …). Most services need none or a few of them; each one left in \
place widens what an attacker can do after compromising the process (the OpenBMP hardening checklist, §5.2: \
start from zero, add back only what breaks).",
    fix: "Add `ALL` to the service's `cap_drop` (a new `cap_drop: [ALL]` in the file's own list \
style, or appended to an existing list) and add back capabilities with `cap_add`: the profile's \
`[services.NAME] cap-add` or `[images.\"REPO\"] cap-add` when given (fix `safe`: your \
decision), else the built-in image table's list for well-known images (data/images.toml, \
rendered in docs/images.md: e.g. postgres: CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID; nginx: \
CHOWN, SETGID, SETUID, plus NET_BIND_SERVICE when it listens below 1024; images that run as a \
non-root user, such as grafana or the Confluent images: none). An image outside the table that \
starts as root gets the set a root-started entrypoint needs to fix ownership and switch user \
(CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID), which still removes NET_RAW, MKNOD, SYS_CHROOT, \
SETPCAP, SETFCAP, AUDIT_WRITE, KILL and FSETID; a service with a non-root `user:` gets nothing \
back. The finding's note says which case applied. Existing `cap_add` entries stay. \
A service whose `cap_drop`/`cap_add` comes from a merged anchor gets local lists that keep the \
anchor's entries; the anchor is never edited. Services with `privileged: true` are left to the \
`privileged` rule when it is enabled (privileged grants every capability, so `cap_drop` alone \
would do nothing).",
    breaks: "Entrypoints that change file ownership or switch user (`chown`, `gosu`, `su-exec`) \
fail without CHOWN/SETUID/SETGID; servers binding ports below 1024 as root need \
NET_BIND_SERVICE; tools using raw sockets (ping, Scapy) need NET_RAW. Start the service, read \
its log for `Operation not permitted`, and add exactly that capability with \
`[services.NAME] cap-add`.",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options: "[rules.cap-drop-all]\nenabled = true\nimage-table = true   # add back the built-in \
table's capabilities for known images (false: every image is treated as unknown)\n\n[services.NAME]\ncap-add = [\"CHOWN\", \"SETUID\"]   # \
what this service gets back (replaces the table)\n\n[images.\"openbmp/postgres\"]\ncap-add = \
[\"CHOWN\", \"SETUID\", \"SETGID\"]   # per image",
    before: "services:\n  cache:\n    image: redis:7.2",
    after: "services:\n  cache:\n    image: redis:7.2\n    cap_drop:\n      - ALL\n    cap_add:\n      - CHOWN\n      - SETGID\n      - SETUID",
};

/// Where the capabilities a service gets back come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapSource {
    /// `[services.NAME] cap-add`.
    Service,
    /// `[images."REPO"] cap-add`.
    Image,
    /// The built-in image knowledge (`data/images.toml`), or its rule for unknown images.
    Builtin(Decision),
}

/// Capabilities `ms` should get back with `cap_drop: [ALL]`, and where they come from: the
/// profile's service or image entry, else the built-in knowledge (the image table when
/// `use_table`, the user-switch set for an unknown image started as root, nothing for a
/// non-root `user:`), judged on the merged service (its image and `user:` from whichever file
/// sets them).
pub fn wanted_caps(ctx: &Ctx<'_>, ms: &MergedService, use_table: bool) -> (Vec<String>, CapSource) {
    let norm = |v: &[String]| v.iter().map(|c| hardening::norm_cap(c)).collect::<Vec<_>>();
    if let Some(c) = ctx
        .profile
        .service(&ms.name)
        .and_then(|s| s.cap_add.as_ref())
    {
        return (norm(c), CapSource::Service);
    }
    let image = ctx.image(ms).map(|(i, _)| i);
    if let Some(c) = image
        .and_then(|i| ctx.profile.image(i))
        .and_then(|c| c.cap_add.as_ref())
    {
        return (norm(c), CapSource::Image);
    }
    let user = StartUser::from_user(ctx.scalar(ms, "user").map(|(u, _)| u));
    let decision = Decision::new(image, &user, use_table);
    let caps = decision.caps(merged::listens_low(ctx, ms));
    (caps, CapSource::Builtin(decision))
}

/// Whether two capability names are the same.
pub fn same_cap(a: &str, b: &str) -> bool {
    hardening::norm_cap(a) == hardening::norm_cap(b)
}

/// Whether the service's effective `privileged` is true.
/// (`yes`, `on`, `"true"`, `${P:-yes}`… as compose-go reads a boolean; `!reset` is absent).
pub fn is_privileged(ctx: &Ctx<'_>, svc: &Service) -> bool {
    ctx.is_true(svc, "privileged")
}

/// Whether the merged service's `privileged` is true (as compose-go reads a boolean).
pub fn is_privileged_merged(ctx: &Ctx<'_>, ms: &MergedService) -> bool {
    ctx.is_true_in(ms, "privileged").is_some()
}

/// Plan `cap_drop: [ALL]` plus `cap_add: caps` on `edit`; returns the capabilities added.
pub fn plan_drop_all(
    edit: &mut MergedEdit<'_, '_>,
    caps: &[String],
) -> Result<Vec<String>, String> {
    edit.ensure_items("cap_drop", &["ALL".to_string()], same_cap)?;
    edit.ensure_items("cap_add", caps, same_cap)
}

/// A note about where the added capabilities come from (`image`: the image in backticks, and
/// where it is set when not in the finding's file, as [`image_label`] writes it).
pub fn source_note(name: &str, image: Option<&str>, caps: &[String], src: &CapSource) -> String {
    let list = if caps.is_empty() {
        "none".to_string()
    } else {
        caps.join(", ")
    };
    let image = image.unwrap_or("`(no image)`");
    match src {
        CapSource::Service => format!("capabilities added back from the profile: {list}"),
        CapSource::Image => {
            format!("capabilities added back from the profile's image entry: {list}")
        }
        CapSource::Builtin(Decision::Known(info)) => format!(
            "review: capabilities added back from the built-in image table for {} images \
(starts as {}): {list}; see docs/images.md; remove those the service does not need, or set \
`[services.{name}] cap-add`",
            info.family, info.user
        ),
        CapSource::Builtin(Decision::KnownAsRoot(info)) => format!(
            "review: {} images normally run as {}, but `user:` starts this one as root: it gets \
back the set a root-started entrypoint needs to fix ownership and switch user: {list}; set \
`[services.{name}] cap-add` to narrow it",
            info.family, info.user
        ),
        CapSource::Builtin(Decision::NonRootUser(u)) => format!(
            "the service runs as the non-root `user: {u}`, which cannot use added \
capabilities: none is added back; if it fails, set `[services.{name}] cap-add`"
        ),
        CapSource::Builtin(Decision::Unknown { user }) => format!(
            "review: image {image} is not in the built-in image table and starts as root{}: it \
gets back the set a root-started entrypoint needs to fix ownership and switch user (gosu, \
su-exec, setpriv): {list}; NET_RAW, MKNOD, SYS_CHROOT and Docker's other defaults stay dropped. \
Narrow it with `[services.{name}] cap-add = [...]`, or give the service a non-root `user:`",
            match user {
                None => String::new(),
                Some(u) if u == "root" => " (`user: root`)".to_string(),
                Some(u) => format!(" (`user: {u}` is interpolated: taken as root)"),
            }
        ),
    }
}

/// The image of `ms` for notes: `` `name` ``, with the file that sets it when that is not
/// `file`.
pub fn image_label(ctx: &Ctx<'_>, ms: &MergedService, file: usize) -> Option<String> {
    ctx.image(ms)
        .map(|(i, src)| format!("`{i}`{}", ctx.from_file(src, file)))
}

impl Rule for CapDropAll {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let use_table = ctx.profile.rules.image_table(ID);
        for ms in ctx.merged(ID) {
            let mut finding = ctx.finding(
                ID,
                ms,
                Severity::Warning,
                format!("service `{}` does not drop all capabilities", ms.name),
            );
            if is_privileged_merged(ctx, ms) {
                if ctx.profile.rules.enabled("privileged") == Some(true) {
                    // Owned by `privileged`, which removes it and adds cap_drop/cap_add itself.
                    continue;
                }
                finding.note = Some(
                    "`privileged: true` grants every capability, so `cap_drop` would do nothing; \
see `compose-harden explain privileged`"
                        .into(),
                );
                out.push(finding);
                continue;
            }
            if ctx
                .inherits_from(ms, ID, &["cap_drop", "cap_add"])
                .is_some()
            {
                // The service it extends gets the fix, and Compose merges it into this one.
                continue;
            }
            let (caps, src) = wanted_caps(ctx, ms, use_table);
            let from_profile = matches!(src, CapSource::Service | CapSource::Image);
            let mut edit = MergedEdit::new(ctx, ms, ID);
            let drops_all = match edit.list("cap_drop") {
                Ok(l) => l.unwrap_or_default().iter().any(|c| same_cap(c, "ALL")),
                Err(why) => {
                    finding.note = Some(format!("no automatic fix: {why}"));
                    out.push(finding);
                    continue;
                }
            };
            if drops_all && !from_profile {
                continue;
            }
            if let Some(why) = ctx.unseen(ms) {
                // What it inherits (its image, its capability lists) cannot be seen: no guess.
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            let (planned, title, applicability) = if drops_all {
                // Already dropped: only make sure what the profile gives back is there.
                finding.message = format!(
                    "service `{}` lacks capabilities the profile gives back",
                    ms.name
                );
                (
                    edit.ensure_items("cap_add", &caps, same_cap),
                    "Add the profile's capabilities to `cap_add`",
                    Applicability::Safe,
                )
            } else {
                (
                    plan_drop_all(&mut edit, &caps),
                    "Drop all capabilities (`cap_drop: [ALL]`), add back only the needed ones",
                    if from_profile {
                        Applicability::Safe
                    } else {
                        Applicability::Review
                    },
                )
            };
            if let Err(why) = planned {
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            if edit.is_empty() {
                continue;
            }
            if !drops_all {
                let image = image_label(ctx, ms, finding.file);
                finding.note = Some(source_note(&ms.name, image.as_deref(), &caps, &src));
            }
            match edit.finish(title, applicability, finding.file, finding.at) {
                Ok(fix) => finding.fix = fix,
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
