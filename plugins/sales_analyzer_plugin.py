"""Smart Sales Analyzer's Airflow plugin: the latest run's summary in the UI's navigation.

Airflow 3.1+ plugin interface (MWAA runs Airflow 3 plugins from plugins.zip; it loads
`fastapi_apps` and `external_views` like any Airflow 3.1+ install, while Flask AppBuilder
views are gone with Airflow 3):

- a FastAPI app mounted by the API server under /sales-analyzer: the summary page (rows per
  layer, conservation, quarantine/repair/warning counts, the gate's result, links to Data Docs
  and to the Streamlit app), its JSON, each run's own page and report under runs/<run_key>
  (the report task's link), and the latest Data Docs as static files;
- an external view that puts that page in the UI's Browse menu (shown in an iframe).

The gate's Data Docs link (`include/sales_analyzer/operators.py`) points here locally; on the
aws backend it points to the S3 console. Nothing heavy is imported at module level: every
Airflow component imports this file.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

URL_PREFIX = "/sales-analyzer"  # include.sales_analyzer.operators.PLUGIN_URL_PREFIX
APP_URL = "http://127.0.0.1:8501"  # where `make app` serves the Streamlit app

app = FastAPI(title="Smart Sales Analyzer", description="The latest sales_medallion run")


def _include_importable() -> None:
    """Put the DAGs folder on sys.path: the API server adds only plugins/ and config/ to it.

    On MWAA `include/` is deployed under the dags folder (the DAG processor and workers put
    the bundle on sys.path themselves); the API server running this app does not.
    """
    try:
        import include.sales_analyzer  # noqa: F401
    except ImportError:
        from airflow.configuration import conf

        sys.path.append(conf.get("core", "dags_folder"))


def _layout() -> Any:
    """The local backend's data dir layout (include/sales_analyzer/local/layout.py)."""
    _include_importable()
    from include.sales_analyzer.config import get_settings
    from include.sales_analyzer.local.layout import Layout

    return Layout.of(get_settings())


def _file_under(root: Path, name: str, what: str) -> Path:
    """`root`/`name`, an existing file that resolves inside `root`; else 404 naming `what`."""
    root = root.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no {what} {name!r}")
    return target


def latest_report() -> dict[str, Any] | None:
    """The latest run report (the local backend's run_report.json), or None before any run."""
    path = _layout().run_report
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _esc(value: Any) -> str:
    return html.escape(str(value))


def summary_html(report: dict[str, Any] | None, up: str = "") -> str:
    """The summary page for a run report; `up` leads its relative links back to the plugin's root."""
    head = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sales run summary</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a202c}"
        "table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #e2e8f0;"
        "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
        ".ok{color:#2f855a}.bad{color:#c53030}</style></head><body>"
    )
    if report is None:
        return head + "<h1>Sales run summary</h1><p id='no-run'>No run yet.</p></body></html>"
    rows, law, quality = report.get("rows", {}), report.get("conservation", {}), report.get("quality", {})
    holds = law.get("holds")
    gate_ok = quality.get("success")
    parts = [
        head,
        "<h1>Sales run summary</h1>",
        f"<p>Run <code id='run-id'>{_esc(report.get('run_id'))}</code> on the "
        f"<b>{_esc(report.get('backend', 'local'))}</b> backend; source: "
        f"{_esc((report.get('source') or {}).get('description'))}</p>",
        "<h2>Rows per layer</h2><table id='layers'>",
        f"<tr><th>bronze lines</th><td class='n'>{rows.get('bronze_lines', 0):,}</td></tr>",
        f"<tr><th>silver rows</th><td class='n'>{rows.get('silver', 0):,}</td></tr>",
        f"<tr><th>quarantined lines</th><td class='n'>{rows.get('quarantine', 0):,}</td></tr>",
        f"<tr><th>header/blank lines</th><td class='n'>{rows.get('non_record_lines', 0):,}</td></tr>",
    ]
    for table, count in sorted((rows.get("gold_tables") or {}).items()):
        parts.append(f"<tr><th>gold {_esc(table)}</th><td class='n'>{count:,}</td></tr>")
    parts.append("</table>")
    parts.append(
        f"<p id='conservation' class='{'ok' if holds else 'bad'}'>Conservation "
        f"{'holds' if holds else 'BROKEN'}: bronze {law.get('bronze_lines', 0):,} = silver "
        f"{law.get('silver_rows', 0):,} + quarantine {law.get('quarantined_lines', 0):,} + "
        f"header/blank {law.get('non_record_lines', 0):,}</p>"
    )
    if any(key in report for key in ("quarantine", "repairs", "warnings")):
        from include.sales_analyzer.summary import summary_lines

        parts.append("<ul id='findings'>")
        parts += [f"<li>{_esc(line)}</li>" for line in summary_lines(report)]
        parts.append("</ul>")
    elif report.get("quarantine_by_reason"):
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(report["quarantine_by_reason"].items()))
        parts.append(f"<p id='findings'>Quarantine by reason: {_esc(reasons)}</p>")
    parts.append(
        f"<h2>Quality gate</h2><p id='gate' class='{'ok' if gate_ok else 'bad'}'>"
        f"{'passed' if gate_ok else 'FAILED'}: {quality.get('evaluated', 0)} expectations, "
        f"{quality.get('failed', 0)} failed</p>"
    )
    docs = quality.get("data_docs")
    links = []
    if docs and str(docs).startswith("s3://"):
        from include.sales_analyzer.operators import console_url_for_s3

        links.append(f"<a id='data-docs' href='{_esc(console_url_for_s3(docs))}'>Data Docs (S3)</a>")
    elif docs:
        links.append(f"<a id='data-docs' href='{up}data-docs/index.html'>Data Docs</a>")
    links.append(f"<a id='app' href='{APP_URL}' target='_blank'>Streamlit app (make app)</a>")
    json_href = f"{up}runs/{report['run_key']}.json" if up and report.get("run_key") else "summary.json"
    links.append(f"<a id='json' href='{_esc(json_href)}'>run report (JSON)</a>")
    parts.append("<p>" + " &middot; ".join(links) + "</p></body></html>")
    return "".join(parts)


@app.get("/", response_class=HTMLResponse)
def summary_page() -> str:
    """The latest run's summary."""
    return summary_html(latest_report())


@app.get("/summary.json")
def summary_json() -> JSONResponse:
    """The latest run report as it was written."""
    report = latest_report()
    if report is None:
        raise HTTPException(status_code=404, detail="no run report yet")
    return JSONResponse(report)


def run_report(run_key: str) -> dict[str, Any]:
    """One run's report (runs/<run_key>.json, the report task's link), never outside runs/."""
    lay = _layout()
    path = _file_under(lay.runs_dir, str(lay.run_report_of(run_key).relative_to(lay.runs_dir)), "run report")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise HTTPException(status_code=404, detail=f"no run report {run_key!r}") from None


@app.get("/runs/{run_key}.json")
def run_report_json(run_key: str) -> JSONResponse:
    """One run's report as it was written."""
    return JSONResponse(run_report(run_key))


@app.get("/runs/{run_key}", response_class=HTMLResponse)
def run_page(run_key: str) -> str:
    """One run's summary (the report task's Run report link)."""
    return summary_html(run_report(run_key), up="../")


@app.get("/data-docs/{path:path}")
def data_docs(path: str) -> FileResponse:
    """The latest Great Expectations Data Docs (static files), never outside their folder."""
    return FileResponse(_file_under(_layout().data_docs_dir, path or "index.html", "Data Docs file"))


class SalesAnalyzerPlugin(AirflowPlugin):
    """The run summary page and its place in the UI navigation."""

    name = "sales_analyzer"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "Sales run summary"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Sales run summary",
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "category": "browse",
            "url_route": "sales-run-summary",
        }
    ]
