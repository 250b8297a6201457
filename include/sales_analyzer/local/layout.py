"""Where everything lives on the local backend, named once (aws's twin: aws Layout, keys in S3).

<data_dir>/
  landing/                          extracted inputs (generated or downloaded)
  lake/bronze/<table>/ingest_date=/ the source file byte for byte
  lake/silver/<table>               link to the live silver version
  lake/silver/_versions/<table>/<run_key>/  each run's silver, partitioned Parquet
  lake/_staging/<run_key>/          one run's work files, gone once it publishes
  lake/quarantine/<table>/ingest_date=/quarantine.parquet   rejected lines
  lake/repairs/<table>/ingest_date=/repairs.parquet         repaired and warned values
  warehouse/build.duckdb            what dbt builds gold into (private to the pipeline)
  sales_analytics.duckdb            published gold, replaced atomically
  gold -> _gold_versions/<run_key>/ CSV and Parquet exports of gold
  quality_report.json, quality/data_docs/   the latest quality gate
  quality/failed_run_quarantine.parquet     the quarantine of the latest run the gate failed
  run_report.json, runs/<run_key>.json, etl_pipeline.log   run reports and history
  logs/                             `make run`'s and the local Airflow's logs
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from include.sales_analyzer.config import Settings
    from include.sales_analyzer.contract import Contract


@dataclass(frozen=True)
class Layout:
    """Every local path of the pipeline, from the data directory and the contract's table name."""

    data_dir: Path
    table: str

    @classmethod
    def of(cls, settings: Settings, contract: Contract | None = None) -> Layout:
        """The layout for these settings and the contract's table."""
        return cls.at(settings.data_dir, contract)

    @classmethod
    def at(cls, data_dir: Path, contract: Contract | None = None) -> Layout:
        """The layout under `data_dir` for the contract's table."""
        from include.sales_analyzer.contract import load_contract

        return cls(Path(data_dir), (contract or load_contract()).name)

    @classmethod
    def of_lake(cls, lake: Path, contract: Contract | None = None) -> Layout:
        """The layout whose lake directory is `lake` (the lake is always <data_dir>/lake)."""
        lake = Path(lake)
        if lake.name != "lake":  # any other name would put the run's files beside, not in, `lake`
            raise ValueError(f"a lake directory is <data_dir>/lake, not {lake}")
        return cls.at(lake.parent, contract)

    # ----------------------------------------------------------------------- lake
    @property
    def landing(self) -> Path:
        """Where extract_source puts the files it makes or downloads."""
        return self.data_dir / "landing"

    @property
    def lake(self) -> Path:
        """Root of bronze, silver, quarantine and repairs."""
        return self.data_dir / "lake"

    def bronze_dir(self, ingest_date: str) -> Path:
        """One ingest date's bronze files."""
        return self.lake / "bronze" / self.table / f"ingest_date={ingest_date}"

    @property
    def silver_live(self) -> Path:
        """The link readers (catalog, dbt, the app) read silver through."""
        return self.lake / "silver" / self.table

    @property
    def silver_glob(self) -> str:
        """Every Parquet file of live silver."""
        return f"{self.silver_live}/**/*.parquet"

    @property
    def silver_versions(self) -> Path:
        """Folder of every run's silver version."""
        return self.lake / "silver" / "_versions" / self.table

    def silver_version(self, run_key: str) -> Path:
        """One run's silver version."""
        return self.silver_versions / run_key

    def staging_dir(self, run_key: str) -> Path:
        """One run's work files until it publishes."""
        return self.lake / "_staging" / run_key

    @property
    def quarantine_root(self) -> Path:
        """Folder of every ingest date's quarantine."""
        return self.lake / "quarantine" / self.table

    def quarantine_dir(self, ingest_date: str) -> Path:
        """One ingest date's rejected lines (replaced by a rerun)."""
        return self.quarantine_root / f"ingest_date={ingest_date}"

    def quarantine_file(self, ingest_date: str) -> Path:
        """One ingest date's quarantine Parquet file."""
        return self.quarantine_dir(ingest_date) / "quarantine.parquet"

    def repairs_file(self, ingest_date: str) -> Path:
        """One ingest date's repairs and warnings (beside quarantine: a glob over one never mixes both)."""
        return self.lake / "repairs" / self.table / f"ingest_date={ingest_date}" / "repairs.parquet"

    # ----------------------------------------------------------------------- gold
    @property
    def warehouse_dir(self) -> Path:
        """dbt's and the quality gate's working DuckDB files."""
        return self.data_dir / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        """DuckDB file dbt builds into (private to the pipeline)."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_path(self) -> Path:
        """DuckDB file readers (the app, BI) open: replaced atomically on publish."""
        return self.data_dir / "sales_analytics.duckdb"

    @property
    def gold_dir(self) -> Path:
        """Link to the latest CSV and Parquet exports of the gold tables."""
        return self.data_dir / "gold"

    @property
    def gold_versions(self) -> Path:
        """Folder of the last exports, one per run."""
        return self.data_dir / "_gold_versions"

    # -------------------------------------------------------------------- reports
    @property
    def quality_report(self) -> Path:
        """The latest quality gate's report, every expectation with its result."""
        return self.data_dir / "quality_report.json"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs of the latest gate."""
        return self.data_dir / "quality" / "data_docs"

    @property
    def failed_run_quarantine(self) -> Path:
        """The quarantine of the latest run the gate failed (its own goes with its staging area)."""
        return self.data_dir / "quality" / "failed_run_quarantine.parquet"

    @property
    def run_report(self) -> Path:
        """The latest run's report."""
        return self.data_dir / "run_report.json"

    @property
    def runs_dir(self) -> Path:
        """Every run's report, as <run_key>.json."""
        return self.data_dir / "runs"

    def run_report_of(self, run_key: str) -> Path:
        """One run's report."""
        return self.runs_dir / f"{run_key}.json"

    @property
    def history_log(self) -> Path:
        """One JSON line per run."""
        return self.data_dir / "etl_pipeline.log"

    @property
    def logs_dir(self) -> Path:
        """Logs of `make run` and of the local Airflow components."""
        return self.data_dir / "logs"
