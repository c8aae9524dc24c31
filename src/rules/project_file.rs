//! `project-file`: a file the project names is missing, remote, or not a Compose file
//! (report only).

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct ProjectFile;

/// The rule id.
pub const ID: &str = "project-file";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "a file of the project is missing, remote, or not a Compose file",
    why: "Docker Compose loads a project from several files: the main files (`-f`, \
`COMPOSE_FILE`, or `compose.yaml` with its `compose.override.yaml`), the files they `include:` \
and the files `extends: {file: …}` names. A referenced file that does not exist makes Docker \
Compose refuse the project, and its services cannot be checked: what a service inherits from \
a missing `extends` file is unknown, so the rules that need it (capabilities, security options, \
read-only root, limits) report the service without a fix instead of guessing. A file with \
neither `services:` nor any other Compose top-level key is usually the wrong file or a \
misspelt key (`service:`), and nothing in it would be checked.",
    fix: "No automatic fix. Restore or correct the path (relative paths of the main files \
resolve against the directory of the first one, those of an included file against its project \
directory), or pass the right file with `-f`. Remote includes (Git, OCI) and paths with \
variables are not followed: harden those files where they live.",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options: "[rules.project-file]\nenabled = true",
    before: "include:\n  - db/compose.yaml   # does not exist",
    after: "include:\n  - database/compose.yaml",
};

impl Rule for ProjectFile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for p in ctx.problems() {
            out.push(Finding::new(
                ID,
                p.file,
                p.at,
                Severity::Warning,
                p.message.clone(),
            ));
        }
    }
}
