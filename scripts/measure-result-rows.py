#!/usr/bin/env python3
"""How much of the SQLite writer's cost per report is the flattened `results` rows?

Replays the collector's write path (src/collector/store/sqlite/mod.rs, insert_batch)
with Python's sqlite3 on a fresh database in /tmp, in two arms:

  WITH     reports row + results rows (multi-row INSERTs of 64) + devices upsert
  WITHOUT  reports row + devices upsert

Group commits of --batch reports per transaction (the collector's batch at 5000
reports/s), WAL, synchronous=FULL, cache_size=-8192, wal_autocheckpoint=0, no
checkpoints at all (the WAL grows). The schema is the real one: the MIGRATIONS
literals are read from src/collector/store/sqlite/migrations.rs and applied in order.
Arms run interleaved (A B A B ...), a fresh database file per run.

Not replicated: the Rust code's write-gathering VFS (one write per commit; here SQLite's
unix VFS writes each WAL frame separately) and the checkpointer thread. Python's own
per-report overhead (building parameters, random ids) is in both arms.

Usage: scripts/measure-result-rows.py [-n 40000] [--rounds 3] [--rows 37] [--batch 20]
"""

import argparse
import datetime
import json
import os
import re
import sqlite3
import statistics
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS_RS = os.path.join(HERE, "..", "src", "collector", "store", "sqlite", "migrations.rs")
RESULT_ROWS_PER_INSERT = 64
RAW_BYTES = 7000  # zstd frame of a ~20 KB loadgen report

INSERT_REPORT = (
    "INSERT INTO reports (report_id, sha256, received_at, device_hash, raw) VALUES (?1, ?2, ?3, ?4, ?5)\n"
    "                     ON CONFLICT(report_id) DO NOTHING"
)
UPSERT_DEVICE = (
    "INSERT INTO devices (device_hash, model, manufacturer, soc_vendor, soc_chipset, soc_name, reports, last_seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)\n"
    "                     ON CONFLICT(device_hash) DO UPDATE SET model = excluded.model, manufacturer = excluded.manufacturer, "
    "soc_vendor = excluded.soc_vendor,\n"
    "                       soc_chipset = excluded.soc_chipset, soc_name = excluded.soc_name, "
    "reports = devices.reports + 1, last_seq = excluded.last_seq"
)


def migrations():
    src = open(MIGRATIONS_RS, encoding="utf-8").read()
    body = src[src.index("MIGRATIONS"):]
    body = body[: body.index("];")]
    sqls = re.findall(r'r#"(.*?)"#', body, re.S)
    if not sqls:
        sys.exit(f"no migrations found in {MIGRATIONS_RS}")
    return sqls


def insert_results_sql(n):
    ph = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * n)
    return ("INSERT INTO results (seq, idx, kernel, dtype, shape, threads, cpus, path, gops, "
            f"p50_us, p90_us, p99_us, cv, skipped) VALUES {ph}")


class XorShift:
    """crate::util::Rng, so the row values follow loadgen's template()."""
    M = (1 << 64) - 1

    def __init__(self, seed):
        self.x = ((seed * 0x9E3779B97F4A7C15) & self.M) | 1

    def unit(self):
        x = self.x
        x ^= (x << 13) & self.M
        x ^= x >> 7
        x ^= (x << 17) & self.M
        self.x = x
        return (x >> 11) / float(1 << 53)


def result_rows(count):
    """loadgen template()'s results as ResultRow columns (idx .. skipped, seq left out)."""
    kernels = [("gemm", "qs8-gemm-8x8c4-neondot (exact)"), ("gemm", "f32-gemm-8x8-neon"),
               ("conv3x3", "f32-igemm-8x8-neon"), ("dwconv3x3", "qs8-dwconv-neon"),
               ("gemv", "f32-gemv-neon")]
    shapes = [(3136, 64, 32), (784, 128, 128), (196, 256, 256), (49, 1024, 1024),
              (12544, 32, 16), (512, 512, 512)]
    rng = XorShift(0x5EED)
    rows = []
    for i in range(count):
        kernel, path = kernels[i % 5]
        m, n, k = shapes[(i // 5) % 6]
        threads = [1, 4][i % 2]
        ops = 2 * m * n * k
        p50 = 20.0 + 5000.0 * rng.unit()
        spread = 0.01 + 0.2 * rng.unit()
        for _ in range(5):  # samples, freq_khz, temp before/after: keep the sequence
            rng.unit()
        rows.append((
            i, kernel, "i8" if path.startswith("qs8") else "f32",
            json.dumps({"k": k, "m": m, "n": n}, separators=(",", ":")),
            threads, "[7]" if threads == 1 else "[4,5,6,7]", path,
            ops / p50 / 1e3, p50, p50 * (1 + spread / 2), p50 * (1 + spread), spread / 2.5, None,
        ))
    return rows


def chunk_templates(rows):
    """Per 64-row chunk: (sql, flat parameter list with seq slots at 0, 14, 28, ...)."""
    out = []
    for at in range(0, len(rows), RESULT_ROWS_PER_INSERT):
        chunk = rows[at:at + RESULT_ROWS_PER_INSERT]
        flat = []
        for r in chunk:
            flat.append(0)
            flat.extend(r)
        out.append((insert_results_sql(len(chunk)), flat, len(chunk)))
    return out


def open_db(path):
    c = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                        cached_statements=64)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("PRAGMA busy_timeout=10000")
    c.execute("PRAGMA foreign_keys=ON")
    version = c.execute("PRAGMA user_version").fetchone()[0]
    for i, sql in enumerate(migrations()[version:], start=version):
        c.execute("BEGIN")
        for stmt in split_sql(sql):
            c.execute(stmt)
        c.execute(f"PRAGMA user_version = {i + 1}")
        c.execute("COMMIT")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute(f"PRAGMA journal_size_limit={1 << 30}")
    c.execute("PRAGMA cache_size=-8192")
    return c


def split_sql(sql):
    return [s.strip() for s in sql.split(";") if s.strip()]


def run(path, n, batch, with_rows, templates, pool):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = open_db(path)
    cur = c.cursor()
    received_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pool_len = len(pool) - RAW_BYTES
    rnd = os.urandom
    t0, w0 = os.times(), time.perf_counter()
    done = 0
    while done < n:
        cur.execute("BEGIN")
        for _ in range(min(batch, n - done)):
            off = int.from_bytes(rnd(3), "little") % pool_len
            device = rnd(32).hex()
            cur.execute(INSERT_REPORT, (str(uuid.uuid4()), rnd(32).hex(), received_at, device,
                                        pool[off:off + RAW_BYTES]))
            seq = cur.lastrowid
            if with_rows:
                for sql, flat, rows in templates:
                    params = flat[:]
                    params[0::14] = [seq] * rows
                    cur.execute(sql, params)
            cur.execute(UPSERT_DEVICE, (device, "Pixel 8", None, None, None, None, seq))
            done += 1
        cur.execute("COMMIT")
    wall = time.perf_counter() - w0
    t1 = os.times()
    db = os.path.getsize(path)
    wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
    count = c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    c.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return dict(wall=wall, user=t1.user - t0.user, sys=t1.system - t0.system,
                db=db, wal=wal, results=count)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("-n", type=int, default=40000, help="reports per run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=37, help="result rows per report")
    ap.add_argument("--batch", type=int, default=20, help="reports per transaction")
    ap.add_argument("--dir", default="/tmp")
    a = ap.parse_args()
    templates = chunk_templates(result_rows(a.rows))
    pool = os.urandom(1 << 20)
    path = os.path.join(a.dir, f"measure-result-rows-{os.getpid()}.db")
    print(f"sqlite {sqlite3.sqlite_version}, N={a.n}, {a.batch} reports/commit, "
          f"{a.rows} result rows/report, raw {RAW_BYTES} B, file {path}")
    print(f"{'run':<4}{'arm':<9}{'s':>8}{'us/rep':>9}{'user s':>8}{'sys s':>8}"
          f"{'cpu us/rep':>11}{'WAL MB':>9}{'db MB':>7}{'results':>10}")
    per = {True: [], False: []}
    k = 0
    for _ in range(a.rounds):
        for with_rows in (True, False):
            k += 1
            r = run(path, a.n, a.batch, with_rows, templates, pool)
            us = r["wall"] / a.n * 1e6
            per[with_rows].append(us)
            print(f"{k:<4}{'WITH' if with_rows else 'WITHOUT':<9}{r['wall']:>8.2f}{us:>9.1f}"
                  f"{r['user']:>8.2f}{r['sys']:>8.2f}{(r['user'] + r['sys']) / a.n * 1e6:>11.1f}"
                  f"{r['wal'] / 1e6:>9.1f}{r['db'] / 1e6:>7.2f}{r['results']:>10}", flush=True)
    w, wo = statistics.median(per[True]), statistics.median(per[False])
    print(f"SUMMARY median us/report: with rows {w:.1f}, without rows {wo:.1f}, "
          f"ratio with/without {w / wo:.2f} (results rows = {100 * (w - wo) / w:.0f}% of the with-rows cost)")


if __name__ == "__main__":
    main()
