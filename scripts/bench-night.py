#!/usr/bin/env python3
"""Benchmark (not a test): what one night costs, stage by stage, as the country grows (issue 19).

    # 1. a base store made by tunggal itself (scale-lake.py `base`: synth, nightly, two thirds
    #    of the cases decided in the console, nightly again), then night-capable copies of it
    #    at about 100,000 and 1,000,000 enrollments (scale-lake.py `scale --night-capable`),
    #    each settled once: `tunggal reference load` (the scaled SIAK extract into the
    #    reference tables) and `tunggal maintain` (as the nights before would have left it)
    .venv/bin/python scripts/bench-night.py prepare --root /work/tmp-nightbench --copies 20 202

    # 2. one night of 1,000 new enrollments on each store (a working copy of hard links, so
    #    the prepared stores stay as they are and the run can be repeated), every stage its own
    #    process as `tunggal nightly` runs them; tables printed, results kept as JSON
    .venv/bin/python scripts/bench-night.py run --root /work/tmp-nightbench

    #    (before the measured night, `--settle-nights` (1) unmeasured nights of
    #    `--settle-people` (200) run on the working copy with the same binary, so the store
    #    holds what that binary's own nights leave: dedup's carried totals, export's watermark)

    #    (peak RSS of one run differs from the next by up to ~90 MiB on a 2-core machine:
    #    `--repeat 5 --pin 0` runs each stage but dedup five times on the same state, on one
    #    core, and reports the medians)

    # 3. the tables again from the JSON
    .venv/bin/python scripts/bench-night.py report /work/tmp-nightbench/results.json

The measured processes inherit the environment: `MIMALLOC_*` variables (e.g.
`MIMALLOC_PURGE_DELAY=0`) are recorded with the results and printed by `report`, since the
peak RSS counts freed memory mimalloc has not yet returned (docs/benchmarks.md, "Fifth run");
without them the binary's own setting holds (the nightly verbs return freed memory after
10 ms, `cli/src/main.rs`).

Per stage it measures the process's wall time, its peak RSS (`wait4` rusage) and the
object-store traffic the stage records in its `runs` row (`detail.io`: LIST requests, objects
listed, GET requests, bytes read, PUT requests, bytes written, other requests; every row the
process added). Dedup's wall time is also split into the 1:N search (what `tunggal dedup`
prints as "loading templates" and "search": reading the gallery partitions and the probes'
templates, ranking and comparing) and the rest (the process's start, the pending query,
statuses, clusters, NIK conflicts, the commits). The two adjudication syncs
of `nightly` (stages 2 and 4) have no verb of their own and are not measured.

Then a growth table (largest / middle store, per stage and measure: the issue's goal is at
most 1.2 for every stage but the search, and flat peak memory) and a projection of each stage
to 200,000,000 enrollments: constant, linear (a + b N) and logarithmic (a + b ln N) models
are fitted to the measured sizes (least squares on relative error): constant when the
largest measurement is within 1.3x of the smallest (run-to-run noise on a shared machine),
else the better fit of linear and log.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
SCALE_LAKE = REPO / "scripts" / "scale-lake.py"

STAGES = [
    ("ingest", ["ingest", "--no-progress"]),
    ("dedup", ["dedup", "--no-progress"]),
    ("export", ["export"]),
    ("maintain", ["maintain"]),
]
IO_FIELDS = ["list_requests", "objects_listed", "get_requests", "bytes_read", "put_requests",
             "bytes_written", "other_requests"]
# Measures shown per stage (key, header, unit formatter).
MEASURES = [
    ("wall_s", "wall s", lambda v: f"{v:.1f}"),
    ("peak_rss", "peak RSS", lambda v: mib(v)),
    ("list_requests", "LISTs", lambda v: f"{v:.0f}"),
    ("objects_listed", "objects listed", lambda v: f"{v:.0f}"),
    ("get_requests", "GETs", lambda v: f"{v:.0f}"),
    ("bytes_read", "read", lambda v: mib(v)),
    ("put_requests", "PUTs", lambda v: f"{v:.0f}"),
    ("bytes_written", "written", lambda v: mib(v)),
]
TARGET = 200_000_000
# A measure whose largest value is within this factor of its smallest is taken as constant:
# run-to-run noise of wall times on the shared 2-core machine is larger than that.
NOISE = 1.3
SEARCH_RE = re.compile(r"wall ([0-9.]+)s \(loading templates ([0-9.]+)s, search ([0-9.]+)s\)")


def mib(v: float) -> str:
    return f"{v / (1 << 20):.1f} MiB" if v < (1 << 30) else f"{v / (1 << 30):.2f} GiB"


def default_tunggal() -> str:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "debug" / "tunggal")


def timed(argv: list[str], log: pathlib.Path | None = None) -> dict:
    """Runs one process; its wall time, peak RSS (bytes), exit status and output."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(argv)}\n{out}\n(exit {proc.returncode}, {wall:.1f} s, "
                    f"peak RSS {usage.ru_maxrss // 1024} MiB)\n\n")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{out[-4000:]}")
    return {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "output": out}


def runs(store: pathlib.Path) -> list[dict]:
    """Every row of the store's `runs` table (run_id, stage, detail)."""
    from deltalake import DeltaTable

    table = DeltaTable(str(store / "lake" / "runs")).to_pyarrow_table(columns=["run_id", "stage", "detail"])
    return table.to_pylist()


def count_rows(store: pathlib.Path, name: str) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(store / "lake" / name)).to_pyarrow_dataset().count_rows()


def free_gb(path: pathlib.Path) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 1e9


# ------------------------------------------------------------------------------- prepare


def cmd_prepare(args):
    root = pathlib.Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    log = root / "prepare.log"
    py = sys.executable
    base = root / "base"
    if not (base / "lake" / "enrollments").is_dir():
        print(f"base store: {args.people} people, seed {args.seed} (scale-lake.py base)")
        t = timed([py, str(SCALE_LAKE), "base", str(base), "--people", str(args.people),
                   "--seed", str(args.seed), "--tunggal", args.tunggal], log)
        print(f"  {t['wall_s']:.0f} s")
    for copies in args.copies:
        dest = root / f"x{copies}"
        if (dest / "scale-lake.json").is_file():
            continue
        if dest.exists():
            shutil.rmtree(dest)
        free = free_gb(root)
        if free < args.min_free_gb:
            print(f"x{copies}: only {free:.1f} GB free (< {args.min_free_gb}); not built")
            break
        print(f"x{copies}: scale-lake.py scale --copies {copies} --night-capable ({free:.1f} GB free)")
        t = timed([py, str(SCALE_LAKE), "scale", str(base), str(dest), "--copies", str(copies),
                   "--night-capable", "--no-check"], log)
        print(f"  {t['wall_s']:.0f} s")
        # Settle: what earlier nights would have done (the reference tables loaded, the
        # tables and gallery housekept), so the measured night is a steady-state night.
        for verb in (["reference", "load"], ["maintain"]):
            t = timed([args.tunggal, "--store", str(dest), *verb], log)
            print(f"  tunggal {' '.join(verb)}: {t['wall_s']:.0f} s, peak RSS {mib(t['peak_rss'])}")
    print(f"prepared under {root} (log: {log})")


# ----------------------------------------------------------------------------------- run


def night_on(name: str, prepared: pathlib.Path, args, log: pathlib.Path) -> dict:
    """One night on a hard-link working copy of `prepared`; per stage what it cost."""
    work = pathlib.Path(args.root) / f"night-{name}"
    if work.exists():
        shutil.rmtree(work)
    subprocess.run(["cp", "-al", str(prepared), str(work)], check=True)
    try:
        # Unmeasured nights first, with the binary measured: what its own nights leave
        # behind (the totals dedup carries from run to run, export's status watermark).
        for i in range(args.settle_nights):
            day = (datetime.date.today() - datetime.timedelta(days=2 + args.settle_nights - i))
            timed([args.tunggal, "--store", str(work), "synth", "--people",
                   str(args.settle_people), "--seed", str(args.night_seed + 1 + i), "--days", "1",
                   "--start", day.isoformat(), "--progress", "quiet"], log)
            for _, verb in STAGES:
                timed([args.tunggal, "--store", str(work), *verb], log)
            print(f"  {name}: settling night {i + 1} of {args.settle_nights} done", flush=True)
        enrollments = count_rows(work, "enrollments")
        start = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
        timed([args.tunggal, "--store", str(work), "synth", "--people", str(args.night_people),
               "--seed", str(args.night_seed), "--days", "1", "--start", start,
               "--progress", "quiet"], log)
        result = {"store": name, "enrollments": enrollments, "stages": {}}
        pin = ["taskset", "-c", args.pin] if args.pin else []
        for stage, verb in STAGES:
            # Trials: the stage on throw-away hard-link copies of the state before it, so
            # every run does the same work; then the run that carries the night on.
            trials = []
            repeat = args.repeat if stage != "dedup" or args.repeat_search else 1
            for _ in range(repeat - 1):
                trial = work.with_name(work.name + "-trial")
                if trial.exists():
                    shutil.rmtree(trial)
                subprocess.run(["cp", "-al", str(work), str(trial)], check=True)
                try:
                    trials.append(timed([*pin, args.tunggal, "--store", str(trial), *verb], log))
                finally:
                    shutil.rmtree(trial, ignore_errors=True)
            before = {r["run_id"] for r in runs(work)}
            t = timed([*pin, args.tunggal, "--store", str(work), *verb], log)
            trials.append(t)
            rows = [r for r in runs(work) if r["run_id"] not in before]
            io = {k: 0 for k in IO_FIELDS}
            for r in rows:
                detail = json.loads(r["detail"] or "{}")
                for k in IO_FIELDS:
                    io[k] += detail.get("io", {}).get(k, 0)
            walls = sorted(x["wall_s"] for x in trials)
            rsss = sorted(x["peak_rss"] for x in trials)
            m = {"wall_s": statistics.median(walls), "peak_rss": statistics.median(rsss),
                 "wall_runs": walls, "peak_rss_runs": rsss, **io,
                 "runs": sorted(r["stage"] for r in rows),
                 "summary": t["output"].strip().splitlines()[-12:]}
            result["stages"][stage] = m
            print(f"  {name} {stage}: {m['wall_s']:.1f} s, peak RSS {mib(m['peak_rss'])}, "
                  f"listed {io['objects_listed']}, read {mib(io['bytes_read'])}, "
                  f"written {mib(io['bytes_written'])}", flush=True)
            if stage == "dedup":
                # Medians over the runs, like the wall time they are taken from.
                found = [f for f in (SEARCH_RE.search(x["output"]) for x in trials) if f]
                if found:
                    m["search_s"] = statistics.median(float(f.group(3)) for f in found)
                    m["load_templates_s"] = statistics.median(float(f.group(2)) for f in found)
        result["after"] = count_rows(work, "enrollments")
        return result
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def cmd_run(args):
    root = pathlib.Path(args.root)
    log = root / "run.log"
    stores = args.stores or ["base"] + sorted(
        (p.name for p in root.glob("x*") if (p / "scale-lake.json").is_file()),
        key=lambda n: int(n[1:]))
    # The allocator's settings the measured processes inherit (mimalloc reads `MIMALLOC_*`
    # at start): peak RSS counts freed memory mimalloc has not yet returned to the system
    # (after `purge_delay`: the binary sets 10 ms for the nightly verbs unless the environment
    # says otherwise), so runs compare only under equal ones.
    allocator_env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("MIMALLOC_")}
    results = {"tunggal": args.tunggal, "cores": os.cpu_count(), "allocator_env": allocator_env,
               "repeat": args.repeat, "repeat_search": args.repeat_search, "pin": args.pin,
               "load": os.getloadavg(), "night_people": args.night_people,
               "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "stores": []}
    out = pathlib.Path(args.out or root / "results.json")
    for name in stores:
        print(f"{name}: a night of {args.night_people} new people", flush=True)
        results["stores"].append(night_on(name, root / name, args, log))
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


# -------------------------------------------------------------------------------- report


def rows_of(store: dict) -> dict[str, dict]:
    """Per stage the measures; dedup's wall time also split into the 1:N search and the rest
    (the process's memory and traffic are the whole stage's: the search reads the gallery)."""
    stages = {}
    for k, v in store["stages"].items():
        stages[k] = v
        if k == "dedup" and "search_s" in v:
            search = v["search_s"] + v.get("load_templates_s", 0.0)
            stages["dedup: 1:N search (wall)"] = {"wall_s": search}
            stages["dedup: all but the search (wall)"] = {"wall_s": max(0.0, v["wall_s"] - search)}
    return stages


def fit(ns: list[float], ts: list[float]) -> tuple[str, float]:
    """The best of constant, linear and log models for t(n); its value at TARGET."""
    if any(t is None for t in ts) or len(ns) < 2:
        return "-", float("nan")
    models = {}
    mean = sum(ts) / len(ts)
    models["constant"] = (lambda n, a=mean: a)
    for name, x in (("linear", lambda n: n), ("log", lambda n: math.log(n))):
        xs = [x(n) for n in ns]
        # Weighted least squares on relative error: weights 1/t^2.
        w = [1 / max(t, 1e-9) ** 2 for t in ts]
        sw, sx, sy = sum(w), sum(wi * xi for wi, xi in zip(w, xs)), sum(wi * ti for wi, ti in zip(w, ts))
        sxx = sum(wi * xi * xi for wi, xi in zip(w, xs))
        sxy = sum(wi * xi * ti for wi, xi, ti in zip(w, xs, ts))
        det = sw * sxx - sx * sx
        if det == 0:
            continue
        b = (sw * sxy - sx * sy) / det
        a = (sy - b * sx) / sw
        b = max(b, 0.0)  # costs do not shrink with the country
        models[name] = (lambda n, a=a, b=b, x=x: a + b * x(n))

    def err(f):
        return sum(((f(n) - t) / max(t, 1e-9)) ** 2 for n, t in zip(ns, ts))

    lo, hi = min(ts), max(ts)
    if hi <= NOISE * max(lo, 1e-9) or hi - lo < 1e-9:
        return "constant", models["constant"](TARGET)
    grown = {k: f for k, f in models.items() if k != "constant"}
    best = min(grown, key=lambda k: err(grown[k]))
    return best, grown[best](TARGET)


def report(results: dict) -> str:
    stores = results["stores"]
    lines = []
    lines.append(f"tunggal: {results['tunggal']}; {results['cores']} cores, load "
                 f"{', '.join(f'{x:.1f}' for x in results['load'])} at the start "
                 f"({results['started']}); a night of {results['night_people']} new people")
    env = results.get("allocator_env") or {}
    lines.append("allocator settings: " + (", ".join(f"{k}={v}" for k, v in env.items())
                                           or "no MIMALLOC_* variables (the binary's own)"))
    if results.get("repeat", 1) > 1 or results.get("pin"):
        lines.append(f"runs per stage: {results.get('repeat', 1)} on the same state, medians shown"
                     f" ({'dedup too' if results.get('repeat_search') else 'dedup once'})"
                     + (f"; pinned to CPU {results['pin']}" if results.get("pin") else ""))
    for s in stores:
        lines.append("")
        lines.append(f"### {s['store']}: {s['enrollments']:,} enrollments before the night, "
                     f"{s['after']:,} after")
        lines.append("")
        lines.append("| stage | " + " | ".join(h for _, h, _ in MEASURES) + " |")
        lines.append("|---|" + "---:|" * len(MEASURES))
        for stage, m in rows_of(s).items():
            cells = [fmt(m.get(k)) if m.get(k) is not None else "-" for k, _, fmt in MEASURES]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        spread = [f"{stage} {mib(m['peak_rss_runs'][0])}–{mib(m['peak_rss_runs'][-1])}, "
                  f"{m['wall_runs'][0]:.1f}–{m['wall_runs'][-1]:.1f} s"
                  for stage, m in s["stages"].items() if len(m.get("peak_rss_runs", [])) > 1]
        if spread:
            lines.append("")
            lines.append("Range of the runs (peak RSS, wall): " + "; ".join(spread) + ".")
    pairs = [(len(stores) - 2, len(stores) - 1)] + ([(0, len(stores) - 1)] if len(stores) > 2 else [])
    for i, j in pairs if len(stores) >= 2 else []:
        a, b = stores[i], stores[j]
        lines.append("")
        lines.append(f"### Growth {b['store']} / {a['store']} ({b['enrollments']:,} / "
                     f"{a['enrollments']:,} = {b['enrollments'] / a['enrollments']:.1f}× the enrollments)")
        lines.append("")
        lines.append("| stage | " + " | ".join(h for _, h, _ in MEASURES) + " |")
        lines.append("|---|" + "---:|" * len(MEASURES))
        ra, rb = rows_of(a), rows_of(b)
        for stage in rb:
            cells = []
            for k, _, _ in MEASURES:
                x, y = ra.get(stage, {}).get(k), rb[stage].get(k)
                if x is None or y is None:
                    cells.append("-")
                elif x == 0:
                    cells.append("=" if y == 0 else f"0 → {y:.0f}")
                else:
                    cells.append(f"{y / x:.2f}×")
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    if len(stores) >= 2:
        ns = [float(s["enrollments"]) for s in stores]
        lines.append("")
        lines.append(f"### Projected to {TARGET:,} enrollments (fitted on "
                     f"{', '.join(f'{int(n):,}' for n in ns)})")
        lines.append("")
        shown = [m for m in MEASURES if m[0] in ("wall_s", "peak_rss", "objects_listed",
                                                  "bytes_read", "bytes_written")]
        lines.append("| stage | " + " | ".join(h for _, h, _ in shown) + " |")
        lines.append("|---|" + "---:|" * len(shown))
        per_store = [rows_of(s) for s in stores]
        for stage in per_store[-1]:
            cells = []
            for k, _, fmt in shown:
                ts = [r.get(stage, {}).get(k) for r in per_store]
                model, value = fit(ns, ts)
                cells.append("-" if model == "-" else f"{fmt(value)} ({model})")
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cmd_report(args):
    print(report(json.loads(pathlib.Path(args.results).read_text())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="build the base store and its night-capable scaled copies")
    prep.add_argument("--root", required=True)
    prep.add_argument("--people", type=int, default=5000)
    prep.add_argument("--seed", type=int, default=3)
    prep.add_argument("--copies", type=int, nargs="+", default=[20, 202])
    prep.add_argument("--min-free-gb", type=float, default=12.0,
                      help="do not build a scaled store with less disk free, in GB (default 12; "
                           "x202 takes about 3.5 GB with its night)")
    prep.add_argument("--tunggal", default=default_tunggal())
    run = sub.add_parser("run", help="one night on each prepared store, measured")
    run.add_argument("--root", required=True)
    run.add_argument("--stores", nargs="+", help="store folders under --root (default: base, x…)")
    run.add_argument("--night-people", type=int, default=1000)
    run.add_argument("--night-seed", type=int, default=20261202)
    run.add_argument("--settle-nights", type=int, default=1,
                     help="unmeasured nights run first on the working copy with the measured "
                          "binary, as a deployment's earlier nights would have (default 1)")
    run.add_argument("--settle-people", type=int, default=200,
                     help="new people in each settling night (default 200)")
    run.add_argument("--out", help="results JSON (default: <root>/results.json)")
    run.add_argument("--keep", action="store_true", help="keep the night's working copies")
    run.add_argument("--repeat", type=int, default=1,
                     help="runs of each stage on the same state (throw-away hard-link copies, "
                          "then the working copy); wall time and peak RSS are their medians "
                          "(default 1; dedup only once unless --repeat-search)")
    run.add_argument("--repeat-search", action="store_true",
                     help="repeat dedup (and its 1:N search) too")
    run.add_argument("--pin", help="CPU list for `taskset -c` around every measured process "
                                   "(e.g. 0): one core, so runs agree more closely")
    run.add_argument("--tunggal", default=default_tunggal())
    rep = sub.add_parser("report", help="print the tables of a results JSON")
    rep.add_argument("results")
    args = parser.parse_args()
    {"prepare": cmd_prepare, "run": cmd_run, "report": cmd_report}[args.command](args)
    sys.stdout.flush()
    # deltalake's runtime can abort the interpreter at exit; everything is written by now.
    os._exit(0)


if __name__ == "__main__":
    main()
