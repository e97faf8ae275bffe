#!/usr/bin/env python3
"""Recompute the report's headline statistics from the exported Parquet dataset with
Apache Spark (PySpark, local mode), a second engine independent of the polars
pipeline, and compare them with the report's stats.json. The definitions are those
of scripts/crosscheck_duckdb.py, statistic for statistic.

    python3 scripts/crosscheck_spark.py DATA_DIR REPORT_DIR

DATA_DIR is a dataset written by `fleetscope export` or `fleetscope simulate`;
REPORT_DIR holds the stats.json that `fleetscope report --data DATA_DIR` wrote.
Exit status 0 when every statistic agrees (within 1e-5, stats.json rounds to six
decimals), 1 otherwise; one line per statistic either way.

Needs pyspark 4.x and Java 17. Medians use Spark's exact `median` (the 0.5
`percentile`, linear interpolation like DuckDB's quantile_cont), never
percentile_approx.
"""
import sys

import pyspark
from pyspark.sql import SparkSession

from crosscheck_common import arguments, compare
ANDROID = "'arm64-v8a', 'armeabi-v7a', 'armeabi', 'x86_64', 'x86'"
ABIS32 = "'armeabi-v7a', 'armeabi', 'x86', 'arm', 'armv6l', 'armv7l', 'armv8l', 'i386', 'i486', 'i586', 'i686'"
# A regular expression in a raw SQL literal: Spark would otherwise unescape "\d".
VERSION = r"r'(\d+)\.(\d+)'"


def session() -> SparkSession:
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("fleetscope-crosscheck")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read(spark: SparkSession, data: str, table: str) -> None:
    """Register a view over every part of DATA/table, columns matched by name. The
    glob names the files, so Spark adds no `date` partition column (DuckDB's
    hive_partitioning = false); mergeSchema is DuckDB's union_by_name."""
    spark.read.option("mergeSchema", "true").parquet(f"{data}/{table}/*/*.parquet").createOrReplaceTempView(table)


def rows(spark: SparkSession, sql: str, *args) -> list:
    return spark.sql(sql, args=list(args)).collect()


def one(spark: SparkSession, sql: str, *args):
    return rows(spark, sql, *args)[0]


def create_views(spark: SparkSession, data: str) -> None:
    read(spark, data, "devices")
    read(spark, data, "results")
    spark.sql(
        f"""
        SELECT * FROM (
            SELECT *, row_number() OVER (
                PARTITION BY coalesce(device_hash, report_id)
                -- a forced-ABI run (run --abi) last: an experiment, not the device's place
                ORDER BY coalesce(abi IN ({ANDROID}) AND probe_abi IN ({ANDROID})
                                  AND probe_abi <> abi, false) ASC, seq DESC NULLS LAST
            ) AS rn FROM devices)
        WHERE rn = 1
        """
    ).drop("rn").cache().createOrReplaceTempView("latest")
    spark.sql("SELECT r.* FROM results r LEFT SEMI JOIN latest l ON r.seq = l.seq").createOrReplaceTempView(
        "latest_results")
    # The suite of the most devices, ties to the smallest (suite_id, suite_version,
    # suite_sha256) with NULL fields last, as DuckDB orders the tuple.
    spark.sql(
        """
        SELECT suite_id, suite_version, suite_sha256 FROM latest
        GROUP BY suite_id, suite_version, suite_sha256
        ORDER BY count(*) DESC, suite_id NULLS LAST, suite_version NULLS LAST, suite_sha256 NULLS LAST
        LIMIT 1
        """
    ).createOrReplaceTempView("top_suite")


def in_top_suite(alias: str) -> str:
    """`(suite_id, suite_version, suite_sha256) IS NOT DISTINCT FROM top_suite`, field by field."""
    return " AND ".join(f"{alias}.{c} <=> t.{c}" for c in ("suite_id", "suite_version", "suite_sha256"))


def soc_stats(spark: SparkSession, n: int) -> dict:
    """Fig. 2: SoC share, top-N coverage."""
    shares = [s for (s,) in rows(
        spark, "SELECT count(*) / ? AS share FROM latest GROUP BY soc_key ORDER BY share DESC", n)]
    cums = []
    cum = 0.0
    for s in shares:
        cum += s
        cums.append(cum)
    stats = {"soc.unique": float(len(shares))}
    for k in (1, 10, 50, 225):
        stats[f"soc.top{k}_share"] = cums[min(k, len(cums)) - 1]
    big = [s for s in shares if s > 0.01]
    stats["soc.over_1pct_count"] = float(len(big))
    stats["soc.over_1pct_share"] = sum(big)
    return stats


def cpu_stats(spark: SparkSession, n: int) -> dict:
    """Fig. 3: primary core and its design year."""
    stats = {}
    for uarch, share in rows(
        spark, "SELECT coalesce(primary_uarch, 'unknown') AS u, count(*) / ? FROM latest GROUP BY u", n
    ):
        stats[f"cpu.uarch_share.{uarch}"] = share
    for bucket, share in rows(
        spark,
        """
        SELECT CASE WHEN primary_design_year IS NULL THEN 'unknown'
                    WHEN primary_design_year <= 2010 THEN '2005-2010'
                    WHEN primary_design_year = 2011 THEN '2011'
                    WHEN primary_design_year = 2012 THEN '2012'
                    WHEN primary_design_year <= 2014 THEN '2013-2014'
                    ELSE '2015+' END AS bucket, count(*) / ?
        FROM latest GROUP BY bucket
        """,
        n,
    ):
        stats[f"cpu.design_year_share.{bucket}"] = share
    return stats


def gpu_stats(spark: SparkSession) -> dict:
    """Fig. 4: GPU/CPU peak ratio among devices with both peaks; Fig. 5: API support
    among devices whose GPU was identified."""
    r1, r2, r3 = one(
        spark,
        """
        SELECT avg(CAST(ratio >= 1 AS DOUBLE)), avg(CAST(ratio >= 2 AS DOUBLE)), avg(CAST(ratio >= 3 AS DOUBLE))
        FROM (SELECT gpu_peak_gflops / cpu_peak_gflops AS ratio FROM latest
              WHERE gpu_peak_gflops IS NOT NULL AND cpu_peak_gflops > 0)
        """,
    )
    stats = {"gpu.ratio_ge_1x_share": r1, "gpu.ratio_ge_2x_share": r2, "gpu.ratio_ge_3x_share": r3}
    row = one(
        spark,
        f"""
        WITH seen AS (
          SELECT
            try_cast(regexp_extract(gles, {VERSION}, 1) AS INT) AS gl_major,
            coalesce(try_cast(regexp_extract(gles, {VERSION}, 2) AS INT), 0) AS gl_minor,
            try_cast(regexp_extract(vulkan, {VERSION}, 1) AS INT) AS vk_major,
            coalesce(try_cast(regexp_extract(vulkan, {VERSION}, 2) AS INT), 0) AS vk_minor,
            opencl_status
          FROM latest WHERE gpu_model IS NOT NULL OR gles IS NOT NULL)
        SELECT
          avg(CAST(coalesce(gl_major * 100 + gl_minor >= 200, false) AS DOUBLE)),
          avg(CAST(coalesce(gl_major * 100 + gl_minor >= 300, false) AS DOUBLE)),
          avg(CAST(coalesce(gl_major * 100 + gl_minor >= 301, false) AS DOUBLE)),
          avg(CAST(coalesce(gl_major * 100 + gl_minor >= 302, false) AS DOUBLE)),
          avg(CAST(vk_major IS NOT NULL AS DOUBLE)),
          avg(CAST(coalesce(vk_major * 100 + vk_minor >= 101, false) AS DOUBLE)),
          avg(CAST(coalesce(opencl_status = 'loadable', false) AS DOUBLE)),
          avg(CAST(coalesce(opencl_status = 'broken', false) AS DOUBLE))
        FROM seen
        """,
    )
    for key, value in zip(
        ["gles2.0", "gles3.0", "gles3.1", "gles3.2", "vulkan", "vulkan1.1", "opencl_loadable", "opencl_broken"], row
    ):
        stats[f"gpu.api_share.{key}"] = value or 0.0
    return stats


def measured_stats(spark: SparkSession) -> dict:
    """Run-to-run variability over every result, and throttling."""
    cv, tail = one(
        spark,
        "SELECT median(cv), median(p99_us / p50_us) FROM latest_results WHERE cv IS NOT NULL AND p50_us > 0",
    )
    throttle = one(spark, "SELECT median(throttle_ratio) FROM latest WHERE throttle_ratio IS NOT NULL")[0]
    return {"variability.cv_median": cv, "variability.p99_p50_median": tail, "throttle.median": throttle}


def abi_stats(spark: SparkSession) -> dict:
    """The userland ABI: devices whose primary ABI is 32-bit, overall and by primary
    core. What 32-bit costs: devices run under both arm64-v8a and an ARMv7 ABI, the
    latest run of each side; per device the GOPS ratio per single-thread kernel, dtype,
    shape and core, then the median per kernel, dtype and core."""
    is32 = f"CASE WHEN abi IN ({ABIS32}) THEN 1.0D ELSE 0.0D END"
    stats = {"abi.userland32_share": one(spark, f"SELECT avg({is32}) FROM latest WHERE abi IS NOT NULL")[0]}
    for uarch, share in rows(
        spark,
        f"SELECT coalesce(primary_uarch, 'unknown') AS u, avg({is32}) FROM latest WHERE abi IS NOT NULL GROUP BY u",
    ):
        stats[f"abi.userland32_share.{uarch}"] = share
    spark.sql(
        f"""
        SELECT dk, side, seq FROM (
            SELECT dk, side, seq, row_number() OVER (PARTITION BY dk, side ORDER BY seq DESC NULLS LAST) AS rn
            FROM (SELECT coalesce(d.device_hash, d.report_id) AS dk,
                         CASE WHEN d.probe_abi = 'arm64-v8a' THEN 'v8' ELSE 'v7' END AS side, d.seq
                  FROM devices d CROSS JOIN top_suite t
                  -- like with like: the suite of the most devices, as the statistics use
                  WHERE d.probe_abi IN ('arm64-v8a', 'armeabi-v7a', 'armeabi') AND {in_top_suite('d')}))
        WHERE rn = 1
        """
    ).createOrReplaceTempView("abi_runs")
    spark.sql(
        """
        SELECT * FROM abi_runs WHERE dk IN (
            SELECT dk FROM abi_runs GROUP BY dk HAVING count(DISTINCT side) = 2)
        """
    ).cache().createOrReplaceTempView("paired")
    if not one(spark, "SELECT count(*) FROM paired")[0]:
        return stats
    stats["abi.v7_v8.devices"] = float(one(spark, "SELECT count(DISTINCT dk) FROM paired")[0])
    for kernel, dtype, uarch, ratio in rows(
        spark,
        """
        WITH per_device AS (
            SELECT p.dk, r.kernel, r.dtype, r.shape, r.uarch, r.cluster,
                   avg(r.gops) FILTER (WHERE p.side = 'v7') AS v7,
                   avg(r.gops) FILTER (WHERE p.side = 'v8') AS v8
            FROM results r JOIN paired p ON r.seq = p.seq
            WHERE r.gops IS NOT NULL AND r.skipped IS NULL AND r.threads = 1 AND r.uarch IS NOT NULL
            GROUP BY p.dk, r.kernel, r.dtype, r.shape, r.uarch, r.cluster
        )
        SELECT kernel, dtype, uarch, median(v7 / v8) FROM per_device
        WHERE v7 IS NOT NULL AND v8 > 0 GROUP BY kernel, dtype, uarch
        """,
    ):
        stats[f"abi.v7_over_v8.{kernel}.{dtype}.{uarch}"] = ratio
    return stats


def energy_stats(spark: SparkSession) -> dict:
    """Energy: what each device could measure it with (of the devices whose report
    says), then from the single-thread results that carry it, the median joules per
    inference of whole networks and GOPS per watt of layers, by kernel, dtype, core."""
    if "energy" not in spark.table("latest").columns:
        return {}
    spark.sql(
        f"SELECT l.* FROM latest l CROSS JOIN top_suite t WHERE {in_top_suite('l')}"
    ).createOrReplaceTempView("suite_latest")
    total = one(spark, "SELECT count(*) FROM suite_latest WHERE energy IS NOT NULL")[0]
    if not total:
        return {}
    stats = {"energy.devices": float(total)}
    counts = dict(rows(spark, "SELECT energy, count(*) FROM suite_latest WHERE energy IS NOT NULL GROUP BY energy"))
    for status in ("odpm", "fuel_gauge", "charging", "unavailable"):
        stats[f"energy.source_share.{status}"] = counts.get(status, 0) / total
    stats["energy.available_share"] = (counts.get("odpm", 0) + counts.get("fuel_gauge", 0)) / total
    spark.sql(
        """
        SELECT r.* FROM results r LEFT SEMI JOIN suite_latest s ON r.seq = s.seq
        WHERE r.joules_per_iter IS NOT NULL AND r.skipped IS NULL AND r.threads = 1 AND r.uarch IS NOT NULL
        """
    ).createOrReplaceTempView("energy_results")
    for kernel, dtype, uarch, joules in rows(
        spark,
        "SELECT kernel, dtype, uarch, median(joules_per_iter) FROM energy_results "
        "WHERE kernel IN ('mobilenet_v2') GROUP BY kernel, dtype, uarch",
    ):
        stats[f"energy.j_per_inference.{kernel}.{dtype}.{uarch}"] = joules
    for kernel, dtype, uarch, eff in rows(
        spark,
        "SELECT kernel, dtype, uarch, median(gops / energy_w) FROM energy_results "
        "WHERE kernel IN ('gemm', 'gemv', 'conv3x3', 'dwconv3x3') AND gops IS NOT NULL "
        "AND energy_w > 0 GROUP BY kernel, dtype, uarch",
    ):
        stats[f"energy.gops_per_w.{kernel}.{dtype}.{uarch}"] = eff
    return stats


def main() -> int:
    args = arguments(__doc__)
    if args is None:
        return 2
    data, ours = args
    spark = session()
    try:
        create_views(spark, data)
        n = one(spark, "SELECT count(*) FROM latest")[0]
        theirs = {"fleet.devices": float(n)}
        for part in (soc_stats(spark, n), cpu_stats(spark, n), gpu_stats(spark), measured_stats(spark),
                     abi_stats(spark), energy_stats(spark)):
            theirs.update(part)
    finally:
        spark.stop()
    bad = compare(theirs, ours, "Spark")
    print(f"{len(theirs)} statistics recomputed with Spark {pyspark.__version__}: {bad} disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
