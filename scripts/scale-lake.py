#!/usr/bin/env python3
"""Scale a small tunggal store up K times, to benchmark the analyst SQL at national size
without synthesizing and ingesting a million packets (ingest runs at ~250 packets/s).

    # 1. a small store made by tunggal itself: synth, nightly, adjudicators deciding two
    #    thirds of the cases through the console's JSON API, nightly again (about 4 minutes
    #    for 5,000 people on 2 cores; 4,948 accepted enrollments)
    .venv/bin/python scripts/scale-lake.py base /work/tmp-sqlbench/base --people 5000 --seed 3

    # 2. the same store 202 times over (999,496 enrollments), then the self-check
    .venv/bin/python scripts/scale-lake.py scale /work/tmp-sqlbench/base /work/tmp-sqlbench/x202 --copies 202

    # 3. the benchmark
    .venv/bin/python scripts/bench-sql.py --store /work/tmp-sqlbench/x202

`scale` writes a new store whose lake tables hold K copies of every row of the source's
non-biometric tables (packets, enrollments, status_history, match_candidates,
decisions, personalization_jobs, audit), and whose SIAK extract holds K copies of every
resident. Copy 0 is the source row as it is; in copy c >= 1 every key is rewritten the same
way in every table, so joins stay consistent and keys stay unique:

- enrollment, packet, cluster, case, decision and job ids: the UUID v5 of "<old id>/<c>";
  packet object paths and personalization card files get the new id in their file name;
- NIK and KK numbers: the same 12 leading digits (district, birth or issue date), a serial
  from the ones the source does not use under that prefix, so they stay valid numbers and
  the residents, enrollments and coverage queries agree;
- audit `seq`: shifted by c times the source's largest seq.

Everything else (times, regions, sites, statuses, scores, adjudicators, run ids) is kept, so
every saved query answers K times the source's counts with the same ratios, medians and
maxima; `scale` ends by checking exactly that (see `check`). The `runs` table keeps one row
per run with its counters multiplied by K. `fingerprints` and `irises` are linked unscaled
(no saved query reads them), and `landing/`, `synth-truth/`, `adjudication/` and `exports/`
are not copied: the scaled store is for SQL, not for another nightly run or the console.

With `--night-capable` the scaled store can also take another night (scripts/bench-night.py):
the store marker is copied; the gallery partitions `dedup/segments/<run>/<n>.seg` are linked
K times, copy c as `<run>/<n + 1000 c>-unit.seg`, a sealed unit partition of one source with
its manifest (unit partitions of the source and their manifests are shifted likewise), so a
night searches a gallery of the scaled size (the templates and enrollment ids inside
are the source's: every copy is the same persons again, which a night of new persons cannot
tell from K times as many); and `landing/` is linked only for the day folders of ingest's
re-scan window (the last 32 days): older objects are never listed, and the scaled `packets`
rows of copies c >= 1 name objects that do not exist, which ingest never asks for. The
reference tables are not written: the night's `tunggal reference load` (or ingest's) takes
the scaled SIAK extract once, as a fresh deployment would.

Each table is written in `--files` appends (default 32: a few dozen Parquet files per table,
one Delta commit each, as a store compacted now and then would hold), with the source
table's exact Delta schema and configuration and tunggal's Parquet layout
(lake/file-layout.json: row groups of 65,536 rows, bloom filters on the key columns); the
SIAK extract in 8 CSV files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from deltalake import (BloomFilterProperties, ColumnProperties, DeltaTable, WriterProperties,
                       write_deltalake)

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "notebooks"))
# The Parquet layout of the lake's data files, shared with tunggal (lake/src/file_layout.rs).
FILE_LAYOUT = REPO / "lake" / "file-layout.json"

# Namespace of the rewritten ids (any fixed UUID: the same copy always gets the same ids).
NAMESPACE = uuid.UUID("6f1b6a52-7c1e-4d3a-9a57-5ca1e1a4e000")

# Which id domain each column belongs to; a domain maps one old value to one new value per
# copy, the same in every table.
DOMAINS = {
    "enrollments": {"enrollment_id": "E", "packet_id": "P", "nik": "NIK", "kk_number": "KK"},
    "packets": {"packet_id": "P", "enrollment_id": "E"},
    "status_history": {"enrollment_id": "E", "cluster_id": "C", "decision_id": "D"},
    "match_candidates": {"probe_id": "E", "candidate_id": "E"},
    "decisions": {"decision_id": "D", "case_id": "CASE", "cluster_id": "C", "enrollment_id": "E"},
    "personalization_jobs": {"enrollment_id": "E", "job_id": "J"},
    "audit": {"case_id": "CASE"},
}
SCALED = list(DOMAINS)
LINKED = ["fingerprints", "irises"]
RESIDENT_FILES = 8


def default_tunggal() -> str:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "debug" / "tunggal")


# ---------------------------------------------------------------------------------- base


def tunggal(binary: str, store: pathlib.Path, *args: str, **env: str) -> str:
    out = subprocess.run([binary, "--store", str(store), *args], capture_output=True, text=True,
                         env={**os.environ, **env})
    if out.returncode != 0:
        sys.exit(f"tunggal {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return out.stdout


class Console:
    """`tunggal console` on a free loopback port, driven through its JSON API."""

    def __init__(self, binary: str, store: pathlib.Path):
        self.proc = subprocess.Popen([binary, "--store", str(store), "console", "--bind", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.proc.stdout:
            if line.startswith("console listening on "):
                self.base = line.split()[-1].strip()
                break
        else:
            sys.exit("tunggal console did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait()

    def call(self, method: str, path: str, body=None, session=None):
        headers = {"Content-Type": "application/json"}
        if session:
            headers["Cookie"] = f"tunggal_session={session[0]}"
            headers["X-CSRF-Token"] = session[1]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request) as response:
            cookie = response.headers.get("Set-Cookie", "")
            return json.loads(response.read() or b"null"), cookie

    def login(self, username: str, password: str):
        answer, cookie = self.call("POST", "/api/login", {"username": username, "password": password})
        token = cookie.split("tunggal_session=", 1)[1].split(";", 1)[0]
        return token, answer["csrf_token"]


def adjudicate(binary: str, store: pathlib.Path, decide_share: float) -> int:
    """Decides about `decide_share` of the open cases through the console's API, cycling
    through the four outcomes and two adjudicators; duplicates and fraud flags are confirmed
    by a supervisor. Returns the number of decisions taken."""
    password = "scale-lake benchmark password"
    users = [("analis1", "adjudicator"), ("analis2", "adjudicator"), ("penyelia1", "supervisor")]
    existing = tunggal(binary, store, "users", "list")
    for name, role in users:
        if name not in existing:
            tunggal(binary, store, "users", "add", name, "--role", role, TUNGGAL_PASSWORD=password)
    console = Console(binary, store)
    try:
        sessions = {name: console.login(name, password) for name, _ in users}
        cases, _ = console.call("GET", "/api/cases", session=sessions["analis1"])
        cases = sorted((c for c in cases if c["state"] == "open"), key=lambda c: c["case_id"])
        outcomes = ["duplicate", "different_persons", "reenrollment", "refer_back"]
        decided = 0
        for i, case in enumerate(cases):
            # Evenly spread: case i is decided when the running share crosses a whole case.
            if int((i + 1) * decide_share) == int(i * decide_share):
                continue
            outcome = outcomes[decided % 4]
            fraud = outcome == "duplicate" and decided % 8 == 0
            who = sessions[["analis1", "analis2"][decided % 2]]
            cid = case["case_id"]
            console.call("POST", f"/api/cases/{cid}/claim", {}, who)
            body = {"outcome": outcome, "fraud": fraud, "comment": "benchmark decision"}
            if outcome == "duplicate":
                body["keep_enrollment_id"] = case["members"][0]["enrollment_id"]
            decision, _ = console.call("POST", f"/api/cases/{cid}/decide", body, who)
            if decision["needs_confirmation"]:
                sup = sessions["penyelia1"]
                console.call("POST", f"/api/cases/{cid}/claim", {}, sup)
                console.call("POST", f"/api/cases/{cid}/confirm", {"comment": "confirmed"}, sup)
            decided += 1
        return decided
    finally:
        console.close()


def cmd_base(args):
    store = pathlib.Path(args.store)
    if store.exists():
        sys.exit(f"{store} exists; give a new folder")
    started = time.time()
    tunggal(args.tunggal, store, "synth", "--people", str(args.people), "--seed", str(args.seed),
            "--progress", "quiet")
    tunggal(args.tunggal, store, "nightly", "--no-progress")
    decided = adjudicate(args.tunggal, store, args.decide_share)
    tunggal(args.tunggal, store, "nightly", "--no-progress")
    print(f"base store {store}: {decided} cases decided; {time.time() - started:.0f} s")


# --------------------------------------------------------------------------------- scale


def read_table(store: pathlib.Path, name: str):
    folder = store / "lake" / name
    if not (folder / "_delta_log").is_dir():
        return None, None
    dt = DeltaTable(str(folder))
    return dt, dt.to_pyarrow_table()


def read_residents(store: pathlib.Path) -> pa.Table:
    files = sorted((store / "reference" / "siak").glob("*.csv"))
    if not files:
        sys.exit(f"no SIAK extract under {store}/reference/siak")
    # Every column as text, so the copies are written back exactly as read.
    names = pacsv.read_csv(files[0], read_options=pacsv.ReadOptions(block_size=1 << 16)).column_names
    options = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                   strings_can_be_null=False)
    return pa.concat_tables(pacsv.read_csv(f, convert_options=options) for f in files)


class IdMaps:
    """Old value -> new value per copy, for every id domain (cached per copy)."""

    def __init__(self, values: dict[str, set[str]], numbers: dict[str, set[str]], copies: int):
        self.uniq = {d: pa.array(sorted(v), pa.string()) for d, v in {**values, **numbers}.items()}
        self.cache: dict[tuple[str, int], pa.Array] = {}
        for domain in numbers:
            for c, column in enumerate(serial_copies(self.uniq[domain].to_pylist(), copies)):
                self.cache[(domain, c)] = pa.array(column, pa.string())

    def new_values(self, domain: str, c: int) -> pa.Array:
        key = (domain, c)
        if key not in self.cache:
            self.cache[key] = pa.array(
                [str(uuid.uuid5(NAMESPACE, f"{v}/{c}")) for v in self.uniq[domain].to_pylist()],
                pa.string())
        return self.cache[key]

    def map(self, column: pa.ChunkedArray, domain: str, c: int) -> pa.ChunkedArray:
        if c == 0:
            return column
        index = pc.index_in(column, value_set=self.uniq[domain])
        mapped = pc.take(self.new_values(domain, c), index)
        if mapped.null_count != column.null_count:
            raise AssertionError(f"a value of domain {domain} has no mapping")
        return mapped


def serial_copies(numbers: list[str], copies: int) -> list[list[str]]:
    """For 16-digit NIK or KK numbers `PPKKCC DDMMYY SSSS`: per copy, one new number per
    input, the same first 12 digits and a serial not used by any input or other copy."""
    groups: dict[str, list[str]] = {}
    for n in numbers:
        if len(n) != 16 or not n.isdigit():
            raise ValueError("a NIK or KK number that is not 16 digits")
        groups.setdefault(n[:12], []).append(n)
    new = {n: [n] for n in numbers}
    for prefix, members in groups.items():
        members.sort()
        used = {int(m[12:]) for m in members}
        free = [s for s in range(1, 10000) if s not in used]
        need = (copies - 1) * len(members)
        if need > len(free):
            sys.exit(f"{len(members)} numbers share one 12-digit prefix: not enough serials for "
                     f"{copies} copies (at most {len(free) // len(members) + 1})")
        for i, m in enumerate(members):
            for c in range(1, copies):
                new[m].append(f"{prefix}{free[(c - 1) * len(members) + i]:04d}")
    return [[new[n][c] for n in numbers] for c in range(copies)]


def with_column(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), values)


def dir_of(paths) -> pa.ChunkedArray:
    return pc.replace_substring_regex(paths, pattern="[^/]*$", replacement="")


def copy_of(name: str, table: pa.Table, maps: IdMaps, c: int, max_seq: int) -> pa.Table:
    """Copy `c` of one source table (copy 0: the rows as they are)."""
    if c == 0:
        return table
    out = table
    for column, domain in DOMAINS[name].items():
        out = with_column(out, column, maps.map(table[column], domain, c))
    if name == "packets":
        paths = table["object_path"]
        base = pc.replace_substring_regex(paths, pattern="^.*/", replacement="")
        zipped = pc.ends_with(base, ".zip")
        stem = pc.replace_substring_regex(base, pattern=r"\.zip$", replacement="")
        suffix = pc.if_else(zipped, ".zip", "")
        new = pc.binary_join_element_wise(dir_of(paths), maps.map(stem, "P", c), suffix, "")
        out = with_column(out, "object_path", new)
    elif name == "personalization_jobs":
        new = pc.binary_join_element_wise(dir_of(table["file"]), out["enrollment_id"], ".json", "")
        out = with_column(out, "file", new)
    elif name == "audit":
        out = with_column(out, "seq", pc.add(table["seq"], c * max_seq))
    return out


def collect_domains(tables: dict[str, pa.Table]) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for name, columns in DOMAINS.items():
        table = tables.get(name)
        if table is None:
            continue
        for column, domain in columns.items():
            if domain in ("NIK", "KK"):
                continue
            values.setdefault(domain, set()).update(v for v in table[column].to_pylist() if v is not None)
    if "packets" in tables:
        for path in tables["packets"]["object_path"].to_pylist():
            base = path.rsplit("/", 1)[-1]
            values.setdefault("P", set()).add(base[:-4] if base.endswith(".zip") else base)
    return values


def check_sources(tables: dict[str, pa.Table]):
    """The rewriting relies on these shapes of the source rows."""
    jobs = tables.get("personalization_jobs")
    if jobs is not None:
        expected = pc.binary_join_element_wise(dir_of(jobs["file"]), jobs["enrollment_id"], ".json", "")
        if not pc.all(pc.equal(expected, jobs["file"])).as_py():
            sys.exit("personalization_jobs.file is not .../<enrollment_id>.json")


def writer_properties(name: str) -> WriterProperties:
    """The Parquet layout tunggal's own writers give table `name` (lake/file-layout.json, the
    one definition: row groups, bloom filters on the key columns the nights look up), so a
    scaled store's files are what a deployment's would be."""
    layout = json.loads(FILE_LAYOUT.read_text())
    bloom = BloomFilterProperties(True, fpp=layout["bloom_filter_fpp"], ndv=layout["row_group_rows"])
    columns = layout["bloom_filter_columns"].get(name, [])
    return WriterProperties(
        max_row_group_size=layout["row_group_rows"], compression="SNAPPY",
        column_properties={c: ColumnProperties(bloom_filter_properties=bloom) for c in columns})


def write_table(dst: pathlib.Path, name: str, source: DeltaTable, parts) -> int:
    """Creates `name` under `dst` with the source's Delta schema and configuration, then
    appends each of `parts` (one Delta commit and one Parquet file each)."""
    uri = str(dst / "lake" / name)
    meta = source.metadata()
    DeltaTable.create(uri, schema=source.schema(), name=meta.name, description=meta.description,
                      configuration=meta.configuration)
    target = pa.schema(source.schema().to_arrow())
    properties = writer_properties(name)
    rows = 0
    for part in parts:
        part = part.cast(target)
        write_deltalake(uri, part, mode="append", writer_properties=properties)
        rows += part.num_rows
    written = DeltaTable(uri)
    if written.schema().to_json() != source.schema().to_json():
        sys.exit(f"{name}: the written schema differs from the source's")
    return rows


def cmd_scale(args):
    src, dst, copies = pathlib.Path(args.source), pathlib.Path(args.dest), args.copies
    if copies < 1:
        sys.exit("--copies must be at least 1")
    if dst.exists():
        sys.exit(f"{dst} exists; give a new folder")
    started = time.time()
    sources = {}
    tables = {}
    for name in SCALED + ["runs"]:
        dt, table = read_table(src, name)
        if dt is not None:
            sources[name], tables[name] = dt, table
    if "enrollments" not in tables:
        sys.exit(f"{src} has no enrollments table: run `tunggal nightly` on it first")
    check_sources(tables)
    residents = read_residents(src)
    numbers = {
        "NIK": set(residents["nik"].to_pylist()) | set(tables["enrollments"]["nik"].to_pylist()),
        "KK": set(residents["kk_number"].to_pylist()) | set(tables["enrollments"]["kk_number"].to_pylist()),
    }
    maps = IdMaps(collect_domains(tables), numbers, copies)
    max_seq = pc.max(tables["audit"]["seq"]).as_py() if "audit" in tables else 0

    (dst / "lake").mkdir(parents=True)
    files = max(1, min(args.files, copies))
    groups = [range(g * copies // files, (g + 1) * copies // files) for g in range(files)]
    for name in SCALED:
        if name not in tables:
            print(f"  {name}: not in the source, skipped")
            continue
        parts = (pa.concat_tables(copy_of(name, tables[name], maps, c, max_seq) for c in group)
                 for group in groups)
        rows = write_table(dst, name, sources[name], parts)
        print(f"  {name}: {tables[name].num_rows} rows x {copies} = {rows} rows in {files} files")
    if "runs" in tables:
        runs = tables["runs"]
        for column in ["seen", "processed", "accepted", "rejected"]:
            runs = with_column(runs, column, pc.multiply(runs[column], copies))
        write_table(dst, "runs", sources["runs"], [runs])
    for name in LINKED:
        if (src / "lake" / name).is_dir():
            shutil.copytree(src / "lake" / name, dst / "lake" / name, copy_function=os.link)
            print(f"  {name}: linked unscaled (no saved query reads it)")

    siak = dst / "reference" / "siak"
    siak.mkdir(parents=True)
    resident_files = max(1, min(RESIDENT_FILES, copies))
    for g in range(resident_files):
        part = pa.concat_tables(
            with_column(with_column(residents, "nik", maps.map(residents["nik"], "NIK", c)),
                        "kk_number", maps.map(residents["kk_number"], "KK", c))
            for c in range(g * copies // resident_files, (g + 1) * copies // resident_files))
        pacsv.write_csv(part, siak / f"scaled-{g:02d}.csv",
                        write_options=pacsv.WriteOptions(quoting_style="needed"))
    print(f"  residents: {residents.num_rows} x {copies} = {residents.num_rows * copies} "
          f"in {resident_files} files")
    if (src / "reference" / "stations").is_dir():
        shutil.copytree(src / "reference" / "stations", dst / "reference" / "stations")
    if args.night_capable:
        link_night_state(src, dst, copies, args.landing_days, tables["enrollments"].num_rows)
    (dst / "scale-lake.json").write_text(json.dumps(
        {"source": str(src.resolve()), "copies": copies, "files": files,
         "night_capable": bool(args.night_capable)}, indent=2) + "\n")
    print(f"wrote {dst} in {time.time() - started:.0f} s")
    if not args.no_check and not check(src, dst, copies):
        sys.exit(1)


# ----------------------------------------------------------------------- night-capable

# Partition numbers of copy c are shifted by c times this (the source's must be below it).
PARTITION_STRIDE = 1000
PARTITION_NAME = re.compile(r"^(\d+)(-unit)?\.(seg|json)$")


def shifted_partition(path: str, c: int) -> str:
    """`dedup/segments/<run>/<n>[-unit].<ext>` of copy `c`: the number shifted by c x 1000."""
    folder, _, name = path.rpartition("/")
    match = PARTITION_NAME.match(name)
    if match is None:
        raise ValueError(f"unexpected gallery object {path}")
    n = int(match.group(1))
    if n >= PARTITION_STRIDE:
        sys.exit(f"{path}: partition numbers from {PARTITION_STRIDE} up are not supported")
    shifted = f"{n + c * PARTITION_STRIDE:05d}{match.group(2) or ''}.{match.group(3)}"
    return f"{folder}/{shifted}" if folder else shifted


def link_night_state(src: pathlib.Path, dst: pathlib.Path, copies: int, landing_days: int,
                     enrolled: int):
    """What a night needs beyond the tables (see the module docs): marker, gallery, recent
    landing. Hard links: no bytes are copied, and tunggal replaces objects, never edits them."""
    marker = src / "tunggal-store.txt"
    if marker.is_file():
        shutil.copy2(marker, dst / marker.name)
    segments = src / "dedup" / "segments"
    files = [f for f in sorted(segments.rglob("*")) if f.is_file()] if segments.is_dir() else []
    plain = [f for f in files if f.suffix == ".seg" and not f.stem.endswith("-unit")]
    # Informational in a manifest (no search reads it): the source's enrollments per partition.
    members = max(1, enrolled // max(1, len(plain)))
    for f in files:
        rel = f.relative_to(segments).as_posix()
        for c in range(copies):
            target = dst / "dedup" / "segments" / shifted_partition(rel, c)
            target.parent.mkdir(parents=True, exist_ok=True)
            if f.suffix == ".json" and c > 0:
                manifest = json.loads(f.read_text())
                manifest["sources"] = [
                    f"{s.rpartition('/')[0]}/{shifted_partition(s.rpartition('/')[2], c)}"
                    for s in manifest["sources"]]
                target.write_text(json.dumps(manifest))
            elif f in plain:
                # Every copy of a plain partition (copy 0 too) is stored as a sealed unit
                # partition of one source (the same bytes: compaction's merge of one partition
                # is the partition), so `tunggal maintain` does not merge the copies into
                # gigabytes of new units, as it would once for a gallery that never had
                # housekeeping, and the night's own partition never joins a copy (whether it
                # would depends on where its random run id sorts). The manifest names the
                # plain path, which does not exist in the scaled store.
                unit = target.with_name(target.stem + "-unit.seg")
                os.link(f, unit)
                manifest = {"sources": [f"dedup/segments/{shifted_partition(rel, c)}"],
                            "members": members}
                unit.with_suffix(".json").write_text(json.dumps(manifest, indent=2))
            else:
                os.link(f, target)
    print(f"  gallery: {len(plain)} partition(s) x {copies}, as sealed units of one partition "
          f"(hard links)")
    oldest = (datetime.date.today() - datetime.timedelta(days=landing_days)).isoformat()
    kept = skipped = 0
    landing = src / "landing"
    for site in sorted(landing.iterdir()) if landing.is_dir() else []:
        for day in sorted(site.iterdir()) if site.is_dir() else [site]:
            if day.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day.name) and day.name < oldest:
                skipped += 1
                continue
            target = dst / day.relative_to(src)
            if day.is_dir():
                shutil.copytree(day, target, copy_function=os.link)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(day, target)
            kept += 1
    print(f"  landing: {kept} day folders of the last {landing_days} days linked, "
          f"{skipped} older ones left out")


# --------------------------------------------------------------------------------- check

SAVED_PARAMS = {
    "adjudication_backlog": {"as_of": "2027-01-01T00:00:00Z"},
    "coverage_by_province": {"reference_date": "2027-01-01"},
    "coverage_by_regency": {"reference_date": "2027-01-01"},
}

# Keys that must stay unique in the scaled store.
UNIQUE_KEYS = [("enrollments", "enrollment_id"), ("enrollments", "packet_id"),
               ("packets", "object_path"), ("identity_status", "enrollment_id"),
               ("personalization_jobs", "enrollment_id"),
               ("decisions", "decision_id || '/' || enrollment_id"),
               ("audit", "seq"), ("residents", "nik")]

def check(src: pathlib.Path, dst: pathlib.Path, copies: int) -> bool:
    """Runs every saved query on both stores (DataFusion's Python package, not tunggal) and
    checks that the scaled one answers `copies` times every count (integer columns) with the
    same keys and the same ratios, medians, maxima and times (all other columns)."""
    import tunggal_lake as lake

    small, big = lake.context(src), lake.context(dst)
    ok = True
    for name in sorted(p.stem for p in lake.SAVED_DIR.glob("*.sql")):
        params = SAVED_PARAMS.get(name, {})
        a = lake.saved(name, small, **params)
        b = lake.saved(name, big, **params)
        if name == "match_scores":
            keys = ["run_id", "relation", "band", "llr", "finger_llr", "iris_llr"]
            # Pairs keyed by their scores (as text, so they are keys, not measures).
            a, b = (t.group_by(keys).aggregate([([], "count_all")]) for t in (a, b))
            a, b = (t.cast(pa.schema([pa.field(f.name, pa.string() if f.name in keys else f.type)
                                      for f in t.schema])) for t in (a, b))
        problems = compare(a, b, copies)
        ok &= not problems
        rows = f"{a.num_rows} rows" if name != "match_scores" else "score groups"
        print(f"  check {name}: {rows}; " + ("K x the counts, same ratios" if not problems
                                             else "; ".join(problems[:3])))
    for table, key in UNIQUE_KEYS:
        row = big.sql(f"SELECT count(*) AS n, count(DISTINCT {key}) AS d FROM {table}").to_pylist()[0]
        unique = row["n"] == row["d"]
        ok &= unique
        print(f"  check {table}.{key}: {row['n']} rows, " + ("unique" if unique else f"{row['d']} distinct"))
    example = lake.saved("coverage_by_province", small, **SAVED_PARAMS["coverage_by_province"])
    scaled = lake.saved("coverage_by_province", big, **SAVED_PARAMS["coverage_by_province"])
    first, top = example.slice(0, 1).to_pylist()[0], scaled.slice(0, 1).to_pylist()[0]
    print(f"  e.g. coverage_by_province {first['province_code']}: wajib_ktp {first['wajib_ktp']} -> "
          f"{top['wajib_ktp']}, enrolled {first['enrolled']} -> {top['enrolled']}, "
          f"coverage {first['coverage']:.4f} -> {top['coverage']:.4f}")
    print("self-check " + ("passed" if ok else "FAILED"))
    return ok


def compare(a: pa.Table, b: pa.Table, copies: int) -> list[str]:
    counts = [f.name for f in a.schema if pa.types.is_integer(f.type)]
    keys = [f.name for f in a.schema if f.name not in counts and not pa.types.is_floating(f.type)
            and not pa.types.is_timestamp(f.type)]
    if a.num_rows != b.num_rows:
        return [f"{a.num_rows} rows, scaled {b.num_rows}"]
    problems = []
    index = {tuple(r[k] for k in keys): r for r in b.to_pylist()}
    for row in a.to_pylist():
        other = index.get(tuple(row[k] for k in keys))
        if other is None:
            problems.append(f"no scaled row for {tuple(row[k] for k in keys)}")
            continue
        for column, value in row.items():
            want = value * copies if column in counts and value is not None else value
            got = other[column]
            if isinstance(want, float) and got is not None:
                same = abs(want - got) <= 1e-9 * max(1.0, abs(want))
            else:
                same = want == got
            if not same:
                problems.append(f"{column}: expected {want}, got {got}")
    return problems


def cmd_check(args):
    if not check(pathlib.Path(args.source), pathlib.Path(args.dest), args.copies):
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    base = sub.add_parser("base", help="make the small source store with tunggal")
    base.add_argument("store")
    base.add_argument("--people", type=int, default=5000)
    base.add_argument("--seed", type=int, default=3)
    base.add_argument("--decide-share", type=float, default=2 / 3,
                      help="share of the adjudication cases decided (default 2/3)")
    base.add_argument("--tunggal", default=default_tunggal())
    scale = sub.add_parser("scale", help="write the store K times over, then check it")
    scale.add_argument("source")
    scale.add_argument("dest")
    scale.add_argument("--copies", type=int, required=True)
    scale.add_argument("--files", type=int, default=32, help="Parquet files per table (default 32)")
    scale.add_argument("--no-check", action="store_true",
                       help="skip the self-check (run `check` later)")
    scale.add_argument("--night-capable", action="store_true",
                       help="also link the gallery K times and the recent landing/ folders, so "
                            "the store can take another night (scripts/bench-night.py)")
    scale.add_argument("--landing-days", type=int, default=32,
                       help="with --night-capable: day folders of landing/ linked (default 32, "
                            "ingest's re-scan window for the default upload delay)")
    chk = sub.add_parser("check", help="check a scaled store against its source")
    chk.add_argument("source")
    chk.add_argument("dest")
    chk.add_argument("--copies", type=int, required=True)
    args = parser.parse_args()
    {"base": cmd_base, "scale": cmd_scale, "check": cmd_check}[args.command](args)
    sys.stdout.flush()
    # deltalake's runtime can abort the interpreter at exit ("terminate called without an
    # active exception"); everything is written by now.
    os._exit(0)


if __name__ == "__main__":
    main()
