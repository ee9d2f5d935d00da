#!/usr/bin/env python3
"""Benchmark (not a test): each saved query's time through `tunggal sql` beside DuckDB
querying the same Parquet files, in the same run, on the same machine.

    .venv/bin/python scripts/bench-sql.py --store ./tunggal-data [--tunggal target/debug/tunggal] [--repeat 3]

tunggal runs every saved query in one `tunggal sql` shell session (its per-statement
timing, tables opened once); DuckDB reads the Delta tables' current Parquet files (the
file list from the `deltalake` package, since DuckDB's own delta extension is downloaded at
run time) with the reference tables loaded in memory, as tunggal has them. Best of
`--repeat` runs each. Prints one Markdown table with the ratio tunggal / DuckDB (below 1:
tunggal faster). Installs duckdb into .venv when missing.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "notebooks"))

DUCKDB_VERSION = "2.0.0"


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"duckdb=={DUCKDB_VERSION}"], check=True)


def tunggal_times(binary: str, store: pathlib.Path, names: list[str], params: dict, repeat: int) -> dict:
    """Runs every query `repeat` times in one shell session; returns name -> best seconds."""
    lines = []
    for _ in range(repeat):
        for name in names:
            args = " ".join(f"{k}={v}" for k, v in params.get(name, {}).items())
            lines.append(f"\\saved {name} {args}".strip())
    lines.append("\\q")
    out = subprocess.run([binary, "--store", str(store), "sql", "--format", "csv"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    times = [float(m) for m in re.findall(r"^\(\d+ rows?, ([0-9.]+) s\)$", out, re.M)]
    assert len(times) == len(names) * repeat, out[-2000:]
    best = {}
    for i, t in enumerate(times):
        name = names[i % len(names)]
        best[name] = min(best.get(name, t), t)
    return best


def duckdb_times(store: pathlib.Path, names: list[str], params: dict, repeat: int) -> dict:
    import duckdb
    import tunggal_lake as lake
    from deltalake import DeltaTable

    con = duckdb.connect()
    con.execute("CREATE MACRO to_unixtime(t) AS CAST(epoch(CAST(t AS TIMESTAMPTZ)) AS BIGINT)")
    for table in lake.LAKE_TABLES:
        folder = store / "lake" / table
        if (folder / "_delta_log").is_dir():
            files = DeltaTable(str(folder)).file_uris()
            if files:
                listing = ", ".join("'" + f.replace("file://", "") + "'" for f in files)
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listing}])")
    ctx = lake.context(store)
    for ref in ["residents", "regions", "stations"]:
        arrow_table = ctx.sql(f"SELECT * FROM {ref}").to_arrow_table()
        con.register(f"{ref}_arrow", arrow_table)
        con.execute(f"CREATE TABLE {ref} AS SELECT * FROM {ref}_arrow")
    best = {}
    for _ in range(repeat):
        for name in names:
            sql = lake.saved_sql(name, **params.get(name, {}))
            started = time.perf_counter()
            con.sql(sql).to_arrow_table()
            elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="./tunggal-data")
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    parser.add_argument("--tunggal", default=str(target / "release" / "tunggal")
                        if (target / "release" / "tunggal").exists() else str(target / "debug" / "tunggal"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_duckdb()
    import tunggal_lake as lake

    store = pathlib.Path(args.store)
    names = sorted(p.stem for p in lake.SAVED_DIR.glob("*.sql"))
    params = {n: {"reference_date": "2027-01-01"} for n in names if n.startswith("coverage")}
    params["adjudication_backlog"] = {"as_of": "2027-01-01T00:00:00Z"}
    ours = tunggal_times(args.tunggal, store, names, params, args.repeat)
    theirs = duckdb_times(store, names, params, args.repeat)
    enrollments = lake.context(store).sql("SELECT count(*) AS n FROM enrollments").to_arrow_table().column("n")[0]
    print(f"store {store}: {enrollments} enrollments; best of {args.repeat}\n")
    print("| saved query | tunggal (s) | DuckDB (s) | tunggal / DuckDB |")
    print("| --- | ---: | ---: | ---: |")
    for name in names:
        print(f"| {name} | {ours[name]:.3f} | {theirs[name]:.3f} | {ours[name] / theirs[name]:.2f} |")


if __name__ == "__main__":
    main()
