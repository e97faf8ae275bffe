#!/usr/bin/env python3
"""Recompute the report's headline statistics from the exported Parquet dataset with
DuckDB, an engine independent of the polars pipeline, and compare them with the
report's stats.json.

    python3 scripts/crosscheck_duckdb.py DATA_DIR REPORT_DIR

DATA_DIR is a dataset written by `fleetscope export` or `fleetscope simulate`;
REPORT_DIR holds the stats.json that `fleetscope report --data DATA_DIR` wrote.
Exit status 0 when every statistic agrees (within 1e-5, stats.json rounds to six
decimals), 1 otherwise; one line per statistic either way.
"""
import sys

import duckdb

from crosscheck_common import arguments, compare


def main() -> int:
    args = arguments(__doc__)
    if args is None:
        return 2
    data, ours = args
    con = duckdb.connect()
    con.execute(
        f"""
        CREATE VIEW devices AS
        SELECT * FROM read_parquet('{data}/devices/*/*.parquet', hive_partitioning = false,
                                   union_by_name = true)
        """
    )
    android = "'arm64-v8a', 'armeabi-v7a', 'armeabi', 'x86_64', 'x86'"
    con.execute(
        f"""
        CREATE VIEW latest AS
        SELECT * FROM devices
        QUALIFY row_number() OVER (
            PARTITION BY coalesce(device_hash, report_id)
            -- a forced-ABI run (run --abi) last: an experiment, not the device's place
            ORDER BY coalesce(abi IN ({android}) AND probe_abi IN ({android})
                              AND probe_abi <> abi, false) ASC, seq DESC
        ) = 1
        """
    )
    con.execute(
        f"""
        CREATE VIEW latest_results AS
        SELECT r.* FROM read_parquet('{data}/results/*/*.parquet', hive_partitioning = false) r
        SEMI JOIN latest USING (seq)
        """
    )
    n = con.execute("SELECT count(*) FROM latest").fetchone()[0]
    theirs = {"fleet.devices": float(n)}

    # Fig. 2: SoC share, top-N coverage.
    shares = [s for (s,) in con.execute(
        "SELECT count(*) / ? AS share FROM latest GROUP BY soc_key ORDER BY share DESC", [n]
    ).fetchall()]
    cum = 0.0
    cums = []
    for s in shares:
        cum += s
        cums.append(cum)
    theirs["soc.unique"] = float(len(shares))
    for k in (1, 10, 50, 225):
        theirs[f"soc.top{k}_share"] = cums[min(k, len(cums)) - 1]
    big = [s for s in shares if s > 0.01]
    theirs["soc.over_1pct_count"] = float(len(big))
    theirs["soc.over_1pct_share"] = sum(big)

    # Fig. 3: primary core and its design year.
    for uarch, share in con.execute(
        "SELECT coalesce(primary_uarch, 'unknown'), count(*) / ? FROM latest GROUP BY 1", [n]
    ).fetchall():
        theirs[f"cpu.uarch_share.{uarch}"] = share
    for bucket, share in con.execute(
        """
        SELECT CASE WHEN primary_design_year IS NULL THEN 'unknown'
                    WHEN primary_design_year <= 2010 THEN '2005-2010'
                    WHEN primary_design_year = 2011 THEN '2011'
                    WHEN primary_design_year = 2012 THEN '2012'
                    WHEN primary_design_year <= 2014 THEN '2013-2014'
                    ELSE '2015+' END, count(*) / ?
        FROM latest GROUP BY 1
        """,
        [n],
    ).fetchall():
        theirs[f"cpu.design_year_share.{bucket}"] = share

    # Fig. 4: GPU/CPU peak ratio among devices with both peaks.
    r1, r2, r3 = con.execute(
        """
        SELECT avg((ratio >= 1)::DOUBLE), avg((ratio >= 2)::DOUBLE), avg((ratio >= 3)::DOUBLE)
        FROM (SELECT gpu_peak_gflops / cpu_peak_gflops AS ratio FROM latest
              WHERE gpu_peak_gflops IS NOT NULL AND cpu_peak_gflops > 0)
        """
    ).fetchone()
    theirs.update({"gpu.ratio_ge_1x_share": r1, "gpu.ratio_ge_2x_share": r2, "gpu.ratio_ge_3x_share": r3})

    # Fig. 5: API support among devices whose GPU was identified.
    row = con.execute(
        """
        WITH seen AS (
          SELECT
            try_cast(regexp_extract(gles, '(\\d+)\\.(\\d+)', 1) AS INT) AS gl_major,
            coalesce(try_cast(regexp_extract(gles, '(\\d+)\\.(\\d+)', 2) AS INT), 0) AS gl_minor,
            try_cast(regexp_extract(vulkan, '(\\d+)\\.(\\d+)', 1) AS INT) AS vk_major,
            coalesce(try_cast(regexp_extract(vulkan, '(\\d+)\\.(\\d+)', 2) AS INT), 0) AS vk_minor,
            opencl_status
          FROM latest WHERE gpu_model IS NOT NULL OR gles IS NOT NULL)
        SELECT
          avg(coalesce(gl_major * 100 + gl_minor >= 200, false)::DOUBLE),
          avg(coalesce(gl_major * 100 + gl_minor >= 300, false)::DOUBLE),
          avg(coalesce(gl_major * 100 + gl_minor >= 301, false)::DOUBLE),
          avg(coalesce(gl_major * 100 + gl_minor >= 302, false)::DOUBLE),
          avg((vk_major IS NOT NULL)::DOUBLE),
          avg(coalesce(vk_major * 100 + vk_minor >= 101, false)::DOUBLE),
          avg(coalesce(opencl_status = 'loadable', false)::DOUBLE),
          avg(coalesce(opencl_status = 'broken', false)::DOUBLE)
        FROM seen
        """
    ).fetchone()
    for key, value in zip(
        ["gles2.0", "gles3.0", "gles3.1", "gles3.2", "vulkan", "vulkan1.1", "opencl_loadable", "opencl_broken"], row
    ):
        theirs[f"gpu.api_share.{key}"] = value or 0.0

    # Measured: run-to-run variability over every result, and throttling.
    cv, tail = con.execute(
        "SELECT median(cv), median(p99_us / p50_us) FROM latest_results WHERE cv IS NOT NULL AND p50_us > 0"
    ).fetchone()
    theirs["variability.cv_median"] = cv
    theirs["variability.p99_p50_median"] = tail
    theirs["throttle.median"] = con.execute(
        "SELECT median(throttle_ratio) FROM latest WHERE throttle_ratio IS NOT NULL"
    ).fetchone()[0]

    # The userland ABI: devices whose primary ABI is 32-bit, overall and by primary core.
    abis32 = "'armeabi-v7a', 'armeabi', 'x86', 'arm', 'armv6l', 'armv7l', 'armv8l', 'i386', 'i486', 'i586', 'i686'"
    is32 = f"CASE WHEN abi IN ({abis32}) THEN 1.0 ELSE 0.0 END"
    theirs["abi.userland32_share"] = con.execute(
        f"SELECT avg({is32}) FROM latest WHERE abi IS NOT NULL"
    ).fetchone()[0]
    for uarch, share in con.execute(
        f"SELECT coalesce(primary_uarch, 'unknown'), avg({is32}) FROM latest WHERE abi IS NOT NULL GROUP BY 1"
    ).fetchall():
        theirs[f"abi.userland32_share.{uarch}"] = share
    # What 32-bit costs: devices run under both arm64-v8a and an ARMv7 ABI, the latest
    # run of each side; per device the GOPS ratio per single-thread kernel, dtype, shape
    # and core, then the median per kernel, dtype and core.
    con.execute(
        f"""
        CREATE VIEW abi_runs AS
        SELECT coalesce(device_hash, report_id) AS dk,
               CASE WHEN probe_abi = 'arm64-v8a' THEN 'v8' ELSE 'v7' END AS side, seq
        FROM devices
        WHERE probe_abi IN ('arm64-v8a', 'armeabi-v7a', 'armeabi')
          -- like with like: the suite of the most devices, as the statistics use
          AND (suite_id, suite_version, suite_sha256) IS NOT DISTINCT FROM (
              SELECT (suite_id, suite_version, suite_sha256) FROM latest
              GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1)
        QUALIFY row_number() OVER (PARTITION BY dk, side ORDER BY seq DESC) = 1
        """
    )
    con.execute(
        """
        CREATE VIEW paired AS
        SELECT * FROM abi_runs WHERE dk IN (
            SELECT dk FROM abi_runs GROUP BY dk HAVING count(DISTINCT side) = 2)
        """
    )
    if con.execute("SELECT count(*) FROM paired").fetchone()[0]:
        theirs["abi.v7_v8.devices"] = float(
            con.execute("SELECT count(DISTINCT dk) FROM paired").fetchone()[0])
        rows = con.execute(
            f"""
            WITH per_device AS (
                SELECT p.dk, r.kernel, r.dtype, r.shape, r.uarch, r.cluster,
                       avg(r.gops) FILTER (WHERE p.side = 'v7') AS v7,
                       avg(r.gops) FILTER (WHERE p.side = 'v8') AS v8
                FROM read_parquet('{data}/results/*/*.parquet', hive_partitioning = false) r
                JOIN paired p USING (seq)
                WHERE r.gops IS NOT NULL AND r.skipped IS NULL AND r.threads = 1
                  AND r.uarch IS NOT NULL
                GROUP BY ALL
            )
            SELECT kernel, dtype, uarch, median(v7 / v8) FROM per_device
            WHERE v7 IS NOT NULL AND v8 > 0 GROUP BY ALL
            """
        ).fetchall()
        for kernel, dtype, uarch, ratio in rows:
            theirs[f"abi.v7_over_v8.{kernel}.{dtype}.{uarch}"] = ratio

    # Energy: what each device could measure it with (of the devices whose report
    # says), then from the single-thread results that carry it, the median joules per
    # inference of whole networks and GOPS per watt of layers, by kernel, dtype, core.
    columns = {c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE latest)").fetchall()}
    if "energy" in columns:
        con.execute(
            """
            CREATE VIEW suite_latest AS SELECT * FROM latest
            WHERE (suite_id, suite_version, suite_sha256) IS NOT DISTINCT FROM (
                SELECT (suite_id, suite_version, suite_sha256) FROM latest
                GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1)
            """
        )
        total = con.execute("SELECT count(*) FROM suite_latest WHERE energy IS NOT NULL").fetchone()[0]
        if total:
            theirs["energy.devices"] = float(total)
            counts = dict(con.execute(
                "SELECT energy, count(*) FROM suite_latest WHERE energy IS NOT NULL GROUP BY 1").fetchall())
            for status in ("odpm", "fuel_gauge", "charging", "unavailable"):
                theirs[f"energy.source_share.{status}"] = counts.get(status, 0) / total
            theirs["energy.available_share"] = (counts.get("odpm", 0) + counts.get("fuel_gauge", 0)) / total
            con.execute(
                f"""
                CREATE VIEW energy_results AS
                SELECT r.* FROM read_parquet('{data}/results/*/*.parquet', hive_partitioning = false,
                                             union_by_name = true) r
                SEMI JOIN suite_latest USING (seq)
                WHERE r.joules_per_iter IS NOT NULL AND r.skipped IS NULL AND r.threads = 1
                  AND r.uarch IS NOT NULL
                """
            )
            for kernel, dtype, uarch, joules in con.execute(
                "SELECT kernel, dtype, uarch, median(joules_per_iter) FROM energy_results "
                "WHERE kernel IN ('mobilenet_v2') GROUP BY ALL"
            ).fetchall():
                theirs[f"energy.j_per_inference.{kernel}.{dtype}.{uarch}"] = joules
            for kernel, dtype, uarch, eff in con.execute(
                "SELECT kernel, dtype, uarch, median(gops / energy_w) FROM energy_results "
                "WHERE kernel IN ('gemm', 'gemv', 'conv3x3', 'dwconv3x3') AND gops IS NOT NULL "
                "AND energy_w > 0 GROUP BY ALL"
            ).fetchall():
                theirs[f"energy.gops_per_w.{kernel}.{dtype}.{uarch}"] = eff

    bad = compare(theirs, ours, "DuckDB")
    print(f"{len(theirs)} statistics recomputed with DuckDB {duckdb.__version__}: {bad} disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
