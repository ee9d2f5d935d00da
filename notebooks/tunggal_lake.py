"""Read the tunggal lake the way an analyst does, and run the saved queries of ``sql/saved/``.

The lake tables are Delta Lake tables under ``<store>/lake/<table>/``; this module opens
them with the ``deltalake`` package (as pyarrow datasets) and queries them with the
``datafusion`` Python package, the same engine ``tunggal sql`` uses. The reference tables
come from the same files tunggal reads: ``residents`` from the SIAK extract under
``<store>/reference/siak/``, ``stations`` from ``<store>/reference/stations/``, and
``regions`` from ``reference/data/regions.csv`` in this repository (columns ``code``,
``level``, ``name``; province, regency and district levels).

Saved queries are read from their ``.sql`` files, never copied: ``saved("coverage_by_province",
reference_date="2026-12-31")`` binds ``$reference_date`` exactly as ``tunggal sql --saved``
does (the value as a quoted SQL string literal; undeclared ``$names`` are left alone).

The store is the folder named by ``TUNGGAL_STORE`` (default ``./tunggal-data``); a
``file://`` URL works too. A relative path is taken from the folder the user ran the command
in (the shell's ``$PWD``), not from the kernel's own folder: ``jupyter-execute`` and Jupyter
front ends start the kernel in the notebook's folder, where ``./tunggal-data`` names nothing.
S3 stores: open the tables with deltalake's storage options instead (not needed by the
notebooks here).

``choropleth(ax, values, level)`` draws a map of Indonesia by province or regency/city from
the boundaries shipped in ``reference/data/boundaries/`` (GeoJSON, MIT; see
``reference/data/NOTICE.md``) with matplotlib alone: one polygon patch per ring.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import pathlib
import re

import pyarrow as pa
import pyarrow.csv as pacsv
from datafusion import SessionContext
from deltalake import DeltaTable

REPO = pathlib.Path(__file__).resolve().parent.parent
SAVED_DIR = REPO / "sql" / "saved"

# Views over the lake tables, as tunggal registers them (lake/views/<name>.sql).
LAKE_VIEWS = ["identity_status", "clusters"]
VIEWS_DIR = REPO / "lake" / "views"

LAKE_TABLES = [
    "packets",
    "enrollments",
    "fingerprints",
    "irises",
    "runs",
    "match_candidates",
    "status_history",
    "decisions",
    "personalization_jobs",
    "audit",
]


def invoking_dir() -> pathlib.Path:
    """The folder the user ran the command in: the shell's ``$PWD``, which the kernel
    inherits even though Jupyter starts it in the notebook's folder; the process's own
    working folder when there is no ``$PWD`` (a launcher without a shell)."""
    pwd = os.environ.get("PWD")
    if pwd and os.path.isabs(pwd) and os.path.isdir(pwd):
        return pathlib.Path(pwd)
    return pathlib.Path.cwd()


def store_path() -> pathlib.Path:
    """The store folder from ``TUNGGAL_STORE`` (default ``./tunggal-data``), a relative
    path resolved against :func:`invoking_dir`. Raises ``FileNotFoundError`` when no store
    is there, rather than answering from empty tables."""
    location = os.environ.get("TUNGGAL_STORE", "./tunggal-data")
    if location.startswith("file://"):
        location = location[len("file://"):]
    path = pathlib.Path(location).expanduser()
    if not path.is_absolute():
        path = invoking_dir() / path
    path = path.resolve()
    if not (path / "lake").is_dir() and not (path / "landing").is_dir():
        raise FileNotFoundError(
            f"no tunggal store at {path} (TUNGGAL_STORE={location!r}; create one with "
            "`tunggal synth` or `tunggal init`, then `tunggal nightly`)")
    return path


def _read_csv_folder(folder: pathlib.Path, types: dict[str, pa.DataType]) -> pa.Table | None:
    """Every CSV file of a folder as one table: the columns in ``types`` typed so, all
    others text (codes such as ``33.74`` must not become numbers)."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        return None
    with open(files[0], newline="") as f:
        names = next(csv.reader(f))
    types = {name: types.get(name, pa.string()) for name in names}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=False)
    return pa.concat_tables(pacsv.read_csv(f, convert_options=options) for f in files)


def context(store: pathlib.Path | None = None) -> SessionContext:
    """A DataFusion session with every lake table present in the store and the reference
    tables registered under the names ``tunggal sql`` uses."""
    root = store or store_path()
    ctx = SessionContext()
    for table in LAKE_TABLES:
        folder = root / "lake" / table
        if (folder / "_delta_log").is_dir():
            ctx.register_dataset(table, DeltaTable(str(folder)).to_pyarrow_dataset())
    if (root / "lake" / "status_history" / "_delta_log").is_dir():
        for view in LAKE_VIEWS:
            ctx.sql(f"CREATE VIEW {view} AS {(VIEWS_DIR / f'{view}.sql').read_text()}")
    residents = _read_csv_folder(
        root / "reference" / "siak",
        {"birth_date": pa.date32(), "rt": pa.int32(), "rw": pa.int32()},
    )
    if residents is not None:
        ctx.register_record_batches("residents", [residents.to_batches()])
    stations = _read_csv_folder(
        root / "reference" / "stations",
        {"active_from": pa.timestamp("us", tz="UTC"), "active_to": pa.timestamp("us", tz="UTC")},
    )
    if stations is not None:
        ctx.register_record_batches("stations", [stations.to_batches()])
    regions = pacsv.read_csv(REPO / "reference" / "data" / "regions.csv",
                             convert_options=pacsv.ConvertOptions(column_types={"code": pa.string()}))
    ctx.register_record_batches("regions", [regions.to_batches()])
    return ctx


def saved_header(name: str) -> dict:
    """The parsed header of ``sql/saved/<name>.sql``: name, purpose, params (name ->
    default), columns (name -> meaning)."""
    header = {"name": None, "purpose": None, "params": {}, "columns": {}}
    for line in (SAVED_DIR / f"{name}.sql").read_text().splitlines():
        if not line.strip().startswith("--"):
            break
        text = line.strip()[2:].strip()
        if text.startswith("name:"):
            header["name"] = text[5:].strip()
        elif text.startswith("purpose:"):
            header["purpose"] = text[8:].strip()
        elif text.startswith("param "):
            decl, _meaning = text[6:].split(":", 1)
            pname, default = decl.split("=", 1)
            header["params"][pname.strip()] = default.strip()[1:-1].replace("''", "'")
        elif text.startswith("column "):
            cname, meaning = text[7:].split(":", 1)
            header["columns"][cname.strip()] = meaning.strip()
    return header


def saved_sql(name: str, **params: str) -> str:
    """The SQL of a saved query with its parameters bound (defaults for those not given)."""
    header = saved_header(name)
    unknown = set(params) - set(header["params"])
    if unknown:
        raise ValueError(f"{name} has no parameter(s) {sorted(unknown)}; it takes {sorted(header['params'])}")
    values = {**header["params"], **{k: str(v) for k, v in params.items()}}
    text = (SAVED_DIR / f"{name}.sql").read_text()

    def bind(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        return "'" + values[key].replace("'", "''") + "'"

    return re.sub(r"\$([A-Za-z0-9_]+)", bind, text)


def saved(name: str, ctx: SessionContext | None = None, **params: str):
    """Runs a saved query; returns a pandas-free pyarrow Table."""
    ctx = ctx or context()
    return ctx.sql(saved_sql(name, **params)).to_arrow_table()


def truth() -> pa.Table:
    """The synthetic country's ground truth (``synth-truth/enrollees/*.csv``): object_path,
    packet_id, person_id, nik, case. Only synthesized stores have it."""
    table = _read_csv_folder(store_path() / "synth-truth" / "enrollees", {})
    if table is None:
        raise FileNotFoundError("no synth-truth/enrollees/*.csv in the store")
    return table


BOUNDARIES_DIR = REPO / "reference" / "data" / "boundaries"


@functools.lru_cache(maxsize=2)
def boundaries(level: str) -> dict[str, tuple[str, list[list[tuple[float, float]]]]]:
    """The boundaries of ``level`` (``"province"`` or ``"regency"``) from
    ``reference/data/boundaries/``: code (``PP`` or ``PP.KK``) -> (name, rings), each ring a
    list of (longitude, latitude). Holes are dropped: at this scale they are lakes."""
    files = {"province": "provinces.geojson", "regency": "regencies.geojson"}
    if level not in files:
        raise ValueError(f"level is 'province' or 'regency', not {level!r}")
    with open(BOUNDARIES_DIR / files[level]) as f:
        collection = json.load(f)
    shapes = {}
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        rings = [[(x, y) for x, y, *_ in polygon[0]] for polygon in polygons]
        props = feature["properties"]
        shapes[props["code"]] = (props.get("name", props["code"]), rings)
    return shapes


def choropleth(ax, values: dict, level: str = "province", *, cmap: str = "viridis",
               vmin: float | None = None, vmax: float | None = None, label: str = "",
               title: str = ""):
    """Draws a choropleth of Indonesia on ``ax``: each province (``level="province"``,
    codes ``PP``) or regency/city (``"regency"``, codes ``PP.KK``) filled by its value in
    ``values`` (code -> number), light grey where there is no value. Adds a colour bar
    labelled ``label``; returns the number of areas coloured, so a notebook can check that
    the codes of a query met the boundaries' codes."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon

    shapes = boundaries(level)
    coloured, coloured_values, empty = [], [], []
    for code, (_name, rings) in shapes.items():
        value = values.get(code)
        patches = [Polygon(ring, closed=True) for ring in rings if len(ring) >= 3]
        if value is None:
            empty.extend(patches)
        else:
            coloured.extend(patches)
            coloured_values.extend([float(value)] * len(patches))
    ax.add_collection(PatchCollection(empty, facecolor="#dddddd", edgecolor="white",
                                      linewidth=0.2))
    shaded = PatchCollection(coloured, cmap=cmap, edgecolor="white", linewidth=0.2)
    shaded.set_array(coloured_values)
    if vmin is not None or vmax is not None:
        shaded.set_clim(vmin, vmax)
    ax.add_collection(shaded)
    ax.set_xlim(94.5, 141.5)
    ax.set_ylim(-11.5, 6.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if coloured:
        plt.colorbar(shaded, ax=ax, shrink=0.6, label=label)
    return sum(1 for code in shapes if values.get(code) is not None)
