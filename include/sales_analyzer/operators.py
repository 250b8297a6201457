"""The quality gate as a checkpoint operator, with a link from the task to its Data Docs, and the
report task's operator, with a link to the run's report.

The official `airflow-provider-great-expectations` pins structlog below what MWAA's Airflow
3.3.1 constraints pin, so it cannot be installed there; this project operator runs the
contract's GX checkpoint through the same functions as before (`local.quality.validate_silver`
locally, `aws.quality.validate_silver` on the aws backend, both ending in `quality.raise_if_failed`).

It lives under include/, not plugins/: MWAA's guide keeps operators with the DAGs and plugins
for what extends the UI. Airflow 3 stores each extra link's URL as an XCom when the task ends
(success or failure), so the API server needs no import of this module to show the links.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperator, BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

# The plugin (plugins/sales_analyzer_plugin.py) serves the latest run's summary and Data Docs
# under this prefix of the Airflow API server.
PLUGIN_URL_PREFIX = "/sales-analyzer"


def plugin_url(path: str) -> str:
    """URL of a page the plugin serves, under the API server's base_url when one is set."""
    from airflow.sdk.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}{PLUGIN_URL_PREFIX}/{path.lstrip('/')}"


def console_url_for_s3(uri: str) -> str:
    """The AWS console page of an s3:// object."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}"


class _WrittenLink(BaseOperatorLink):
    """A link to what the task wrote (the operator's `attribute`, set while it ran): the S3
    console for an s3:// URI, else the plugin's page for it (`plugin_path`)."""

    attribute: str

    def plugin_path(self, where: str) -> str:
        raise NotImplementedError

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        where = getattr(operator, self.attribute, None)
        if not where:
            return ""
        if str(where).startswith("s3://"):
            return console_url_for_s3(str(where))
        return plugin_url(self.plugin_path(str(where)))


class DataDocsLink(_WrittenLink):
    """The gate's Great Expectations Data Docs: served by the plugin locally, the S3 console on aws."""

    name = "Data Docs"
    attribute = "data_docs"

    def plugin_path(self, where: str) -> str:
        return "data-docs/index.html"


class RunSummaryLink(BaseOperatorLink):
    """The plugin's page with the latest run's summary."""

    name = "Run summary"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return plugin_url("")


class RunReportLink(_WrittenLink):
    """This run's report: the plugin's page for it locally, the object in the S3 console on aws."""

    name = "Run report"
    attribute = "run_report"

    def plugin_path(self, where: str) -> str:
        # runs/<run_key>.json under the data dir: the plugin serves that run's page by its key
        return f"runs/{quote(PurePath(where).stem)}"


class RunReportOperator(PythonOperator):
    """The report task: a Python callable that writes the run report and returns where it went.

    A PythonOperator (op_kwargs carry the upstream results) with the Run report link; `@task`
    has no way to add an extra link to the operator it makes.
    """

    operator_extra_links = (RunReportLink(),)
    ui_color = "#d9f2e6"

    def execute(self, context: Context) -> Any:
        self.run_report = None  # a failed try links to nothing, not to an earlier try's report
        self.run_report = super().execute(context)
        return self.run_report


class SilverQualityGateOperator(BaseOperator):
    """Run the contract's GX checkpoint on the new silver version; fail naming each failed expectation.

    Pushes the gate's result as the return value XCom (success, evaluated, failed, quarantine
    fraction, Data Docs) and, when the gate fails, the failed expectations under the XCom key
    `failed_expectations` before failing the task (without retries: the same data fails again).
    """

    template_fields = ("silver", "bronze", "glue_run")
    operator_extra_links = (DataDocsLink(), RunSummaryLink())
    ui_color = "#ffe8b0"

    def __init__(
        self,
        *,
        backend: str = "local",
        silver: Any = None,
        bronze: Any = None,
        glue_run: Any = None,
        max_quarantine_fraction: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if backend not in ("local", "aws"):
            raise ValueError(f"backend={backend!r}: expected 'local' or 'aws'")
        self.backend = backend
        self.silver = silver
        self.bronze = bronze
        self.glue_run = glue_run
        self.max_quarantine_fraction = max_quarantine_fraction
        self.data_docs: str | None = None

    def _threshold(self, context: Context) -> float | None:
        if self.max_quarantine_fraction is not None:
            return float(self.max_quarantine_fraction)
        value = (context.get("params") or {}).get("max_quarantine_fraction")
        return None if value is None else float(value)

    def execute(self, context: Context) -> dict[str, Any]:
        from include.sales_analyzer.errors import QualityGateFailed

        threshold = self._threshold(context)
        self.data_docs = self._expected_data_docs()
        try:
            if self.backend == "aws":
                from include.sales_analyzer.aws.quality import validate_silver

                result = validate_silver(self.bronze, self.glue_run, threshold)
            else:
                from include.sales_analyzer.local.quality import validate_silver

                result = validate_silver(self.silver, threshold)
        except QualityGateFailed as failure:
            context["ti"].xcom_push(key="failed_expectations", value=self._failed_expectations(failure))
            raise
        self.data_docs = result.get("data_docs") or self.data_docs
        return result

    def _expected_data_docs(self) -> str | None:
        """Where this run's Data Docs land, known before the checkpoint runs (for the link on failure)."""
        from include.sales_analyzer.config import get_settings

        settings = get_settings()
        if self.backend == "local":
            return str(settings.data_dir / "quality" / "data_docs" / "index.html")
        try:
            from include.sales_analyzer.aws.layout import Layout

            lay = Layout.of(settings)
            return lay.uri(lay.report(f"quality/{self.glue_run['run_key']}/data_docs/index.html"))
        except Exception:  # the link is a convenience; the gate's result is not
            return None

    def _failed_expectations(self, failure: Exception) -> list[dict[str, Any]]:
        """The failed expectations of the quality report just written (locally), else the message."""
        if self.backend == "local":
            from include.sales_analyzer.config import get_settings

            path = get_settings().data_dir / "quality_report.json"
            try:
                report = json.loads(path.read_text())
                return [x for x in report.get("expectations", []) if not x.get("success")]
            except (OSError, ValueError):
                pass
        return [{"message": str(failure)}]
