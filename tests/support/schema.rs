//! The Compose JSON schema (`../shared/spec/compose-spec.json`) for validating outputs.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};

use compose_harden::yaml::value::{documents, Data, ScalarKind};
use compose_harden::yaml::{Value, Yaml};

pub fn schema() -> Option<jsonschema::Validator> {
    let p = super::root().join("../shared/spec/compose-spec.json");
    let p = std::env::var_os("COMPOSE_HARDEN_SCHEMA").map_or(p, std::path::PathBuf::from);
    let text = std::fs::read_to_string(&p).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    Some(jsonschema::validator_for(&json).expect("schema compiles"))
}

/// A document value as JSON. Aliases are replaced by their anchor's value; merge keys stay.
pub fn to_json(v: &Value, anchors: &mut HashMap<String, serde_json::Value>) -> serde_json::Value {
    use serde_json::Value as J;
    let out = match &v.data {
        Data::Scalar(kind, s) => match kind {
            ScalarKind::Null => J::Null,
            ScalarKind::Bool => J::Bool(s.eq_ignore_ascii_case("true")),
            ScalarKind::Int => {
                let parsed = if let Some(h) = s.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).ok()
                } else if let Some(o) = s.strip_prefix("0o") {
                    i64::from_str_radix(o, 8).ok()
                } else {
                    s.parse::<i64>().ok()
                };
                parsed.map_or_else(|| J::String(s.clone()), J::from)
            }
            ScalarKind::Float => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| J::String(s.clone()), J::Number),
            ScalarKind::Str => J::String(s.clone()),
        },
        Data::Seq(items) => J::Array(items.iter().map(|i| to_json(i, anchors)).collect()),
        Data::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, val) in entries {
                let key = match to_json(k, anchors) {
                    J::String(s) => s,
                    other => other.to_string(),
                };
                let val = to_json(val, anchors);
                m.insert(key, val);
            }
            J::Object(m)
        }
        Data::Alias(name) => anchors.get(name).cloned().unwrap_or(J::Null),
    };
    if let Some(a) = &v.anchor {
        anchors.insert(a.clone(), out.clone());
    }
    out
}

pub fn schema_errors(v: &jsonschema::Validator, text: &str) -> BTreeSet<String> {
    let y = Yaml::parse(text.to_string()).expect("parses");
    let mut errs = BTreeSet::new();
    for (i, d) in documents(&y).iter().enumerate() {
        let j = to_json(d, &mut HashMap::new());
        if j.is_null() {
            continue;
        }
        for e in v.iter_errors(&j) {
            errs.insert(format!("doc {i} {}", e.instance_path()));
        }
    }
    errs
}
