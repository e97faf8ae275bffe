//! The collector against a real SQLite file (the embedded default): hostile inputs,
//! replays and conflicts, batches, slow bodies and load shedding, and `kill -9`.

mod common;

use common::collector_suite as suite;
use common::http::Backend;

#[test]
fn ingest_replay_conflict_and_reads() {
    suite::ingest_replay_conflict_and_reads(&Backend::Sqlite);
}

#[test]
fn hostile_inputs_are_refused_and_change_nothing() {
    suite::hostile_inputs_are_refused_and_change_nothing(&Backend::Sqlite);
}

#[test]
fn batches_are_stored_whole() {
    suite::batches_are_stored_whole(&Backend::Sqlite);
}

#[test]
fn slow_bodies_time_out_and_overload_sheds() {
    suite::slow_bodies_time_out_and_overload_sheds(&Backend::Sqlite);
}

#[test]
fn acknowledged_reports_survive_kill_9() {
    suite::acknowledged_reports_survive_kill_9(&Backend::Sqlite);
}
