//! PostgreSQL, for several collector nodes behind one load balancer: the same tables
//! as SQLite, `report_id` unique across nodes, one transaction per group commit.
//! Rooms as SQLite's: `migrations` (the schema, under an advisory lock), and `tls`
//! (libpq's sslmode over rustls).

mod migrations;
mod tls;

use super::{DeviceIdentity, DeviceRow, Incoming, Outcome, Store, StoreError};
use migrations::migrate;
use postgres::{Client, NoTls};
use std::sync::Mutex;

pub struct PgStore {
    writer: Mutex<Client>,
    reader: Mutex<Client>,
}

pub(super) fn err(context: &str) -> impl Fn(postgres::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl PgStore {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let target = tls::target(url)?;
        let connector = tls::connector(&target)?;
        let connect = || {
            match &connector {
                Some(tls) => Client::connect(&target.url, tls.clone()),
                None => Client::connect(&target.url, NoTls),
            }
            .map_err(|e| {
                let why = chain(&e);
                let hint = if why.contains("invalid peer certificate") {
                    "; name the CA that signed the server's certificate with sslrootcert=PATH in \
                     the URL (or sslmode=require encrypts without checking it)"
                } else {
                    ""
                };
                StoreError(format!("cannot connect to PostgreSQL: {why}{hint}"))
            })
        };
        let mut writer = connect()?;
        migrate(&mut writer)?;
        let reader = connect()?;
        Ok(PgStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

/// An error with every cause under it (`error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer`): the top line alone does not say what to fix.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text += &format!(": {c}");
        cause = c.source();
    }
    text
}

/// The advisory lock writers hold shared from drawing sequences to commit, and an
/// export takes exclusively to find its watermark (`fleetseq` as bytes; distinct
/// from the migrations' key).
const SEQ_LOCK: i64 = 0x666c_6565_7473_6571;

impl Store for PgStore {
    /// Set-based: one INSERT of every report (unnest, ON CONFLICT DO NOTHING), one
    /// look-up of the ids that were already there, one INSERT of every result row and
    /// one upsert per device: a handful of round trips per group commit, not three per
    /// report.
    fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Outcome>, StoreError> {
        let mut c = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut tx = c.transaction().map_err(err("begin"))?;
        let ids: Vec<&str> = batch.iter().map(|i| i.report_id.as_str()).collect();
        let shas: Vec<&str> = batch.iter().map(|i| i.sha256.as_str()).collect();
        let hashes: Vec<Option<&str>> = batch
            .iter()
            .map(|i| i.device.device_hash.as_deref())
            .collect();
        let raws: Vec<&str> = batch.iter().map(|i| i.canonical.as_str()).collect();
        // Writers hold the sequence lock shared (never waiting for each other) from
        // before they draw sequence numbers to their commit; an export takes it
        // exclusively for a moment to learn a sequence below which nothing is in flight.
        tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&SEQ_LOCK])
            .map_err(err("take the sequence lock"))?;
        // Another node may insert the same id concurrently: the unique index decides.
        // Sequences follow batch order (ORDER BY the ordinality).
        let inserted = tx
            .query(
                "INSERT INTO reports (report_id, sha256, device_hash, raw)
                 SELECT id, sha, dev, raw FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                   WITH ORDINALITY AS b(id, sha, dev, raw, ord) ORDER BY ord
                 ON CONFLICT (report_id) DO NOTHING RETURNING report_id, seq",
                &[&ids, &shas, &hashes, &raws],
            )
            .map_err(err("insert reports"))?;
        let mut new_seq: std::collections::HashMap<String, i64> = inserted
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        // Ids that were stored before (or twice in this batch): their seq and digest.
        let mut known: std::collections::HashMap<String, (i64, String)> = Default::default();
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !new_seq.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            for r in tx
                .query(
                    "SELECT report_id, seq, sha256 FROM reports WHERE report_id = ANY($1)",
                    &[&missing],
                )
                .map_err(err("look up report_id"))?
            {
                known.insert(r.get(0), (r.get(1), r.get(2)));
            }
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut stored: Vec<(&Incoming, i64)> = Vec::new();
        for inc in batch {
            let id = inc.report_id.as_str();
            if let Some(seq) = new_seq.remove(id) {
                // First occurrence in this batch: stored now; later ones compare with it.
                known.insert(id.to_string(), (seq, inc.sha256.clone()));
                stored.push((inc, seq));
                outcomes.push(Outcome::Stored { seq });
            } else {
                let (seq, sha) = known.get(id).cloned().ok_or_else(|| {
                    StoreError(format!("report {id} was neither inserted nor found"))
                })?;
                outcomes.push(if sha == inc.sha256 {
                    Outcome::Duplicate { seq }
                } else {
                    Outcome::Conflict { seq }
                });
            }
        }
        upsert_devices(&mut tx, &stored)?;
        tx.commit().map_err(err("commit"))?;
        Ok(outcomes)
    }

    fn get(&self, report_id: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(c.query_opt(
            "SELECT raw FROM reports WHERE report_id = $1",
            &[&report_id],
        )
        .map_err(err("get report"))?
        .map(|r| r.get(0)))
    }

    /// Reports after `since` up to a watermark: with the sequence lock held
    /// exclusively, every writer that drew a sequence has committed or rolled back, so
    /// no report at or below the highest stored sequence can still appear. The lock is
    /// released at once; reports that commit later have higher sequences, so paging by
    /// sequence never skips one (several nodes may commit out of sequence order). This
    /// needs the sequence to hand out numbers in call order (`CACHE 1`, BIGSERIAL's
    /// default): cached sequences give each session its own block.
    fn export(&self, since: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut tx = c.transaction().map_err(err("begin"))?;
        // A writer stuck in its transaction must not stall the export, nor every other
        // writer queued behind the export's request: give up and let the client retry.
        tx.batch_execute("SET LOCAL lock_timeout = '5s'")
            .map_err(err("set the lock timeout"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])
            .map_err(err("take the sequence lock (a writer held it over 5 s)"))?;
        let watermark: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM reports", &[])
            .map_err(err("export watermark"))?
            .get(0);
        tx.commit().map_err(err("commit"))?;
        let rows = c
            .query(
                "SELECT seq, raw FROM reports WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
                &[&since, &watermark, &(limit as i64)],
            )
            .map_err(err("export"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn devices(&self, after: &str, limit: usize) -> Result<Vec<DeviceRow>, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let rows = c
            .query("SELECT device_hash, model, soc_vendor, soc_chipset, reports, last_seq FROM devices WHERE device_hash > $1 ORDER BY device_hash LIMIT $2", &[&after, &(limit as i64)])
            .map_err(err("devices"))?;
        Ok(rows
            .iter()
            .map(|r| DeviceRow {
                device_hash: r.get(0),
                model: r.get(1),
                soc_vendor: r.get(2),
                soc_chipset: r.get(3),
                reports: r.get(4),
                last_seq: r.get(5),
            })
            .collect())
    }

    fn count(&self) -> Result<u64, StoreError> {
        let mut c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM reports", &[])
            .map_err(err("count"))?
            .get(0);
        Ok(n as u64)
    }
}

/// One upsert per device of the batch: its latest report's identity, how many reports
/// it sent, its highest sequence.
fn upsert_devices(
    tx: &mut postgres::Transaction,
    stored: &[(&Incoming, i64)],
) -> Result<(), StoreError> {
    let mut by_device: std::collections::BTreeMap<&str, (&Incoming, i64, i64)> = Default::default();
    for (inc, seq) in stored {
        if let Some(hash) = inc.device.device_hash.as_deref() {
            let e = by_device.entry(hash).or_insert((inc, *seq, 0));
            e.2 += 1;
            if *seq >= e.1 {
                e.0 = inc;
                e.1 = *seq;
            }
        }
    }
    if by_device.is_empty() {
        return Ok(());
    }
    let hashes: Vec<&str> = by_device.keys().copied().collect();
    let col = |f: &dyn Fn(&DeviceIdentity) -> Option<&str>| -> Vec<Option<&str>> {
        by_device.values().map(|(i, _, _)| f(&i.device)).collect()
    };
    let model = col(&|d| d.model.as_deref());
    let manufacturer = col(&|d| d.manufacturer.as_deref());
    let vendor = col(&|d| d.soc_vendor.as_deref());
    let chipset = col(&|d| d.soc_chipset.as_deref());
    let name = col(&|d| d.soc_name.as_deref());
    let reports: Vec<i64> = by_device.values().map(|v| v.2).collect();
    let last: Vec<i64> = by_device.values().map(|v| v.1).collect();
    tx.execute(
        "INSERT INTO devices (device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
         ON CONFLICT (device_hash) DO UPDATE SET model = EXCLUDED.model, manufacturer = EXCLUDED.manufacturer, soc_vendor = EXCLUDED.soc_vendor,
           soc_chipset = EXCLUDED.soc_chipset, soc_name = EXCLUDED.soc_name, reports = devices.reports + EXCLUDED.reports,
           last_seq = GREATEST(devices.last_seq, EXCLUDED.last_seq)",
        &[&hashes, &model, &manufacturer, &vendor, &chipset, &name, &reports, &last],
    )
    .map_err(err("upsert devices"))?;
    Ok(())
}
