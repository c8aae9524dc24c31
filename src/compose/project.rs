//! A Compose project as `docker compose` loads it: the main files in order, the files they
//! `include:` (each with its own project directory) and the files `extends: {file: …}` names,
//! each read and parsed once, then merged ([`Model`]).
//!
//! A referenced file that does not exist is a [`Problem`] at the reference (the services that
//! need it say what they cannot see); a file that exists but cannot be read or parsed is an
//! error, as it is for Docker Compose.

use std::path::{Component, Path, PathBuf};

use super::merge::{Model, Problem, Role, Source};
use super::model::{Compose, Extends};
use crate::error::Error;
use crate::yaml::{NodeId, NodeKind, Yaml};

/// Top-level keys of the Compose specification.
const COMPOSE_KEYS: &[&str] = &[
    "services", "version", "name", "include", "networks", "volumes", "secrets", "configs", "models",
];

/// Reads and parses one file: (path, display) -> its tree and services (the engine's
/// `read` + `parse`, so size limits, decoding and error positions are the engine's).
pub type Reader<'r> = dyn Fn(&Path, &str) -> Result<(Yaml, Compose), Error> + 'r;

/// One file of a project.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// Where it is read and written (relative to the working directory when given so).
    pub path: PathBuf,
    /// The path shown in messages and diff headers.
    pub display: String,
    /// The parsed text.
    pub yaml: Yaml,
    /// Its services.
    pub compose: Compose,
    /// What it is to the project.
    pub role: Role,
    /// The directory its relative references are resolved against (its project directory).
    pub dir: PathBuf,
    /// Per document: its `include:` items, each the loaded files of that item.
    pub includes: Vec<Vec<Vec<usize>>>,
    /// `extends.file` value nodes and the file each names, when it was loaded.
    pub extends: Vec<(NodeId, Option<usize>)>,
}

/// Every file of a project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Files in load order: the main files first, then what they reference.
    pub files: Vec<ProjectFile>,
    /// The main files (indices into `files`), in the order Compose merges them.
    pub main: Vec<usize>,
    /// Problems found while loading (missing references, files that are not Compose files).
    pub problems: Vec<Problem>,
}

/// `a/./b/../c` -> `a/c` without touching the file system (leading `..` are kept).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

fn dir_of(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn display_of(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Whether a reference names a remote resource (`include` of a Git repository or OCI artifact).
fn is_remote(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@")
}

/// An `include:` item: its paths (value nodes) and project directory.
struct IncludeItem {
    paths: Vec<NodeId>,
    project_dir: Option<NodeId>,
}

fn include_items(y: &Yaml, doc: usize) -> Vec<IncludeItem> {
    let Some(inc) = y.get(y.docs[doc].root, "include") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &it in y.items(inc).unwrap_or(&[]) {
        let it = y.resolve(it);
        if y.scalar(it).is_some() {
            out.push(IncludeItem {
                paths: vec![it],
                project_dir: None,
            });
            continue;
        }
        let Some(p) = y.get(it, "path").map(|p| y.resolve(p)) else {
            continue;
        };
        let paths = match y.items(p) {
            Some(items) => items.iter().map(|&i| y.resolve(i)).collect(),
            None => vec![p],
        };
        out.push(IncludeItem {
            paths,
            project_dir: y.get(it, "project_directory").map(|d| y.resolve(d)),
        });
    }
    out
}

impl Project {
    /// A project of one parsed file; its references are not followed.
    pub fn single(display: &str, yaml: Yaml, compose: Compose) -> Project {
        let docs = yaml.docs.len();
        let mut p = Project {
            files: vec![ProjectFile {
                path: PathBuf::from(display),
                display: display.to_string(),
                yaml,
                compose,
                role: Role::Main,
                dir: dir_of(Path::new(display)),
                includes: vec![Vec::new(); docs],
                extends: Vec::new(),
            }],
            main: vec![0],
            problems: Vec::new(),
        };
        p.check_shape(0);
        p
    }

    /// Load the project whose main files are `paths` (in order), following `include:` and
    /// `extends.file`. Relative references of the main files resolve against the directory of
    /// the first one, as Docker Compose resolves them.
    pub fn load(paths: &[PathBuf], read: &Reader<'_>) -> Result<Project, Error> {
        let mut p = Project::default();
        let project_dir = paths.first().map(|f| dir_of(f)).unwrap_or_default();
        for path in paths {
            let display = display_of(path);
            let i = p.add(path.clone(), display, Role::Main, project_dir.clone(), read)?;
            if !p.main.contains(&i) {
                p.main.push(i);
            }
        }
        let mut next = 0;
        while next < p.files.len() {
            p.follow(next, read)?;
            next += 1;
        }
        for i in 0..p.files.len() {
            if p.files[i].role != Role::Base {
                p.check_shape(i);
            }
        }
        Ok(p)
    }

    /// The file at `path` (loading it when new); its index.
    fn add(
        &mut self,
        path: PathBuf,
        display: String,
        role: Role,
        dir: PathBuf,
        read: &Reader<'_>,
    ) -> Result<usize, Error> {
        let canon = std::fs::canonicalize(&path).ok();
        if let Some(i) = self.files.iter().position(|f| {
            f.path == path || (canon.is_some() && std::fs::canonicalize(&f.path).ok() == canon)
        }) {
            // The strongest role wins (a main file also used as an `extends` base stays main).
            let rank = |r: Role| match r {
                Role::Main => 2,
                Role::Included => 1,
                Role::Base => 0,
            };
            if rank(role) > rank(self.files[i].role) {
                self.files[i].role = role;
                self.files[i].dir = dir;
            }
            return Ok(i);
        }
        let (yaml, compose) = read(&path, &display)?;
        let docs = yaml.docs.len();
        self.files.push(ProjectFile {
            path,
            display,
            yaml,
            compose,
            role,
            dir,
            includes: vec![Vec::new(); docs],
            extends: Vec::new(),
        });
        Ok(self.files.len() - 1)
    }

    /// Resolve `text` (a path written in file `f`) against `base`; `None` (with a problem at
    /// `node`) when it cannot be followed.
    fn resolve(&mut self, f: usize, node: NodeId, base: &Path, what: &str) -> Option<PathBuf> {
        let y = &self.files[f].yaml;
        let text = y.scalar(node).unwrap_or_default().trim().to_string();
        let at = y.node(node).span.start;
        let problem = |message: String| Problem {
            file: f,
            at,
            message,
        };
        if is_remote(&text) {
            self.problems.push(problem(format!(
                "{what} `{text}` is remote: it is not read, so its services are not checked or hardened"
            )));
            return None;
        }
        if text.contains('$') {
            self.problems.push(problem(format!(
                "{what} `{text}` uses a variable: it is not followed, so what it defines is not checked or hardened"
            )));
            return None;
        }
        let p = Path::new(&text);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            normalize(&base.join(p))
        };
        if !full.is_file() {
            let shown = display_of(&full);
            let resolved = if shown == text {
                String::new()
            } else {
                format!(" (resolved to `{shown}`)")
            };
            self.problems.push(problem(format!(
                "{what} `{text}`{resolved} does not exist; Docker Compose refuses the project until it does"
            )));
            return None;
        }
        Some(full)
    }

    /// Load what file `f` references: its `include:` items and `extends.file` targets.
    fn follow(&mut self, f: usize, read: &Reader<'_>) -> Result<(), Error> {
        let dir = self.files[f].dir.clone();
        let role = self.files[f].role;
        if role != Role::Base {
            for doc in 0..self.files[f].yaml.docs.len() {
                let items = include_items(&self.files[f].yaml, doc);
                let mut loaded: Vec<Vec<usize>> = Vec::new();
                for item in items {
                    let mut files = Vec::new();
                    let mut item_dir: Option<PathBuf> = item.project_dir.and_then(|d| {
                        let y = &self.files[f].yaml;
                        y.scalar(d).map(|t| normalize(&dir.join(t)))
                    });
                    for (k, &node) in item.paths.iter().enumerate() {
                        let Some(full) = self.resolve(f, node, &dir, "included file") else {
                            continue;
                        };
                        if k == 0 && item_dir.is_none() {
                            item_dir = Some(dir_of(&full));
                        }
                        let d = item_dir.clone().unwrap_or_else(|| dir_of(&full));
                        let display = display_of(&full);
                        let i = self.add(full, display, Role::Included, d, read)?;
                        if i == f || self.files[i].role == Role::Main {
                            let y = &self.files[f].yaml;
                            self.problems.push(Problem {
                                file: f,
                                at: y.node(node).span.start,
                                message: "this include names a file the project already loads (an include cycle); Docker Compose refuses it".into(),
                            });
                            continue;
                        }
                        files.push(i);
                    }
                    loaded.push(files);
                }
                self.files[f].includes[doc] = loaded;
            }
        }
        let refs: Vec<NodeId> = self.files[f]
            .compose
            .services
            .iter()
            .filter_map(|s| match &s.extends {
                Some(Extends::File { file, .. }) => Some(*file),
                _ => None,
            })
            .collect();
        for node in refs {
            if self.files[f].extends.iter().any(|(n, _)| *n == node) {
                continue;
            }
            let target = match self.resolve(f, node, &dir, "`extends` file") {
                Some(full) => {
                    let display = display_of(&full);
                    let d = dir_of(&full);
                    Some(self.add(full, display, Role::Base, d, read)?)
                }
                None => None,
            };
            self.files[f].extends.push((node, target));
        }
        Ok(())
    }

    /// Warn about a file that has neither `services:` nor any other Compose top-level key.
    fn check_shape(&mut self, f: usize) {
        let y = &self.files[f].yaml;
        let mut keys: Vec<String> = Vec::new();
        for d in &y.docs {
            if let NodeKind::Map { entries } = &y.node(d.root).kind {
                keys.extend(
                    entries
                        .iter()
                        .filter_map(|e| y.scalar(e.key))
                        .map(str::to_string),
                );
            }
        }
        if keys.iter().any(|k| COMPOSE_KEYS.contains(&k.as_str())) {
            return;
        }
        let shown: Vec<String> = keys.iter().take(5).map(|k| format!("`{k}`")).collect();
        self.problems.push(Problem {
            file: f,
            at: 0,
            message: format!(
                "this file has no `services:` or other Compose top-level key{}: it is not a Compose file, or a key is misspelt (nothing in it is checked)",
                if shown.is_empty() {
                    String::new()
                } else {
                    format!(" (it has {})", shown.join(", "))
                }
            ),
        });
    }

    /// The files as the merge reads them.
    pub fn sources(&self) -> Vec<Source<'_>> {
        self.files
            .iter()
            .map(|f| Source {
                yaml: &f.yaml,
                compose: &f.compose,
                display: &f.display,
                role: f.role,
                includes: &f.includes,
                extends: &f.extends,
            })
            .collect()
    }

    /// The merged project.
    pub fn model(&self) -> Model {
        Model::build(&self.sources(), &self.main, self.problems.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("./a/b/../c.yml")),
            PathBuf::from("a/c.yml")
        );
        assert_eq!(normalize(Path::new("../x/./y")), PathBuf::from("../x/y"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn loads_includes_and_extends_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, t).expect("write");
        };
        w(
            "compose.yml",
            "include:\n  - sub/db.yml\n  - gone.yml\nservices:\n  web:\n    extends: {file: base.yml, service: tmpl}\n  api:\n    extends: {file: nothere.yml, service: tmpl}\n",
        );
        w("sub/db.yml", "services:\n  db:\n    image: postgres:16\n");
        w("base.yml", "services:\n  tmpl:\n    image: nginx:1.27\n");
        let read = |p: &Path, d: &str| {
            let t = std::fs::read_to_string(p).expect("read");
            crate::engine::parse(t, d)
        };
        let p = Project::load(&[d.path().join("compose.yml")], &read).expect("load");
        let roles: Vec<Role> = p.files.iter().map(|f| f.role).collect();
        assert_eq!(roles, [Role::Main, Role::Included, Role::Base]);
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        let m = p.model();
        let names: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web", "api", "db"]);
        assert_eq!(m.services[0].layers.len(), 2);
        assert_eq!(m.services[1].gaps.len(), 1);
    }

    #[test]
    fn warns_about_a_file_without_compose_keys() {
        let one = |t: &str| {
            let (y, c) = crate::engine::parse(t.to_string(), "x.yml").expect("parse");
            Project::single("x.yml", y, c)
        };
        let p = one("foo: 1\nbar: 2\n");
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].message.contains("`foo`"), "{:?}", p.problems);
        let p = one("services: {}\n");
        assert!(p.problems.is_empty());
    }
}
