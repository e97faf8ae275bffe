//! The same collector scenarios against a real PostgreSQL server.
//! `scripts/test.sh` starts one (scripts/start-postgres.sh) and sets
//! `FLEETSCOPE_TEST_PG`; without it these tests say SKIPPED (and fail under CI).

mod common;

use common::collector_suite as suite;
use common::http::Backend;

fn backend() -> Option<Backend> {
    match std::env::var("FLEETSCOPE_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
        _ => {
            common::skip(
                "FLEETSCOPE_TEST_PG is not set (scripts/test.sh starts PostgreSQL and sets it)",
            );
            None
        }
    }
}

#[test]
fn ingest_replay_conflict_and_reads() {
    if let Some(b) = backend() {
        suite::ingest_replay_conflict_and_reads(&b);
    }
}

#[test]
fn hostile_inputs_are_refused_and_change_nothing() {
    if let Some(b) = backend() {
        suite::hostile_inputs_are_refused_and_change_nothing(&b);
    }
}

#[test]
fn batches_are_stored_whole() {
    if let Some(b) = backend() {
        suite::batches_are_stored_whole(&b);
    }
}

#[test]
fn slow_bodies_time_out_and_overload_sheds() {
    if let Some(b) = backend() {
        suite::slow_bodies_time_out_and_overload_sheds(&b);
    }
}

#[test]
fn load_generator_counts_match_the_store() {
    if let Some(b) = backend() {
        suite::load_generator_counts_match_the_store(&b);
    }
}

#[test]
fn acknowledged_reports_survive_kill_9() {
    if let Some(b) = backend() {
        suite::acknowledged_reports_survive_kill_9(&b);
    }
}

/// The CA that signed the test server's certificate (scripts/start-postgres.sh).
fn test_ca() -> std::path::PathBuf {
    std::env::var_os("FLEETSCOPE_TEST_PG_CA")
        .map(Into::into)
        .unwrap_or_else(|| "/tmp/fleetscope-pg-tls/ca.pem".into())
}

/// Whether every connection to `db` is encrypted, and how many there are.
fn encrypted_connections(admin: &str, db: &str) -> (bool, i64) {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&db],
        )
        .unwrap();
    let all = rows.iter().all(|r| r.get::<_, bool>(0));
    (all, rows.len() as i64)
}

#[test]
fn tls_require_and_verify_full() {
    let Some(Backend::Postgres(admin)) = backend() else {
        return;
    };
    let ca = test_ca();
    assert!(
        ca.is_file(),
        "scripts/start-postgres.sh writes the test CA at {}",
        ca.display()
    );
    // A fresh database, then collectors on it with each sslmode.
    let first = common::http::Collector::start_on(&Backend::Postgres(admin.clone()), "tls", &[]);
    let (dir, url) = (first.dir.clone(), first.db.clone());
    drop(first);
    let db_name = url.rsplit('/').next().unwrap().to_string();
    for query in [
        "sslmode=require".to_string(),
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    ] {
        let c = common::http::Collector::start_in(dir.clone(), &format!("{url}?{query}"), &[]);
        let r = c.post_report(&common::http::sample_report());
        assert_eq!(r.status, 201, "{query}: {}", r.text());
        let (all, n) = encrypted_connections(&admin, &db_name);
        assert!(
            n >= 2 && all,
            "{query}: {n} connections, all encrypted: {all}"
        );
        drop(c);
    }
    // verify-full against the public roots: the test CA is not one of them.
    let (code, _, err) = common::fleetscope(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &format!("{url}?sslmode=verify-full"),
        "--ingest-token-file",
        dir.join("ingest.tok").to_str().unwrap(),
        "--read-token-file",
        dir.join("read.tok").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    // A root file that is not a certificate is named.
    let bogus = dir.join("not-a-ca.pem");
    std::fs::write(&bogus, "hello").unwrap();
    let (code, _, err) = common::fleetscope(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &format!("{url}?sslmode=verify-full&sslrootcert={}", bogus.display()),
        "--ingest-token-file",
        dir.join("ingest.tok").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not-a-ca.pem"), "{err}");
}
