//! `public-port` and `kafka-host-listener` over the shared corpus (`COMPOSE_HARDEN_CORPUS`):
//! outputs re-parse and converge; no port stays published on all interfaces unless it is
//! interpolated or its finding explains why it was refused or kept; every Kafka broker keeps
//! its inter-broker and controller listeners and a consistent protocol map.

mod support;

use compose_harden::compose::kafka::{self, ListenerVar};
use compose_harden::compose::ports::{self, Exposure};
use compose_harden::compose::Compose;
use compose_harden::engine::{self, Plan};
use compose_harden::profile::Profile;
use compose_harden::rules::Severity;
use compose_harden::yaml::{NodeKind, Yaml};

const RULES: &[&str] = &["public-port", "kafka-host-listener"];

fn plan() -> Plan {
    let profile = Profile::load("baseline").expect("baseline");
    let select: Vec<String> = RULES.iter().map(|s| s.to_string()).collect();
    Plan::new(profile, &select, &[]).expect("plan")
}

/// Listener variables of every service: (service, [(var, value)]).
fn kafka_vars(y: &Yaml, c: &Compose) -> Vec<(String, Vec<(ListenerVar, String)>)> {
    let mut out = Vec::new();
    for s in &c.services {
        let Some(env) = s.get(y, "environment") else {
            continue;
        };
        let mut vars = Vec::new();
        match &y.node(env.resolved).kind {
            NodeKind::Seq { items } => {
                for &i in items {
                    if let Some((k, v)) = y.scalar(y.resolve(i)).and_then(|t| t.split_once('=')) {
                        if let Some(var) = kafka::classify_var(k) {
                            vars.push((var, v.to_string()));
                        }
                    }
                }
            }
            NodeKind::Map { entries } => {
                for e in entries {
                    let (Some(k), Some(v)) = (y.scalar(e.key), y.scalar(y.resolve(e.value))) else {
                        continue;
                    };
                    if let Some(var) = kafka::classify_var(k) {
                        vars.push((var, v.to_string()));
                    }
                }
            }
            _ => {}
        }
        if !vars.is_empty() {
            out.push((s.name.clone(), vars));
        }
    }
    out
}

/// Consistency facts of one broker: listener names missing a protocol-map entry, map entries
/// naming no listener, and inter-broker/controller names naming no listener.
fn kafka_problems(vars: &[(ListenerVar, String)]) -> Vec<String> {
    let mut names = Vec::new();
    let mut map = None::<Vec<String>>;
    for (v, s) in vars {
        match v {
            ListenerVar::Listeners | ListenerVar::AdvertisedListeners => {
                if let Ok(ls) = kafka::parse_listeners(s) {
                    names.extend(ls.into_iter().map(|l| l.name.to_ascii_uppercase()));
                }
            }
            ListenerVar::ProtocolMap => {
                if let Ok(m) = kafka::parse_protocol_map(s) {
                    map.get_or_insert_with(Vec::new)
                        .extend(m.into_iter().map(|e| e.name.to_ascii_uppercase()));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(map) = &map {
        for n in &names {
            if !map.contains(n) {
                out.push(format!("listener {n} has no protocol map entry"));
            }
        }
        for m in map {
            if !names.contains(m) {
                out.push(format!("protocol map entry {m} names no listener"));
            }
        }
    }
    for (v, s) in vars {
        if matches!(
            v,
            ListenerVar::InterBrokerName | ListenerVar::ControllerNames
        ) {
            for n in kafka::parse_names(s).unwrap_or_default() {
                if !names.contains(&n.to_ascii_uppercase()) {
                    out.push(format!("{v:?} {n} names no listener"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn network_rules_over_corpus() {
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    let plan = plan();
    let (mut checked, mut changed, mut kafka_checked) = (0, 0, 0);
    for path in files {
        let d = path.to_string_lossy().into_owned();
        let Ok(text) = engine::read(&path, &d, plan.max_size) else {
            continue;
        };
        // Files the tool rejects as input are not this test's concern.
        let Ok(r) = engine::process(&plan, &d, text) else {
            continue;
        };
        assert!(r.errors().is_empty(), "{d}: {:?}", r.errors());
        checked += 1;
        if r.output != r.input() {
            changed += 1;
        }
        // The output re-parses and converges.
        let r2 = engine::process(&plan, &d, r.output.clone())
            .unwrap_or_else(|e| panic!("{d}: output does not re-parse: {e}"));
        assert!(r2.errors().is_empty(), "{d}: {:?}", r2.errors());
        assert_eq!(
            r2.output, r.output,
            "{d}: second run changes the output again"
        );
        assert!(r2.rejected.is_empty(), "{d}: second run holds fixes back");

        // No port published on all interfaces is left without a reason.
        let (y, c) = engine::parse(r.output.clone(), &d).expect("parse output");
        for s in &c.services {
            let Some(p) = s.get(&y, "ports") else {
                continue;
            };
            let Some(items) = y.items(p.resolved) else {
                continue;
            };
            for &i in items {
                let n = y.resolve(i);
                let exposure = match &y.node(n).kind {
                    NodeKind::Scalar { .. } => {
                        match ports::parse_short(y.scalar(n).unwrap_or_default()) {
                            Ok(spec) => spec.exposure(),
                            Err(_) => continue,
                        }
                    }
                    NodeKind::Map { .. } => ports::long_form_exposure(
                        y.get(n, "host_ip").and_then(|h| y.scalar(y.resolve(h))),
                    ),
                    _ => continue,
                };
                if exposure != Exposure::AllInterfaces {
                    continue;
                }
                let at = y.node(n).span.start;
                let f = r2
                    .findings
                    .iter()
                    .find(|f| f.rule == "public-port" && f.at == at)
                    .unwrap_or_else(|| {
                        panic!(
                            "{d}: service `{}` still publishes {:?} on all interfaces, unreported",
                            s.name,
                            &y.text[y.node(n).span.clone()]
                        )
                    });
                assert!(f.fix.is_none(), "{d}: fixable port left: {}", f.message);
                assert!(
                    f.note.is_some() || f.severity == Severity::Info,
                    "{d}: port left public without a reason: {}",
                    f.message
                );
            }
        }

        // Kafka brokers stay consistent: no problem the input did not have.
        let (yi, ci) = engine::parse(r.input().to_string(), &d).expect("parse input");
        let before = kafka_vars(&yi, &ci);
        let after = kafka_vars(&y, &c);
        for (name, vars_before) in &before {
            let Some((_, vars_after)) = after.iter().find(|(n, _)| n == name) else {
                panic!("{d}: service `{name}` lost its Kafka settings");
            };
            kafka_checked += 1;
            let pb = kafka_problems(vars_before);
            for p in kafka_problems(vars_after) {
                assert!(pb.contains(&p), "{d}: service `{name}`: {p} after the fix");
            }
        }
    }
    eprintln!(
        "{checked} corpus file(s) checked, {changed} changed, {kafka_checked} Kafka service(s)"
    );
    assert!(checked > 0);
}

/// Both rules on one flow `ports:` list: kafka-host-listener removes its item, public-port
/// rewrites the others; no fix is held back and the result converges.
#[test]
fn both_rules_share_a_flow_list() {
    let path = support::root().join("tests/fixtures/kafka-host-listener/flow-shared-list.yml");
    let plan = plan();
    let d = path.to_string_lossy().into_owned();
    let text = engine::read(&path, &d, plan.max_size).expect("read");
    let r = engine::process(&plan, &d, text).expect("process");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert!(r.rejected.is_empty(), "held back: {:?}", r.rejected);
    assert!(
        r.output.contains(r#"ports: ["127.0.0.1:9092:9092"]"#),
        "{}",
        r.output
    );
    assert!(!r.output.contains("EXTERNAL"), "{}", r.output);
    let r2 = engine::process(&plan, &d, r.output.clone()).expect("process again");
    assert_eq!(r2.output, r.output);
}
