//! `fleetscope identify` never panics: not on any fixture, not on missing, empty or
//! garbage files, not on fixtures whose files are mutated at random.

mod common;

use common::fleetscope;

use fleetscope::probe::identify::{fixture_from_bytes, identify, Sysroot};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[test]
fn bad_fixture_files_get_a_clear_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("fleetscope-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty.json", b"", "not JSON"),
        ("garbage.json", b"\x00\xff\xfe garbage {{{", "not JSON"),
        ("array.json", b"[1,2,3]", "top level must be a JSON object"),
        (
            "wrong-type.json",
            br#"{"files": 3}"#,
            "`files` must be an object",
        ),
        (
            "no-keys.json",
            br#"{"device": "x"}"#,
            "neither `files` nor `properties`",
        ),
    ];
    for (name, bytes, message) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code, _, err) =
            fleetscope(&["identify", "--fixture", path.to_str().unwrap(), "--json"]);
        assert_eq!(code, 2, "{name}: exit code {code}, stderr {err}");
        assert!(
            err.contains(message),
            "{name}: stderr {err:?} lacks {message:?}"
        );
    }
    let (code, _, err) = fleetscope(&["identify", "--fixture", "/nonexistent/fixture.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read fixture"), "{err}");
    let (code, _, err) = fleetscope(&[
        "identify",
        "--sysroot",
        dir.join("empty.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");

    // An empty snapshot and an empty directory identify as "nothing known", with reasons.
    let path = dir.join("bare.json");
    std::fs::write(&path, br#"{"files": {}, "properties": {}}"#).unwrap();
    let (code, out, _) = fleetscope(&["identify", "--fixture", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["soc"].get("chipset").is_none(),
        "unknown must be absent, not a placeholder: {}",
        v["soc"]
    );
    assert!(v["issues"]
        .as_array()
        .is_some_and(|i| i.iter().any(|x| x["stage"] == "soc")));
    let empty = dir.join("emptyroot");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, out, _) = fleetscope(&["identify", "--sysroot", empty.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SoC      unknown"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_fixture_through_the_cli_prints_one_json_object() {
    let Some(datasets) = common::shared_datasets() else {
        return;
    };
    for (name, path) in common::device_fixtures(&datasets) {
        let (code, out, err) =
            fleetscope(&["identify", "--fixture", path.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cpus = v["cpu"]["cpus"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no cpu.cpus"));
        for c in cpus {
            assert!(c["id"].is_u64() && c["online"].is_boolean(), "{name}: {c}");
            let cluster = c["cluster"].as_u64();
            assert!(
                cluster.is_some_and(
                    |k| (k as usize) < v["cpu"]["clusters"].as_array().map_or(0, Vec::len)
                ),
                "{name}: cluster of {c}"
            );
        }
        if let Some(vendor) = v["soc"]["vendor"].as_str() {
            assert_ne!(vendor, "QTI");
            for field in ["chipset", "name"] {
                if let Some(s) = v["soc"][field].as_str() {
                    assert!(
                        !s.to_lowercase().starts_with(&vendor.to_lowercase()),
                        "{name}: soc.{field} repeats the vendor: {s}"
                    );
                }
            }
        }
    }
}

/// A mutation of one fixture file: replace it, truncate it, or delete it.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, String),
    Truncate(usize, usize),
    Delete(usize),
    Prop(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let nasty = prop_oneof![
        any::<String>(),
        "[0-9 ,\\-]{0,20}",
        Just("0-4294967295".to_string()),
        Just("-99999999999999999999999".to_string()),
        Just("processor : 7\nCPU implementer : 0xZZ\nCPU part : 0xfffffffff\n".to_string()),
        Just("\u{0}\u{0}\u{feff}".to_string()),
        Just("Hardware : Qualcomm Technologies, Inc MSM".to_string()),
    ];
    prop_oneof![
        (any::<usize>(), nasty.clone()).prop_map(|(i, s)| Mutation::Replace(i, s)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Truncate(i, n)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), nasty).prop_map(|(i, s)| Mutation::Prop(i, s)),
    ]
}

/// (files, properties) of one fixture.
type Snapshot = (BTreeMap<String, String>, BTreeMap<String, String>);

fn fixture_sources() -> Vec<Snapshot> {
    let Some(datasets) = common::shared_datasets() else {
        return Vec::new();
    };
    common::device_fixtures(&datasets)
        .into_iter()
        .map(|(_, path)| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            let map = |k: &str| -> BTreeMap<String, String> {
                v[k].as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(a, b)| Some((a.clone(), b.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            (map("files"), map("properties"))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(which in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..12)) {
        static SOURCES: std::sync::OnceLock<Vec<Snapshot>> = std::sync::OnceLock::new();
        let sources = SOURCES.get_or_init(fixture_sources);
        let (mut files, mut props) = if sources.is_empty() { (BTreeMap::new(), BTreeMap::new()) } else { sources[which % sources.len()].clone() };
        for m in mutations {
            let keys: Vec<String> = files.keys().cloned().collect();
            let pkeys: Vec<String> = props.keys().cloned().collect();
            match m {
                Mutation::Replace(i, s) if !keys.is_empty() => { files.insert(keys[i % keys.len()].clone(), s); }
                Mutation::Truncate(i, n) if !keys.is_empty() => {
                    let k = &keys[i % keys.len()];
                    let text = files[k].clone();
                    let cut = text.char_indices().map(|(p, _)| p).nth(n % (text.chars().count() + 1)).unwrap_or(text.len());
                    files.insert(k.clone(), text[..cut].to_string());
                }
                Mutation::Delete(i) if !keys.is_empty() => { files.remove(&keys[i % keys.len()]); }
                Mutation::Prop(i, s) if !pkeys.is_empty() => { props.insert(pkeys[i % pkeys.len()].clone(), s); }
                _ => {}
            }
        }
        let id = identify(&Sysroot::snapshot(files, props, "mutated"));
        prop_assert!(serde_json::to_string(&id).is_ok());
        for c in &id.cpu.cpus {
            prop_assert!(c.cluster.is_some_and(|k| (k as usize) < id.cpu.clusters.len()));
        }
    }

    #[test]
    fn arbitrary_fixture_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(sys) = fixture_from_bytes(&bytes, "random") {
            let _ = identify(&sys);
        }
    }
}
