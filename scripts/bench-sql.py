#!/usr/bin/env python3
"""Benchmark (not a test): each saved query's time through `tunggal sql` beside DuckDB
querying the same Parquet files, in the same run, on the same machine.

    .venv/bin/python scripts/bench-sql.py --store ./tunggal-data [--tunggal target/debug/tunggal] [--repeat 3]

tunggal runs every saved query in one `tunggal sql --format csv` shell session (its
per-statement timing: plan, run and print the rows as CSV; tables opened once); DuckDB reads
the Delta tables' current Parquet files (the file list from the `deltalake` package, since
DuckDB's own delta extension is downloaded at run time) with the reference tables loaded in
memory, as tunggal has them, and is timed twice: the query into an Arrow table, and the query
written as CSV (`COPY (…) TO '/dev/null'`), the same work as tunggal's. Best of `--repeat`
runs each. Prints the machine's cores and load, the time `tunggal sql` takes to open the
store, and one Markdown table with the ratios tunggal / DuckDB (below 1: tunggal faster).
Installs duckdb into .venv when missing.

A lake of a million enrollments for it: scripts/scale-lake.py (see its docstring).
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
    best, best_csv = {}, {}
    for _ in range(repeat):
        for name in names:
            sql = lake.saved_sql(name, **params.get(name, {}))
            started = time.perf_counter()
            con.sql(sql).to_arrow_table()
            elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
            body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
            started = time.perf_counter()
            con.execute(f"COPY ({body}) TO '/dev/null' (FORMAT csv, HEADER)")
            elapsed = time.perf_counter() - started
            best_csv[name] = min(best_csv.get(name, elapsed), elapsed)
    return best, best_csv


def open_seconds(binary: str, store: pathlib.Path) -> float:
    """Wall time of `tunggal sql` opening the store (lake snapshots, reference extracts) and
    quitting: what a one-shot `tunggal sql --saved NAME` pays before its query."""
    started = time.perf_counter()
    subprocess.run([binary, "--store", str(store), "sql"], input="\\q\n", capture_output=True,
                   text=True, check=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="./tunggal-data")
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    parser.add_argument("--tunggal", default=str(target / "release" / "tunggal")
                        if (target / "release" / "tunggal").exists() else str(target / "debug" / "tunggal"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--saved-dir", help="read the saved queries DuckDB runs from this folder "
                        "(default sql/saved/; tunggal always runs the ones built into it), e.g. "
                        "an older version's files to measure an older binary")
    args = parser.parse_args()
    ensure_duckdb()
    import tunggal_lake as lake

    if args.saved_dir:
        lake.SAVED_DIR = pathlib.Path(args.saved_dir)

    store = pathlib.Path(args.store)
    names = sorted(p.stem for p in lake.SAVED_DIR.glob("*.sql"))
    params = {n: {"reference_date": "2027-01-01"} for n in names if n.startswith("coverage")}
    params["adjudication_backlog"] = {"as_of": "2027-01-01T00:00:00Z"}
    load_before = os.getloadavg()[0]
    opened = open_seconds(args.tunggal, store)
    ours = tunggal_times(args.tunggal, store, names, params, args.repeat)
    theirs, theirs_csv = duckdb_times(store, names, params, args.repeat)
    enrollments = lake.context(store).sql("SELECT count(*) AS n FROM enrollments").to_arrow_table().column("n")[0]
    import duckdb
    print(f"store {store}: {enrollments} enrollments; best of {args.repeat}; {os.cpu_count()} cores, "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"duckdb {duckdb.__version__}; {args.tunggal}")
    print(f"tunggal sql opens the store in {opened:.1f} s\n")
    print("| saved query | tunggal (s) | DuckDB (s) | tunggal / DuckDB | DuckDB to CSV (s) | tunggal / DuckDB to CSV |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        print(f"| {name} | {ours[name]:.3f} | {theirs[name]:.3f} | {ours[name] / theirs[name]:.2f} "
              f"| {theirs_csv[name]:.3f} | {ours[name] / theirs_csv[name]:.2f} |")


if __name__ == "__main__":
    main()
