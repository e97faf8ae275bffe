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
