#!/usr/bin/env python3
"""Benchmark (not a test): each saved query's time through `tunggal sql` beside DuckDB
querying the same Parquet files, in the same run, on the same machine.

    .venv/bin/python scripts/bench-sql.py --store ./tunggal-data [--tunggal target/debug/tunggal] [--repeat 3]

tunggal runs every saved query in one `tunggal sql --format csv` shell session (its
per-statement timing: plan, run and print the rows as CSV; tables opened once); DuckDB reads
the Delta tables' current Parquet files (the file list from the `deltalake` package, since
DuckDB's own delta extension is downloaded at run time) with the reference tables loaded in
memory, as tunggal has them, and is timed twice: the query into an Arrow table, and the query
written as CSV (`COPY (…) TO '/dev/null'`), the same work as tunggal's. The two engines take
turns query by query (tunggal, DuckDB, DuckDB to CSV, next query, …), so a machine whose
load changes during the run slows both alike. Best of `--repeat` rounds each. Prints the
machine's cores and load, the time `tunggal sql` takes to open the store, and one Markdown
table with the ratios tunggal / DuckDB (below 1: tunggal faster). Installs duckdb into .venv
when missing.

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
TIMING = re.compile(r"^\(\d+ rows?, ([0-9.]+) s\)$")


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"duckdb=={DUCKDB_VERSION}"], check=True)


class Shell:
    """One `tunggal sql --format csv` session, fed a line at a time."""

    def __init__(self, binary: str, store: pathlib.Path):
        started = time.perf_counter()
        self.proc = subprocess.Popen([binary, "--store", str(store), "sql", "--format", "csv"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.run("SELECT 1;")
        # Wall time until the session answers its first statement: what a one-shot
        # `tunggal sql --saved NAME` pays before its query (lake snapshots, reference extracts).
        self.opened = time.perf_counter() - started

    def run(self, line: str) -> float:
        """Sends one statement or backslash command; returns the time the shell printed."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        for out in self.proc.stdout:
            if out.startswith("error:"):
                raise RuntimeError(f"tunggal sql: {out.strip()} (for {line})")
            match = TIMING.match(out.strip())
            if match:
                return float(match.group(1))
        raise RuntimeError("tunggal sql ended before answering")

    def close(self):
        self.proc.stdin.write("\\q\n")
        self.proc.stdin.close()
        self.proc.wait()


def duckdb_connection(store: pathlib.Path):
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
    for view in lake.LAKE_VIEWS:
        # DuckDB spells the ordered aggregate `first(x ORDER BY …)`.
        sql = (lake.VIEWS_DIR / f"{view}.sql").read_text().replace("first_value(", "first(")
        con.execute(f"CREATE VIEW {view} AS {sql}")
    ctx = lake.context(store)
    for ref in ["residents", "regions", "stations"]:
        arrow_table = ctx.sql(f"SELECT * FROM {ref}").to_arrow_table()
        con.register(f"{ref}_arrow", arrow_table)
        con.execute(f"CREATE TABLE {ref} AS SELECT * FROM {ref}_arrow")
    return con


def timed(run) -> float:
    started = time.perf_counter()
    run()
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
    import duckdb
    import tunggal_lake as lake

    if args.saved_dir:
        lake.SAVED_DIR = pathlib.Path(args.saved_dir)
    store = pathlib.Path(args.store)
    names = sorted(p.stem for p in lake.SAVED_DIR.glob("*.sql"))
    params = {n: {"reference_date": "2027-01-01"} for n in names if n.startswith("coverage")}
    params["adjudication_backlog"] = {"as_of": "2027-01-01T00:00:00Z"}
    load_before = os.getloadavg()[0]

    con = duckdb_connection(store)
    shell = Shell(args.tunggal, store)
    best: dict[tuple[str, str], float] = {}

    def keep(engine: str, name: str, seconds: float):
        best[(engine, name)] = min(best.get((engine, name), seconds), seconds)

    for _ in range(args.repeat):
        for name in names:
            bound = params.get(name, {})
            command = f"\\saved {name} " + " ".join(f"{k}={v}" for k, v in bound.items())
            keep("tunggal", name, shell.run(command.strip()))
            sql = lake.saved_sql(name, **bound)
            keep("duckdb", name, timed(lambda: con.sql(sql).to_arrow_table()))
            body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
            keep("csv", name, timed(lambda: con.execute(f"COPY ({body}) TO '/dev/null' (FORMAT csv, HEADER)")))
    shell.close()

    enrollments = lake.context(store).sql("SELECT count(*) AS n FROM enrollments").to_arrow_table().column("n")[0]
    print(f"store {store}: {enrollments} enrollments; best of {args.repeat}; {os.cpu_count()} cores, "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"duckdb {duckdb.__version__}; {args.tunggal}")
    print(f"tunggal sql opens the store in {shell.opened:.1f} s\n")
    print("| saved query | tunggal (s) | DuckDB (s) | tunggal / DuckDB | DuckDB to CSV (s) | tunggal / DuckDB to CSV |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        ours, theirs, csv = best[("tunggal", name)], best[("duckdb", name)], best[("csv", name)]
        print(f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | {csv:.3f} | {ours / csv:.2f} |")


if __name__ == "__main__":
    main()
