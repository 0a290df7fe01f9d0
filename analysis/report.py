"""One self-contained HTML page for a results folder: per experiment its task, figures, best trials, table, facts.

The page embeds its figures (base64 PNG) and its style, loads nothing from the network and needs
no JavaScript framework: a dozen lines of plain JavaScript make the trial tables sortable by a
click on a column header, and the page reads the same without them.
"""

import base64
import html
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import location as loc
from analysis.best import best_records, export_command, objectives_of, params_of
from analysis.figure_parts import data_name
from analysis.figures import FIGURES
from analysis.results import FINISHED, TABLE_FILE, infeasible, load_results
from errors import ResultsError

RUN_FILE = "run.json"
# Experiments in lab order; others follow alphabetically.
ORDER = ("base", *FIGURES)
# A trials table longer than this shows its first rows and says where the rest is.
MAX_TRIAL_ROWS = 200
SOURCE_COLUMNS = ("data_source", "model_source", "tokenizer_source")
# What a run records about its own --model and --dataset (absent in the labs' setting).
OWN_COLUMNS = ("model", "data_hash", "text_columns", "label_column", "label_map", "class_counts")


def experiment_folders(location: str | Path) -> list[str]:
    """The experiment folders under `location` (or `location` itself when it is one), in lab order.

    `location` is a local folder or a URI (s3://...); the folders come back in the same form.
    Folders moved aside by a rerun (`<name>.previous`) are left out. ResultsError when none is found.
    """
    root = str(location).rstrip("/") or "/"
    if loc.is_file(loc.join(root, TABLE_FILE)):
        return [root]
    if not loc.is_dir(root):
        raise ResultsError(f"{root} does not exist; run `adls run <experiment>` first or give its folder")
    found = [
        child
        for child in loc.children(root)
        if ".previous" not in loc.name(child) and loc.is_file(loc.join(child, TABLE_FILE))
    ]
    if not found:
        raise ResultsError(
            f"{root} holds no experiment results (no */{TABLE_FILE}); run `adls run lab1` first"
        )

    def rank(folder: str) -> tuple[int, str]:
        name = loc.name(folder)
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    return sorted(found, key=rank)


def write_report(location: str | Path, output: str | Path | None = None, top: int = 3) -> str:
    """Write the report of every experiment under `location` to `output` (default `<location>/report.html`).

    Both may be local paths or URIs; returns where the page was written.
    """
    folders = experiment_folders(location)
    target = str(output) if output else loc.join(location, "report.html")
    sections = [experiment_section(folder, top) for folder in folders]
    title = f"adls-tune report: {loc.name(location)} ({_scope(folders)})"
    loc.write_bytes(target, page(title, folders, sections).encode())
    return target


def _scope(folders: Sequence[str]) -> str:
    """Which profiles and datasets the results come from, e.g. `quick profile, rotten_tomatoes`.

    In the title so that a page of smoke results is never mistaken for a result.
    """
    profiles: set[str] = set()
    datasets: set[str] = set()
    models: set[str] = set()
    for folder in folders:
        table = load_results(folder)
        for column, seen in (("profile", profiles), ("dataset", datasets), ("model", models)):
            if column in table.columns:
                seen.update(str(value) for value in table[column].dropna().unique())
    profile = ", ".join(sorted(profiles)) or "unknown"
    label = "profile" if len(profiles) <= 1 else "profiles"
    data = ", ".join(sorted(data_name(d) for d in datasets)) or "unknown data"
    if models:
        data = f"{', '.join(sorted(models))} on {data}"
    return f"{profile} {label}, {data}"


def experiment_section(folder: str, top: int = 3) -> str:
    """The HTML section of one experiment folder (a path or a URI)."""
    table = load_results(folder)
    run = _read_run(folder)
    name = str(table["experiment"].iloc[0]) if len(table) else loc.name(folder)
    parts = [f'<section id="{_e(loc.name(folder))}">', f"<h2>{_e(name)}</h2>"]
    if run.get("lab_task"):
        parts.append(f'<p class="task">{_e(run["lab_task"])}</p>')
    parts.append(_facts(table, run, folder))
    for png in (child for child in loc.children(folder) if child.endswith(".png")):
        data = base64.b64encode(loc.read_bytes(png)).decode()
        png_name = loc.name(png)
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{_e(png_name[: -len(".png")])}">'
            f"<figcaption>{_e(png_name)}</figcaption></figure>"
        )
    parts.append("<h3>Best configurations</h3>")
    parts.append(_best_table(table, folder, top))
    parts.append(f"<h3>Trials ({len(table)})</h3>")
    parts.append(_trials_table(table, folder))
    parts.append("</section>")
    return "\n".join(parts)


def _read_run(folder: str) -> dict[str, Any]:
    path = loc.join(folder, RUN_FILE)
    try:
        return json.loads(loc.read_bytes(path)) if loc.is_file(path) else {}
    except (OSError, ValueError):
        return {}


def _facts(table: pd.DataFrame, run: dict[str, Any], folder: str) -> str:
    """The run facts: profile, data, sources, seed, trials, wall time, nodes, devices, versions."""
    first = table.iloc[0] if len(table) else pd.Series(dtype=object)
    options = run.get("options") or {}
    ok = int((table["status"] == FINISHED).sum())
    facts: list[tuple[str, Any]] = [
        ("folder", str(folder)),
        ("profile", first.get("profile", options.get("profile_name"))),
        ("dataset", first.get("dataset", options.get("dataset"))),
    ]
    for column in (*SOURCE_COLUMNS, *OWN_COLUMNS):
        value = first.get(column, run.get(column))
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            facts.append((column.replace("_", " "), value))
    facts += [
        ("seed", first.get("seed", options.get("seed"))),
        ("trials", f"{len(table)} ({ok} finished, {len(table) - ok} failed)"),
        ("searches", ", ".join(str(v) for v in table["variant"].drop_duplicates())),
    ]
    budgets = first.get("constraints")
    if isinstance(budgets, str) and budgets:
        broken = len(infeasible(table))
        facts.append(("constraints", f"{budgets} ({broken} finished trials broke one; never picked)"))
    if run.get("seconds") is not None:
        facts.append(("wall time", _duration(float(run["seconds"]))))
    for column, label in (("node", "nodes"), ("device", "devices")):
        if column in table.columns:
            values = sorted(str(v) for v in table[column].dropna().unique())
            facts.append((label, f"{len(values)} ({', '.join(values)})" if values else "-"))
    versions = run.get("versions") or {}
    if versions:
        facts.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if v is not None)
    return f'<table class="facts">{rows}</table>'


def _best_table(table: pd.DataFrame, folder: str, top: int) -> str:
    try:
        records = best_records(table, top)
    except ResultsError as error:
        return f'<p class="note">{_e(error)}</p>'
    if not records:
        return '<p class="note">No trial finished.</p>'
    out = []
    for search, group in _grouped(records):
        out.append(f'<p class="rule"><b>{_e(search)}</b>, best by {_e(group[0]["rule"])}</p>')
        head = "<tr><th>rank</th><th>trial</th><th>parameters</th><th>metrics</th><th>checkpoint</th></tr>"
        rows = []
        for record in group:
            params = ", ".join(f"{k}={_short(v)}" for k, v in record["params"].items()) or "-"
            metrics = ", ".join(f"{k}={_short(v)}" for k, v in list(record["metrics"].items())[:6])
            rows.append(
                f'<tr class="best"><td>{record["rank"]}</td><td>{_e(record["trial_index"])}</td>'
                f"<td>{_e(params)}</td><td>{_e(metrics)}</td>"
                f"<td><code>{_e(_relative(record['checkpoint'], folder))}</code></td></tr>"
            )
        out.append(f'<table class="best">{head}{"".join(rows)}</table>')
        first = group[0]
        if first["rank"] == 1 and first["checkpoint"]:
            command = export_command(str(folder), first["trial_id"])
            out.append(f'<p class="export">Export the best: <code>{_e(command)}</code></p>')
    return "\n".join(out)


def _grouped(records: Sequence[dict[str, Any]]) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(f"{record['experiment']}/{record['variant']}", []).append(record)
    return groups.items()


def _trials_table(table: pd.DataFrame, folder: str) -> str:
    """A compact, sortable table: search, trial, parameters, objective metric(s), status, seconds."""
    objective_columns: list[str] = []
    for _, rows in table.groupby("variant", sort=False):
        try:
            objective_columns += [m for m, _ in objectives_of(rows) if m not in objective_columns]
        except ResultsError:
            pass
    param_names: list[str] = []
    for _, row in table.iterrows():
        param_names += [k for k in params_of(row) if k not in param_names]
    if len(param_names) > 8:  # per-layer searches: one column of all parameters instead
        param_names = []
    columns = [
        "variant",
        "repeat",
        "trial_index",
        *param_names,
        *objective_columns,
        "feasible",
        "status",
        "duration_s",
    ]
    columns = [c for c in dict.fromkeys(columns) if c in table.columns]
    shown = table.head(MAX_TRIAL_ROWS)
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    if not param_names:
        head += "<th>parameters</th>"
    rows = []
    for _, row in shown.iterrows():
        cells = "".join(f"<td>{_e(_short(row[c]))}</td>" for c in columns)
        if not param_names:
            params = ", ".join(f"{k}={_short(v)}" for k, v in params_of(row).items())
            cells += f'<td class="params">{_e(params)}</td>'
        rows.append(f"<tr>{cells}</tr>")
    note = ""
    if len(table) > len(shown):
        note = f'<p class="note">First {len(shown)} of {len(table)} trials; all are in {_e(folder)}/trials.csv.</p>'
    return f'<table class="trials sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{note}'


def _relative(path: str | None, folder: str) -> str:
    if not path:
        return "-"
    if loc.is_uri(folder):
        base = folder.rstrip("/") + "/"
        return path[len(base) :] if path.startswith(base) else path
    try:
        return Path(path).relative_to(Path(folder).resolve()).as_posix()
    except ValueError:
        return path


def _short(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _e(value: Any) -> str:
    return html.escape(str(value))


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{border-bottom:2px solid #ccd;padding-bottom:.2rem;margin-top:2.5rem}
nav a{margin-right:1rem}.task{font-style:italic}.rule{margin:.6rem 0 .2rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #dde;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f2f3f8}table.facts th{width:9rem}tr.best td{background:#f4fbf4}
table.sortable th{cursor:pointer}td.params{max-width:40rem;word-break:break-word}
table.trials{display:block;overflow-x:auto;max-width:100%}code{word-break:break-all}
figure{display:inline-block;margin:.5rem 1rem .5rem 0}img{max-width:36rem;height:auto;border:1px solid #eee}
figcaption{font-size:.8rem;color:#666}.note{color:#666;font-size:.85rem}code{font-size:.8rem}
"""

# Click a header to sort its table by that column (numbers numerically); plain DOM, no library.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.dataset.order !== "up";
    th.dataset.order = up ? "up" : "down";
    rows.sort(function (a, b) {
      var x = a.cells[th.cellIndex].textContent, y = b.cells[th.cellIndex].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
      return up ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def page(title: str, folders: Sequence[str], sections: Sequence[str]) -> str:
    """The whole HTML document."""
    nav = "".join(f'<a href="#{_e(loc.name(f))}">{_e(loc.name(f))}</a>' for f in folders)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{_e(title)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head><body>'
        f"<h1>{_e(title)}</h1><nav>{nav}</nav>\n"
        + "\n".join(sections)
        + f"\n<script>{SORT_SCRIPT}</script></body></html>\n"
    )
