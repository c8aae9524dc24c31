//! `unpinned-image`: an image has no tag or a moving one (report only).

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct UnpinnedImage;

const ID: &str = "unpinned-image";

const MOVING: &[&str] = &[
    "latest", "stable", "edge", "dev", "nightly", "main", "master", "unstable", "rolling",
];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "image has no tag or a moving tag (`latest`, `stable`, `edge`, `dev`, …)",
    why: "An unpinned image changes under you: a `docker compose pull` or a new host runs \
different code than you tested, which breaks reproducibility and lets a compromised or broken \
upstream release reach production unreviewed (the OpenBMP hardening checklist, §5.4).",
    fix: "No automatic fix (the right version is yours to choose). What to do: pin a specific \
version tag (`nginx:1.27.3-alpine`), or better a digest (`nginx:1.27.3-alpine@sha256:…`, see \
`docker buildx imagetools inspect IMAGE:TAG`), then scan it (`trivy image IMAGE:TAG`) and \
update deliberately (Renovate/Dependabot can bump pinned tags).",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    severity: Severity::Low,
    options:
        "[rules.unpinned-image]\nenabled = true\n\n[services.NAME]\nignore = [\"unpinned-image\"]",
    before: "services:\n  web:\n    image: nginx:latest",
    after: "services:\n  web:\n    image: nginx:1.27.3-alpine",
};

impl Rule for UnpinnedImage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.merged(ID) {
            let Some((image, src)) = ctx.image(svc) else {
                continue;
            };
            if !ctx.reports(svc, src, ID) {
                continue;
            }
            if image.contains('$') || image.trim().is_empty() {
                continue;
            }
            let problem = match crate::compose::image::tag(image) {
                None => "has no tag (means `latest`)".to_string(),
                Some(t) if MOVING.contains(&t.to_ascii_lowercase().as_str()) => {
                    format!("uses the moving tag `{t}`")
                }
                _ => continue,
            };
            let mut f = ctx.finding_at(
                ID,
                src,
                Severity::Warning,
                format!("image `{image}` of service `{}` {problem}", svc.name),
            );
            f.note = Some("pin a version tag or a digest".into());
            out.push(f);
        }
    }
}
