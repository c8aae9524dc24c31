//! The built-in image knowledge (`data/images.toml`, compiled in and parsed once): which
//! capabilities an image's entrypoint needs under `cap_drop: [ALL]`, the user it starts as and
//! the paths it writes; and the decision what a service gets back when nothing in the profile
//! says so (known image, unknown image started as root, or a non-root `user:`).

use std::sync::LazyLock;

use serde::Deserialize;

/// The capabilities a root-started entrypoint needs to fix ownership and switch user (`chown`,
/// `gosu`, `su-exec`, `setpriv`): what an image outside the table gets back. Docker's other
/// default capabilities (NET_RAW, MKNOD, SYS_CHROOT, SETPCAP, SETFCAP, AUDIT_WRITE, KILL,
/// FSETID, NET_BIND_SERVICE) stay dropped.
pub const USER_SWITCH_CAPS: &[&str] = &["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];

/// Docker's default capability set, which `cap_drop: [ALL]` removes.
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// One `[[image]]` entry of `data/images.toml`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageInfo {
    /// Family name shown in findings and docs (`postgres`, `nginx`, …).
    pub family: String,
    /// Repository patterns: `ns/name`, `ns/*` / `ns/prefix-*`, or a bare last path segment.
    pub repos: Vec<String>,
    /// The user the image starts as (`root, then postgres (999)`, `appuser (1000)`).
    pub user: String,
    /// Capabilities its entrypoint needs with `cap_drop: [ALL]` when it starts as `user`.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Whether `NET_BIND_SERVICE` is needed when the service listens below 1024.
    #[serde(default)]
    pub low_port_cap: bool,
    /// Paths the image writes outside its volumes; `None` when not known.
    pub tmpfs: Option<Vec<String>>,
    /// Paths it writes that are not declared volumes: `read_only` needs a mount there.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// The entrypoint or Dockerfile line that needs it.
    pub source: String,
}

impl ImageInfo {
    /// Whether the image starts as root (its entrypoint may then fix ownership and switch user).
    pub fn starts_as_root(&self) -> bool {
        self.user.starts_with("root")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    image: Vec<ImageInfo>,
}

/// The text of `data/images.toml`.
pub const SOURCE: &str = include_str!("../../data/images.toml");

static TABLE: LazyLock<Vec<ImageInfo>> = LazyLock::new(|| {
    // NOTE: the file is compiled in; tests/images.rs checks it parses and is well-formed.
    toml::from_str::<File>(SOURCE)
        .expect("data/images.toml is valid (checked by tests/images.rs)")
        .image
});

/// Every entry of the table, in file order.
pub fn table() -> &'static [ImageInfo] {
    &TABLE
}

fn matches(pattern: &str, repo: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => repo.starts_with(prefix) && repo.len() > prefix.len(),
        None => pattern == repo,
    }
}

/// The table entry for `image`, if its family is known. Namespaced patterns (`ns/name`,
/// `ns/*`) are tried first, then bare names against the last path segment; an interpolated
/// repository (`${IMAGE}`) is unknown.
pub fn lookup(image: &str) -> Option<&'static ImageInfo> {
    let repo = crate::compose::image::repository(image);
    if repo.is_empty() || repo.contains('$') {
        return None;
    }
    let namespaced = table()
        .iter()
        .find(|i| i.repos.iter().any(|p| p.contains('/') && matches(p, &repo)));
    if namespaced.is_some() {
        return namespaced;
    }
    let last = repo.rsplit('/').next().unwrap_or(&repo);
    table()
        .iter()
        .find(|i| i.repos.iter().any(|p| !p.contains('/') && p == last))
}

/// Who the service's main process starts as, read from its `user:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartUser {
    /// No `user:`: the image's own default.
    Image,
    /// `user:` names root (`root`, `0`, `0:0`, `root:root`).
    Root,
    /// `user:` names a non-root user (kept as written).
    NonRoot(String),
    /// `user:` is interpolated (`${UID}:${GID}`): cannot tell.
    Interpolated(String),
}

impl StartUser {
    /// Read a service's `user:` value (`None`: not set).
    pub fn from_user(user: Option<&str>) -> StartUser {
        let Some(u) = user.map(str::trim).filter(|u| !u.is_empty()) else {
            return StartUser::Image;
        };
        if u.contains('$') {
            return StartUser::Interpolated(u.to_string());
        }
        let name = u.split(':').next().unwrap_or(u).trim();
        if name == "root" || name == "0" {
            StartUser::Root
        } else {
            StartUser::NonRoot(u.to_string())
        }
    }
}

/// Why a service gets the capabilities the built-in knowledge gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A table entry, started as the image's user or as root on a root image.
    Known(&'static ImageInfo),
    /// A table entry whose image normally runs as a non-root user, started as root by
    /// `user:`: the table does not know what it does then, so the user-switch set.
    KnownAsRoot(&'static ImageInfo),
    /// Any image started with a non-root `user:`: nothing (it cannot use capabilities).
    NonRootUser(String),
    /// An image outside the table (or the table is off), started as root or as its unknown
    /// default user: the user-switch set.
    Unknown {
        /// Why the user is taken as root: `None` for the image default, else the `user:` text.
        user: Option<String>,
    },
}

impl Decision {
    /// Decide for an image (`None`: no `image:`) and the service's start user.
    pub fn new(image: Option<&str>, user: &StartUser, use_table: bool) -> Decision {
        if let StartUser::NonRoot(u) = user {
            return Decision::NonRootUser(u.clone());
        }
        let info = if use_table {
            image.and_then(lookup)
        } else {
            None
        };
        match (info, user) {
            (Some(i), StartUser::Root) if !i.starts_as_root() => Decision::KnownAsRoot(i),
            (Some(i), _) => Decision::Known(i),
            (None, StartUser::Image) => Decision::Unknown { user: None },
            (None, StartUser::Root) => Decision::Unknown {
                user: Some("root".into()),
            },
            (None, StartUser::Interpolated(u)) => Decision::Unknown {
                user: Some(u.clone()),
            },
            (None, StartUser::NonRoot(_)) => unreachable!("handled above"),
        }
    }

    /// The capabilities to add back; `listens_low` says whether the service listens below 1024.
    pub fn caps(&self, listens_low: bool) -> Vec<String> {
        match self {
            Decision::Known(i) => {
                let mut caps = i.caps.clone();
                if i.low_port_cap && listens_low {
                    caps.push("NET_BIND_SERVICE".into());
                }
                caps
            }
            Decision::KnownAsRoot(_) | Decision::Unknown { .. } => {
                USER_SWITCH_CAPS.iter().map(|c| c.to_string()).collect()
            }
            Decision::NonRootUser(_) => Vec::new(),
        }
    }

    /// The family name when the table decided.
    pub fn family(&self) -> Option<&'static str> {
        match self {
            Decision::Known(i) | Decision::KnownAsRoot(i) => Some(i.family.as_str()),
            _ => None,
        }
    }
}

/// `data/images.toml` rendered as Markdown (the committed `docs/images.md`).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Built-in image knowledge\n\nGenerated from `data/images.toml`; a test keeps this file \
in step with it (`UPDATE_DOCS=1 cargo test --test images`).\n\n`cap-drop-all` and `privileged` \
add back the capabilities below with `cap_drop: [ALL]`; `read-only-rootfs` adds the `tmpfs` \
paths with `read_only: true` (\"unknown\": the service is reported, not edited). A repository \
is matched without registry host, `library/` and tag: `ns/name` exactly, `ns/*` a namespace, a \
bare name as the last path segment (so `openbmp/postgres` is `postgres`); namespaced patterns \
win. A profile's `[services.NAME] cap-add` / `tmpfs` or `[images.\"REPO\"]` replaces an entry \
(docs/profiles.md).\n\n\
Images outside the table get `cap_drop: [ALL]` plus the set a root-started entrypoint needs to \
fix ownership and switch user: ",
    );
    s.push_str(&USER_SWITCH_CAPS.join(", "));
    s.push_str(
        " (NET_RAW, MKNOD, SYS_CHROOT, SETPCAP, SETFCAP, AUDIT_WRITE, KILL, FSETID and \
NET_BIND_SERVICE stay dropped). A service with a non-root `user:` gets nothing back, whatever \
its image: a non-root process cannot use added capabilities. A known image that normally runs \
as a non-root user but is started with `user: root` gets the user-switch set.\n\n\
| family | repositories | starts as | cap_add with `cap_drop: [ALL]` | tmpfs with `read_only: true` |\n\
|---|---|---|---|---|\n",
    );
    for i in table() {
        let mut caps = if i.caps.is_empty() {
            "none".to_string()
        } else {
            i.caps.join(", ")
        };
        if i.low_port_cap {
            caps.push_str(" (+ NET_BIND_SERVICE below 1024)");
        }
        let mut tmpfs = match &i.tmpfs {
            None => "unknown".to_string(),
            Some(t) if t.is_empty() => "none".to_string(),
            Some(t) => t.join(", "),
        };
        if !i.volumes.is_empty() {
            tmpfs.push_str(&format!(" (needs a volume at {})", i.volumes.join(", ")));
        }
        let repos: Vec<String> = i.repos.iter().map(|r| format!("`{r}`")).collect();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            i.family,
            repos.join(", "),
            i.user,
            caps,
            tmpfs
        ));
    }
    s.push_str("\n## Sources\n\n");
    for i in table() {
        s.push_str(&format!(
            "- **{}**: {}\n",
            i.family,
            i.source.replace('|', "\\|")
        ));
    }
    s.push_str(
        "\n\"Below 1024\": a published or exposed container port below 1024, or no port declared \
at all (the image default, e.g. nginx on 80).\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_prefers_namespaces() {
        assert_eq!(
            lookup("openbmp/postgres:2.2.1").map(|i| i.family.as_str()),
            Some("postgres")
        );
        assert_eq!(
            lookup("docker.io/bitnami/postgresql:16").map(|i| i.family.as_str()),
            Some("bitnami")
        );
        assert_eq!(
            lookup("confluentinc/cp-kafka:7.1.1").map(|i| i.family.as_str()),
            Some("confluent")
        );
        assert!(lookup("confluentinc/other").is_none());
        assert!(lookup("${IMAGE}").is_none());
        assert!(lookup("example/app:1").is_none());
    }

    #[test]
    fn start_user() {
        assert_eq!(StartUser::from_user(None), StartUser::Image);
        assert_eq!(StartUser::from_user(Some("0:0")), StartUser::Root);
        assert_eq!(StartUser::from_user(Some("root")), StartUser::Root);
        assert_eq!(
            StartUser::from_user(Some("1000:1000")),
            StartUser::NonRoot("1000:1000".into())
        );
        assert!(matches!(
            StartUser::from_user(Some("${UID}")),
            StartUser::Interpolated(_)
        ));
    }

    #[test]
    fn unknown_images_keep_the_user_switch_set() {
        let d = Decision::new(Some("example/app:1"), &StartUser::Image, true);
        assert_eq!(d.caps(false), USER_SWITCH_CAPS);
        let d = Decision::new(
            Some("example/app:1"),
            &StartUser::NonRoot("1000".into()),
            true,
        );
        assert!(d.caps(true).is_empty());
        // A non-root image started as root: the table cannot say, so the user-switch set.
        let d = Decision::new(Some("grafana/grafana"), &StartUser::Root, true);
        assert!(matches!(d, Decision::KnownAsRoot(_)));
        assert_eq!(d.caps(false), USER_SWITCH_CAPS);
    }
}
