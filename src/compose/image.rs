//! Image references: the repository a reference names, and its tag.

/// The repository of an image reference, lower-cased, without registry host, tag, digest and
/// the `library/` prefix: `docker.io/library/nginx:1.27` → `nginx`. An interpolated first
/// segment (`${REGISTRY}/postgres`) is kept, so such names stay unknown to image tables.
pub fn repository(image: &str) -> String {
    repo(image, false)
}

/// Like [`repository`], but an interpolated registry is dropped too
/// (`${REGISTRY}/postgres:16` → `postgres`).
pub fn repository_any_registry(image: &str) -> String {
    repo(image, true)
}

fn repo(image: &str, drop_interpolated_registry: bool) -> String {
    let image = image.trim();
    let no_digest = image.split('@').next().unwrap_or(image);
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let mut parts: Vec<&str> = no_tag.split('/').collect();
    if parts.len() > 1 {
        let first = parts[0];
        let registry = first.contains(['.', ':'])
            || first == "localhost"
            || (drop_interpolated_registry && first.contains('$'));
        if registry {
            parts.remove(0);
        }
    }
    if parts.len() > 1 && parts[0] == "library" {
        parts.remove(0);
    }
    parts.join("/").to_ascii_lowercase()
}

/// The tag of an image reference (`None` when it has none); `@digest` references return
/// `Some("@")`.
pub fn tag(image: &str) -> Option<&str> {
    let image = image.trim();
    if image.contains('@') {
        return Some("@");
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    image[last_slash..]
        .find(':')
        .map(|i| &image[last_slash + i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_and_tag() {
        assert_eq!(repository("docker.io/library/nginx:1.27"), "nginx");
        assert_eq!(
            repository("registry.example.com:5000/openbmp/whois:2.2.0"),
            "openbmp/whois"
        );
        assert_eq!(repository("postgres@sha256:abc"), "postgres");
        assert_eq!(
            repository("${REGISTRY}/postgres:16"),
            "${registry}/postgres"
        );
        assert_eq!(tag("localhost:5000/app"), None);
        assert_eq!(tag("redis:latest"), Some("latest"));
    }

    #[test]
    fn images() {
        let cases: &[(&str, &str)] = &[
            ("postgres", "postgres"),
            ("postgres:16-alpine", "postgres"),
            ("docker.io/library/postgres:16@sha256:abc", "postgres"),
            ("library/postgres", "postgres"),
            ("openbmp/postgres:2.2.1", "openbmp/postgres"),
            (
                "localhost:5000/timescale/timescaledb:latest-pg16",
                "timescale/timescaledb",
            ),
            ("${REGISTRY}/postgres:${PG_TAG:-16}", "postgres"),
            ("ghcr.io/org/app:1", "org/app"),
            ("Mongo:7", "mongo"),
        ];
        for (image, want) in cases {
            assert_eq!(repository_any_registry(image), *want, "{image}");
        }
    }
}
