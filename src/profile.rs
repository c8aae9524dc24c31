//! Profiles: TOML files that choose rules and their options, globally and per service.
//! Built-in profiles are compiled into the binary; a file may `extends` one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Built-in profiles: (name, TOML text).
pub const BUILTINS: &[(&str, &str)] = &[
    ("baseline", include_str!("../profiles/baseline.toml")),
    ("strict", include_str!("../profiles/strict.toml")),
    ("openbmp", include_str!("../profiles/openbmp.toml")),
    ("production", include_str!("../profiles/production.toml")),
];

/// A problem with a profile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}{position}: {message}")]
pub struct ProfileError {
    /// The profile's file path or `built-in profile NAME`.
    pub origin: String,
    /// `:line:col` when known, else empty.
    pub position: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Options of the `no-new-privileges` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NoNewPrivilegesOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
}

// ---- network rules (public-port, kafka-host-listener) ----

/// What `public-port` does with a port published on all interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortAction {
    /// Bind it to the loopback address (default).
    #[default]
    Loopback,
    /// Remove the `ports:` item.
    Drop,
    /// Leave it public on purpose (reported as info).
    Keep,
}

/// Options of the `public-port` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PublicPortOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Default action for every service (`loopback` when unset).
    pub action: Option<PortAction>,
    /// Source subnets allowed to reach ports kept public (for the firewall rules of the
    /// operator checklist), e.g. `["10.100.0.0/24"]`.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// The host's external interface for those firewall rules (`eth0`); unset: the interface
    /// of the default route, found when the rules are installed.
    pub external_interface: Option<String>,
}

/// What `kafka-host-listener` does with a host-facing listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KafkaAction {
    /// Remove the listener and the `ports:` item that publishes it (default).
    #[default]
    Drop,
    /// Keep the listener; bind its published port to 127.0.0.1.
    Loopback,
    /// Leave it; only report (with the SASL_SSL advice when it is PLAINTEXT).
    Keep,
}

/// Options of the `kafka-host-listener` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KafkaHostListenerOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// What to do with host-facing listeners (`drop` when unset).
    pub action: Option<KafkaAction>,
}

// ---- end network rules ----

/// Options of the `hardcoded-secret` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HardcodedSecretOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Extra key patterns that name a credential (words like `PIN`, or globs like `*_AUTH`).
    #[serde(default)]
    pub extra_keys: Vec<String>,
    /// Environment keys never reported (exact names or globs).
    #[serde(default)]
    pub ignore_keys: Vec<String>,
    /// Values reported without a fix (known dummies, e.g. in test stacks).
    #[serde(default)]
    pub ignore_values: Vec<String>,
    /// The text after `:?` (default `set in .env`; `$` and `}` are dropped).
    pub message: Option<String>,
    /// Per-variable overrides, keyed by the variable name the rule would choose.
    #[serde(default)]
    pub vars: BTreeMap<String, SecretVarOptions>,
    /// Groups of keys that must share one variable when they hold the same literal.
    #[serde(default)]
    pub link: Vec<Vec<String>>,
}

/// `[rules.hardcoded-secret.vars.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretVarOptions {
    /// Use this variable name instead.
    pub name: Option<String>,
    /// Value format: `base64`, `hex`, `alnum` or `alnum:N`.
    pub format: Option<crate::secrets::generate::Format>,
}

/// Options of a rule that only has an on/off switch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToggleOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
}

/// Options of `cap-drop-all` and `privileged`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CapOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Add back the built-in image table's capabilities for known images (default true).
    pub image_table: Option<bool>,
}

/// Options of `read-only-rootfs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReadOnlyOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Make services whose image is in the built-in table read-only without a profile entry
    /// (default true); when false only services with `read-only = true` are edited.
    pub image_table: Option<bool>,
}

/// Options of `resource-limits`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourceLimitsOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Default CPU limit (`cpus`), e.g. `1.0`.
    pub cpus: Option<f64>,
    /// Default memory limit (`mem_limit`), e.g. `"512m"`.
    pub mem_limit: Option<String>,
    /// Default process limit (`pids_limit`), e.g. `512`.
    pub pids_limit: Option<i64>,
}

/// Options of `unconfined`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UnconfinedOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Offer the removal of the `security_opt` item as a `review` fix (default false).
    pub fix: Option<bool>,
}

// ---- restart-policy, logging-limits, network-segmentation, docker-socket fix ----

/// The policy `restart-policy` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicyValue {
    /// `unless-stopped` (default): restart unless an operator stopped it.
    #[default]
    UnlessStopped,
    /// `always`.
    Always,
    /// `on-failure`: only after a non-zero exit.
    OnFailure,
}

impl RestartPolicyValue {
    /// The Compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicyValue::UnlessStopped => "unless-stopped",
            RestartPolicyValue::Always => "always",
            RestartPolicyValue::OnFailure => "on-failure",
        }
    }
}

/// Options of `restart-policy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RestartPolicyOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// The policy to add (`unless-stopped` when unset).
    pub policy: Option<RestartPolicyValue>,
}

/// Which services `logging-limits` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoggingScope {
    /// Services whose `logging:` uses the json-file driver without `max-size` (default).
    #[default]
    Declared,
    /// Also services with no `logging:` at all (the daemon's default driver, unbounded
    /// json-file unless `daemon.json` says otherwise).
    All,
}

/// Options of `logging-limits`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoggingLimitsOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// `declared` (default) or `all`.
    pub scope: Option<LoggingScope>,
    /// `max-size` to write (default `10m`).
    pub max_size: Option<String>,
    /// `max-file` to write (default 3).
    pub max_file: Option<u32>,
}

/// Options of `network-segmentation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkSegmentationOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Connections the Compose file does not show (configured in mounted files, typed into a
    /// UI): client service -> the services it connects to.
    #[serde(default)]
    pub connections: BTreeMap<String, Vec<String>>,
}

/// Options of `docker-socket`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DockerSocketOptions {
    /// Run the rule.
    pub enabled: Option<bool>,
    /// Offer the socket-proxy (or `:ro`) fix as a `review` fix (default false: report only).
    pub fix: Option<bool>,
}

// ---- end restart-policy, logging-limits, network-segmentation, docker-socket fix ----

/// One section per rule id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// `[rules.no-new-privileges]`.
    #[serde(rename = "no-new-privileges")]
    pub no_new_privileges: Option<NoNewPrivilegesOptions>,
    /// `[rules.public-port]`.
    #[serde(rename = "public-port")]
    pub public_port: Option<PublicPortOptions>,
    /// `[rules.kafka-host-listener]`.
    #[serde(rename = "kafka-host-listener")]
    pub kafka_host_listener: Option<KafkaHostListenerOptions>,
    /// `[rules.hardcoded-secret]`.
    #[serde(rename = "hardcoded-secret")]
    pub hardcoded_secret: Option<HardcodedSecretOptions>,
    /// `[rules.privileged]`.
    pub privileged: Option<CapOptions>,
    /// `[rules.cap-drop-all]`.
    #[serde(rename = "cap-drop-all")]
    pub cap_drop_all: Option<CapOptions>,
    /// `[rules.read-only-rootfs]`.
    #[serde(rename = "read-only-rootfs")]
    pub read_only_rootfs: Option<ReadOnlyOptions>,
    /// `[rules.resource-limits]`.
    #[serde(rename = "resource-limits")]
    pub resource_limits: Option<ResourceLimitsOptions>,
    /// `[rules.docker-socket]`.
    #[serde(rename = "docker-socket")]
    pub docker_socket: Option<DockerSocketOptions>,
    /// `[rules.host-namespace]`.
    #[serde(rename = "host-namespace")]
    pub host_namespace: Option<ToggleOptions>,
    /// `[rules.unconfined]`.
    pub unconfined: Option<UnconfinedOptions>,
    /// `[rules.unpinned-image]`.
    #[serde(rename = "unpinned-image")]
    pub unpinned_image: Option<ToggleOptions>,
    /// `[rules.sensitive-mount]`.
    #[serde(rename = "sensitive-mount")]
    pub sensitive_mount: Option<ToggleOptions>,
    /// `[rules.dangerous-cap-add]`.
    #[serde(rename = "dangerous-cap-add")]
    pub dangerous_cap_add: Option<ToggleOptions>,
    /// `[rules.postgres-trust-auth]`.
    #[serde(rename = "postgres-trust-auth")]
    pub postgres_trust_auth: Option<ToggleOptions>,
    /// `[rules.dev-root-token]`.
    #[serde(rename = "dev-root-token")]
    pub dev_root_token: Option<ToggleOptions>,
    /// `[rules.logging-limits]`.
    #[serde(rename = "logging-limits")]
    pub logging_limits: Option<LoggingLimitsOptions>,
    /// `[rules.non-root-user]`.
    #[serde(rename = "non-root-user")]
    pub non_root_user: Option<ToggleOptions>,
    /// `[rules.restart-policy]`.
    #[serde(rename = "restart-policy")]
    pub restart_policy: Option<RestartPolicyOptions>,
    /// `[rules.network-segmentation]`.
    #[serde(rename = "network-segmentation")]
    pub network_segmentation: Option<NetworkSegmentationOptions>,
    /// `[rules.project-file]`.
    #[serde(rename = "project-file")]
    pub project_file: Option<ToggleOptions>,
}

impl RulesConfig {
    /// Whether rule `id` may use the built-in image table (`image-table`, default true).
    pub fn image_table(&self, id: &str) -> bool {
        match id {
            "privileged" => self.privileged.as_ref().and_then(|o| o.image_table),
            "cap-drop-all" => self.cap_drop_all.as_ref().and_then(|o| o.image_table),
            "read-only-rootfs" => self.read_only_rootfs.as_ref().and_then(|o| o.image_table),
            _ => None,
        }
        .unwrap_or(true)
    }
}

/// Per-service settings, `[services.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceConfig {
    /// Rule ids not to run on this service.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// `public-port`: action for every port of this service (overrides the rule's `action`).
    pub ports: Option<PortAction>,
    /// `public-port`: action per port, keyed by the published port as written (`"5000"`,
    /// `"9090-9091"`), or the container port when nothing is published (`"80"`); a key may
    /// carry a protocol (`"514/udp"`) to match only that protocol. Overrides `ports`.
    #[serde(default)]
    pub port_actions: BTreeMap<String, PortAction>,
    /// Capabilities the service gets back after `cap_drop: [ALL]` (replaces the image table).
    pub cap_add: Option<Vec<String>>,
    /// Added capabilities accepted with a reason (`dangerous-cap-add` reports them as info).
    #[serde(default)]
    pub accept_cap_add: BTreeMap<String, String>,
    /// `true`: make the root filesystem read-only; `false`: never.
    pub read_only: Option<bool>,
    /// tmpfs paths the service needs with `read_only: true` (replaces the image table).
    pub tmpfs: Option<Vec<String>>,
    /// CPU limit for this service.
    pub cpus: Option<f64>,
    /// Memory limit for this service.
    pub mem_limit: Option<String>,
    /// Process limit for this service.
    pub pids_limit: Option<i64>,
    /// Source subnets allowed to reach this service's public ports (overrides
    /// `[rules.public-port] allow-from` in the operator checklist).
    #[serde(default)]
    pub allow_from: Vec<String>,
}

/// One list of rule ids and their option slots: `enabled` and `set_enabled` cannot disagree.
macro_rules! rule_switches {
    ($($id:literal => $field:ident,)*) => {
        impl RulesConfig {
            /// Record whether rule `id` runs (the engine's plan does this for every rule, so
            /// rules that consult another rule's switch see what `--select`/`--ignore` made of
            /// it).
            pub fn set_enabled(&mut self, id: &str, on: bool) {
                match id {
                    $($id => self.$field.get_or_insert_with(Default::default).enabled = Some(on),)*
                    _ => {}
                }
            }

            /// Whether the profile enables rule `id` (`None` when it does not say).
            pub fn enabled(&self, id: &str) -> Option<bool> {
                match id {
                    $($id => self.$field.as_ref()?.enabled,)*
                    _ => None,
                }
            }
        }
    };
}

rule_switches! {
    "no-new-privileges" => no_new_privileges,
    "public-port" => public_port,
    "kafka-host-listener" => kafka_host_listener,
    "hardcoded-secret" => hardcoded_secret,
    "privileged" => privileged,
    "cap-drop-all" => cap_drop_all,
    "read-only-rootfs" => read_only_rootfs,
    "resource-limits" => resource_limits,
    "docker-socket" => docker_socket,
    "host-namespace" => host_namespace,
    "unconfined" => unconfined,
    "unpinned-image" => unpinned_image,
    "sensitive-mount" => sensitive_mount,
    "dangerous-cap-add" => dangerous_cap_add,
    "postgres-trust-auth" => postgres_trust_auth,
    "dev-root-token" => dev_root_token,
    "logging-limits" => logging_limits,
    "non-root-user" => non_root_user,
    "restart-policy" => restart_policy,
    "network-segmentation" => network_segmentation,
    "project-file" => project_file,
}

/// An extra YAML file that holds secrets, `[[files]]` (e.g. Grafana provisioning).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExtraFile {
    /// Path relative to the first Compose file's directory.
    pub path: String,
    /// Paths inside the file (`datasources[*].secureJsonData.password`) -> variable name; the
    /// value becomes `$VAR`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// The service that reads the file and gets the variables in its `environment:`
    /// (default: the service that mounts the file's directory).
    pub service: Option<String>,
}

/// Per-image settings, `[images."REPOSITORY"]` (repository without tag, e.g.
/// `"openbmp/postgres"`): apply to every service running that image unless the service's own
/// section says otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageConfig {
    /// Capabilities services of this image get back after `cap_drop: [ALL]`.
    pub cap_add: Option<Vec<String>>,
    /// tmpfs paths services of this image need with `read_only: true`.
    pub tmpfs: Option<Vec<String>>,
}

/// Where a loaded profile came from: what the user named and a hash of its text (and of every
/// profile it extends), recorded in diffs and apply manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSource {
    /// As given: a built-in name (`openbmp`) or a path (`./site.toml`).
    pub spec: String,
    /// Whether `spec` named a built-in profile.
    pub builtin: bool,
    /// SHA-256 (hex) over the profile's text and the texts it extends, in load order.
    pub sha256: String,
}

/// A profile as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// Where it was loaded from (not part of the TOML).
    #[serde(skip)]
    pub source: Option<ProfileSource>,
    /// A built-in profile name or a path (relative to this file) to start from.
    pub extends: Option<String>,
    /// One line about the profile.
    pub description: Option<String>,
    /// Rule sections.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Per-service sections.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
    /// Per-image sections.
    #[serde(default)]
    pub images: BTreeMap<String, ImageConfig>,
    /// Extra files that hold secrets, `[[files]]`.
    #[serde(default)]
    pub files: Vec<ExtraFile>,
}

impl Profile {
    /// Whether rule `id` should run on service `service`.
    pub fn service_ignores(&self, service: &str, id: &str) -> bool {
        self.services
            .get(service)
            .is_some_and(|s| s.ignore.iter().any(|r| r == id))
    }

    /// The `public-port` action for a port of `service` published as `published` (or, when
    /// nothing is published, container port `target`) with `protocol` (`None` = tcp).
    pub fn port_action(
        &self,
        service: &str,
        published: Option<&str>,
        target: &str,
        protocol: Option<&str>,
    ) -> PortAction {
        let key = published.filter(|p| !p.is_empty()).unwrap_or(target);
        let proto = protocol.unwrap_or("tcp").to_ascii_lowercase();
        if let Some(s) = self.services.get(service) {
            let with_proto = format!("{key}/{proto}");
            if let Some(a) = s
                .port_actions
                .get(&with_proto)
                .or_else(|| s.port_actions.get(key))
            {
                return *a;
            }
            if let Some(a) = s.ports {
                return a;
            }
        }
        self.rules
            .public_port
            .as_ref()
            .and_then(|o| o.action)
            .unwrap_or_default()
    }

    /// Source subnets allowed to reach the public ports of `service` (the service's
    /// `allow-from`, else the rule's; empty when the profile does not say).
    pub fn allow_from(&self, service: &str) -> Vec<String> {
        match self.services.get(service) {
            Some(s) if !s.allow_from.is_empty() => s.allow_from.clone(),
            _ => self
                .rules
                .public_port
                .as_ref()
                .map(|o| o.allow_from.clone())
                .unwrap_or_default(),
        }
    }

    /// The `kafka-host-listener` action.
    pub fn kafka_action(&self) -> KafkaAction {
        self.rules
            .kafka_host_listener
            .as_ref()
            .and_then(|o| o.action)
            .unwrap_or_default()
    }

    /// The policy `restart-policy` writes.
    pub fn restart_policy(&self) -> &'static str {
        self.rules
            .restart_policy
            .as_ref()
            .and_then(|o| o.policy)
            .unwrap_or_default()
            .as_str()
    }

    /// `logging-limits`: (scope, max-size, max-file).
    pub fn logging_limits(&self) -> (LoggingScope, String, u32) {
        let o = self.rules.logging_limits.as_ref();
        (
            o.and_then(|o| o.scope).unwrap_or_default(),
            o.and_then(|o| o.max_size.clone())
                .unwrap_or_else(|| "10m".into()),
            o.and_then(|o| o.max_file).unwrap_or(3),
        )
    }

    /// `network-segmentation`: connections the profile declares (client -> servers).
    pub fn declared_connections(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        self.rules
            .network_segmentation
            .as_ref()
            .map(|o| &o.connections)
    }

    /// Whether `docker-socket` offers its fix.
    pub fn docker_socket_fix(&self) -> bool {
        self.rules
            .docker_socket
            .as_ref()
            .and_then(|o| o.fix)
            .unwrap_or(false)
    }

    /// The `[services.NAME]` section, if any.
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.get(name)
    }

    /// The `[images."REPO"]` section for `image` (matched on the repository without registry
    /// host, `library/` and tag), if any.
    pub fn image(&self, image: &str) -> Option<&ImageConfig> {
        let repo = crate::compose::image::repository(image);
        self.images
            .iter()
            .find(|(k, _)| crate::compose::image::repository(k) == repo)
            .map(|(_, v)| v)
    }

    /// The built-in profile `name`.
    pub fn builtin(name: &str) -> Option<Result<Profile, ProfileError>> {
        let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name)?;
        let mut hasher = Hasher::default();
        Some(
            load_text(
                text,
                &format!("built-in profile `{name}`"),
                None,
                0,
                &mut hasher,
            )
            .map(|mut p| {
                p.source = Some(ProfileSource {
                    spec: name.to_string(),
                    builtin: true,
                    sha256: hasher.finish(),
                });
                p
            }),
        )
    }

    /// Load `spec`. A built-in name wins over any file or directory of that name; a profile
    /// file is named by a path that contains `/` (`./site`, `/etc/site.toml`) or ends in
    /// `.toml` (`site.toml`).
    pub fn load(spec: &str) -> Result<Profile, ProfileError> {
        let looks_like_path = spec.contains('/') || spec.ends_with(".toml");
        if !looks_like_path {
            return Profile::builtin(spec).unwrap_or_else(|| {
                let mut message = format!(
                    "no built-in profile by that name (built-in: {})",
                    BUILTINS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                );
                if Path::new(spec).is_file() {
                    message.push_str(&format!(
                        "; a file named `{spec}` is here: to use it, pass `--profile ./{spec}`"
                    ));
                } else {
                    message.push_str(
                        "; to use a profile file, give a path with `/` or a `.toml` name (`./NAME`, `NAME.toml`)",
                    );
                }
                Err(ProfileError {
                    origin: format!("profile `{spec}`"),
                    position: String::new(),
                    message,
                })
            });
        }
        let mut hasher = Hasher::default();
        let mut p = load_file(Path::new(spec), 0, &mut hasher)?;
        p.source = Some(ProfileSource {
            spec: spec.to_string(),
            builtin: false,
            sha256: hasher.finish(),
        });
        Ok(p)
    }

    /// The source's spec, or `baseline`-style text for messages (`?` when unknown).
    pub fn spec(&self) -> &str {
        self.source.as_ref().map_or("?", |s| s.spec.as_str())
    }
}

/// SHA-256 over the texts of a profile and its `extends` chain.
#[derive(Default)]
struct Hasher(sha2::Sha256);

impl Hasher {
    fn add(&mut self, text: &str) {
        use sha2::Digest;
        // Length-prefixed, so two chains never hash the same by shifting bytes between texts.
        self.0.update((text.len() as u64).to_le_bytes());
        self.0.update(text.as_bytes());
    }

    fn finish(self) -> String {
        use sha2::Digest;
        hex::encode(self.0.finalize())
    }
}

fn load_file(path: &Path, depth: usize, hasher: &mut Hasher) -> Result<Profile, ProfileError> {
    let table = load_file_table(path, depth, hasher)?;
    into_profile(table, &path.display().to_string())
}

fn load_file_table(
    path: &Path,
    depth: usize,
    hasher: &mut Hasher,
) -> Result<toml::Table, ProfileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
        origin: origin.clone(),
        position: String::new(),
        message: format!("cannot read the profile: {e}"),
    })?;
    load_table(&text, &origin, path.parent(), depth, hasher)
}

fn into_profile(table: toml::Table, origin: &str) -> Result<Profile, ProfileError> {
    table.try_into().map_err(|e: toml::de::Error| ProfileError {
        origin: origin.to_string(),
        position: String::new(),
        message: e.message().trim().to_string(),
    })
}

fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> ProfileError {
    let position = e
        .span()
        .map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(":{line}:{col}")
        })
        .unwrap_or_default();
    ProfileError {
        origin: origin.to_string(),
        position,
        message: e.message().trim().to_string(),
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn load_text(
    text: &str,
    origin: &str,
    dir: Option<&Path>,
    depth: usize,
    hasher: &mut Hasher,
) -> Result<Profile, ProfileError> {
    into_profile(load_table(text, origin, dir, depth, hasher)?, origin)
}

/// Validate one profile text on its own (so errors point at its lines), then merge it over
/// the profile it extends.
fn load_table(
    text: &str,
    origin: &str,
    dir: Option<&Path>,
    depth: usize,
    hasher: &mut Hasher,
) -> Result<toml::Table, ProfileError> {
    hasher.add(text);
    let own: Profile = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
    let mut table: toml::Table = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
    table.remove("extends");
    let Some(parent) = own.extends else {
        return Ok(table);
    };
    if depth > 8 {
        return Err(ProfileError {
            origin: origin.to_string(),
            position: String::new(),
            message: "`extends` chain deeper than 8 (a cycle?)".into(),
        });
    }
    let builtin = BUILTINS.iter().find(|(n, _)| *n == parent);
    let mut base = match builtin {
        Some((name, t)) => load_table(
            t,
            &format!("built-in profile `{name}`"),
            None,
            depth + 1,
            hasher,
        )?,
        None => {
            let p = dir.unwrap_or(Path::new(".")).join(&parent);
            if !p.exists() {
                return Err(ProfileError {
                    origin: origin.to_string(),
                    position: String::new(),
                    message: format!(
                        "`extends = \"{parent}\"`: no built-in profile by that name and no file {}",
                        p.display()
                    ),
                });
            }
            load_file_table(&p, depth + 1, hasher)?
        }
    };
    base.remove("description");
    merge(&mut base, table);
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_baseline_loads() {
        let p = Profile::builtin("baseline")
            .expect("exists")
            .expect("valid");
        assert_eq!(p.rules.enabled("no-new-privileges"), Some(true));
    }

    #[test]
    fn every_builtin_loads() {
        for (name, _) in BUILTINS {
            let p = Profile::builtin(name).expect("exists").expect("valid");
            assert_eq!(p.rules.enabled("no-new-privileges"), Some(true), "{name}");
        }
        let o = Profile::builtin("openbmp").expect("exists").expect("valid");
        assert_eq!(
            o.service("psql").and_then(|s| s.cap_add.clone()),
            Some(vec![
                "CHOWN".into(),
                "SETUID".into(),
                "SETGID".into(),
                "DAC_OVERRIDE".into()
            ])
        );
        assert_eq!(o.rules.enabled("resource-limits"), Some(true));
        assert!(o
            .service("traffic-gen")
            .is_some_and(|s| s.accept_cap_add.contains_key("NET_ADMIN")));
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let e = load_text(
            "[rules.no-new-privileges]\nenabled = true\nbogus = 1\n",
            "p.toml",
            None,
            0,
            &mut Hasher::default(),
        )
        .expect_err("unknown key");
        assert_eq!(e.position, ":3:1");
        assert!(e.message.contains("bogus"), "{}", e.message);
    }

    #[test]
    fn extends_merges_over_builtin() {
        let p = load_text(
            "extends = \"baseline\"\n[rules.no-new-privileges]\nenabled = false\n",
            "p.toml",
            None,
            0,
            &mut Hasher::default(),
        )
        .expect("valid");
        assert_eq!(p.rules.enabled("no-new-privileges"), Some(false));
    }

    #[test]
    fn openbmp_keeps_collector_5000() {
        let p = Profile::builtin("openbmp").expect("exists").expect("valid");
        assert_eq!(p.rules.enabled("public-port"), Some(true));
        assert_eq!(p.rules.enabled("kafka-host-listener"), Some(true));
        assert_eq!(p.rules.enabled("no-new-privileges"), Some(true));
        assert_eq!(
            p.port_action("collector", Some("5000"), "5000", None),
            PortAction::Keep
        );
        assert_eq!(
            p.port_action("collector", Some("5001"), "5001", None),
            PortAction::Loopback
        );
        assert_eq!(
            p.port_action("psql", Some("5432"), "5432", None),
            PortAction::Loopback
        );
        assert_eq!(p.kafka_action(), KafkaAction::Drop);
        assert_eq!(
            p.allow_from("collector"),
            ["10.100.0.0/24", "10.100.1.0/24"]
        );
    }

    #[test]
    fn port_action_precedence() {
        let p = load_text(
            "[rules.public-port]\naction = \"drop\"\n[services.a]\nports = \"keep\"\n\
             port-actions = { \"80\" = \"loopback\", \"514/udp\" = \"drop\" }\n",
            "p.toml",
            None,
            0,
            &mut Hasher::default(),
        )
        .expect("valid");
        assert_eq!(
            p.port_action("a", Some("80"), "8080", None),
            PortAction::Loopback
        );
        assert_eq!(
            p.port_action("a", None, "80", Some("tcp")),
            PortAction::Loopback
        );
        assert_eq!(
            p.port_action("a", Some("443"), "443", None),
            PortAction::Keep
        );
        assert_eq!(
            p.port_action("a", Some("514"), "514", Some("udp")),
            PortAction::Drop
        );
        assert_eq!(
            p.port_action("a", Some("514"), "514", None),
            PortAction::Keep
        );
        assert_eq!(p.port_action("b", Some("80"), "80", None), PortAction::Drop);
        let e = load_text(
            "[services.a]\nports = \"open\"\n",
            "p.toml",
            None,
            0,
            &mut Hasher::default(),
        )
        .expect_err("bad action");
        assert!(e.message.contains("open"), "{}", e.message);
    }
}

#[cfg(test)]
mod builtin_tests {
    use super::*;

    #[test]
    fn set_enabled_covers_every_rule() {
        let mut r = RulesConfig::default();
        for rule in crate::rules::REGISTRY {
            let id = rule.meta().id;
            r.set_enabled(id, true);
            assert_eq!(r.enabled(id), Some(true), "{id}");
            r.set_enabled(id, false);
            assert_eq!(r.enabled(id), Some(false), "{id}");
        }
    }

    #[test]
    fn builtin_names_and_paths_with_a_slash_or_toml() {
        // A directory named like a built-in is covered by tests/window.rs (it needs a cwd).
        let d = tempfile::tempdir().expect("tempdir");
        let p = Profile::load("openbmp").expect("the built-in");
        assert!(p
            .source
            .as_ref()
            .is_some_and(|s| s.builtin && s.spec == "openbmp"));
        let file = d.path().join("site.toml");
        std::fs::write(&file, "extends = \"baseline\"\n").expect("write");
        let spec = file.to_string_lossy().into_owned();
        let f = Profile::load(&spec).expect("a path");
        let src = f.source.expect("source");
        assert!(!src.builtin);
        assert_eq!(src.sha256.len(), 64);
        let b = Profile::load("baseline")
            .expect("builtin")
            .source
            .expect("src");
        assert_ne!(src.sha256, b.sha256, "the file's own text is hashed too");
        let e = Profile::load("no-such-profile").expect_err("unknown");
        assert!(e.message.contains("./NAME"), "{}", e.message);
    }

    #[test]
    fn every_builtin_loads_and_baseline_decides_every_rule() {
        for (name, _) in BUILTINS {
            Profile::builtin(name).expect("listed").expect("valid");
        }
        let p = Profile::builtin("baseline")
            .expect("listed")
            .expect("valid");
        for r in crate::rules::REGISTRY {
            let id = r.meta().id;
            assert!(
                p.rules.enabled(id).is_some(),
                "baseline says nothing about `{id}`"
            );
        }
        assert_eq!(p.rules.enabled("hardcoded-secret"), Some(true));
    }
}
