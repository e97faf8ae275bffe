//! `fleetscope upload` against a real collector on loopback: delivery, replays,
//! refusals that are kept, and the spool when the collector cannot be reached.

mod common;

use common::http::{sample_report, Collector};
use std::process::Command;

fn upload(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscope"))
        .arg("upload")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn upload_retries_refusals_and_spool() {
    let c = Collector::start("upload", &[]);
    let url = format!("http://{}", c.addr);
    let token = c.dir.join("ingest.tok");
    let token = token.to_str().unwrap();
    let files: Vec<String> = (0..3)
        .map(|i| {
            let p = c.dir.join(format!("r{i}.json"));
            std::fs::write(&p, serde_json::to_vec_pretty(&sample_report()).unwrap()).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--collector", &url, "--token-file", token]);
    let (code, out) = upload(&args);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches(": stored").count(), 3, "{out}");
    assert_eq!(c.stored(), 3);
    // Replays are acknowledged as duplicates and store nothing.
    let (code, out) = upload(&args);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("duplicate").count(), 3, "{out}");
    assert_eq!(c.stored(), 3);

    // An invalid file is not sent; a conflicting one is refused and kept.
    let bad = c.dir.join("bad.json");
    std::fs::write(&bad, b"{\"schema\": \"fleetscope.report/1\"}").unwrap();
    let mut changed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    changed["device"]["model"] = serde_json::json!("another phone");
    let conflict = c.dir.join("conflict.json");
    std::fs::write(&conflict, serde_json::to_vec(&changed).unwrap()).unwrap();
    let (code, out) = upload(&[
        bad.to_str().unwrap(),
        conflict.to_str().unwrap(),
        "--collector",
        &url,
        "--token-file",
        token,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not sent, the collector would refuse it"),
        "{out}"
    );
    assert!(out.contains("refused: HTTP 409"), "{out}");
    assert!(
        conflict.exists() && bad.exists(),
        "refused reports are never deleted"
    );
    assert_eq!(c.stored(), 3);

    // A wrong token is a refusal, not a retry loop.
    let wrong = c.dir.join("wrong.tok");
    std::fs::write(&wrong, "nope").unwrap();
    let fresh = c.dir.join("fresh.json");
    std::fs::write(&fresh, serde_json::to_vec(&sample_report()).unwrap()).unwrap();
    let (code, out) = upload(&[
        fresh.to_str().unwrap(),
        "--collector",
        &url,
        "--token-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("refused: HTTP 401"), "{out}");

    // The collector is unreachable: retries, then the report waits in the spool.
    let spool = c.dir.join("spool");
    let dead = "http://127.0.0.1:1";
    let (code, out) = upload(&[
        fresh.to_str().unwrap(),
        "--collector",
        dead,
        "--token-file",
        token,
        "--spool",
        spool.to_str().unwrap(),
        "--max-attempts",
        "3",
        "--backoff-ms",
        "10",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not delivered: network"), "{out}");
    let spooled: Vec<_> = std::fs::read_dir(&spool).unwrap().collect();
    assert_eq!(spooled.len(), 1, "{out}");
    // Later, with the collector back: the spool is delivered and emptied.
    let (code, out) = upload(&[
        "--collector",
        &url,
        "--token-file",
        token,
        "--spool",
        spool.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": stored"), "{out}");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "delivered reports leave the spool"
    );
    assert_eq!(c.stored(), 4);
}
