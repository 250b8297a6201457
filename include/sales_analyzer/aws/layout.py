"""The aws backend's lake layout: where each object lives in the lake bucket, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from include.sales_analyzer.config import CATALOG_MODES, Settings, SettingsError
from include.sales_analyzer.contract import Contract, load_contract


@dataclass(frozen=True)
class Layout:
    """Where everything lives in the lake bucket (keys, not URIs)."""

    settings: Settings
    table: str

    @classmethod
    def of(cls, settings: Settings, contract: Contract | None = None) -> Layout:
        """The layout for these settings and the contract's table."""
        return cls(settings, (contract or load_contract()).name)

    @property
    def bucket(self) -> str:
        """The lake bucket."""
        return self.settings.bucket

    def uri(self, key: str) -> str:
        """s3://bucket/key."""
        return f"s3://{self.bucket}/{key}"

    def landing_dir(self, run_key: str) -> str:
        """Prefix where extract_source lands one run's input file for upload_bronze to pick up."""
        return f"{self.settings.landing_prefix}/{run_key}/"

    def bronze_dir(self, ingest_date: str) -> str:
        """Prefix of one ingest date's bronze files."""
        return f"{self.settings.bronze_prefix}/ingest_date={ingest_date}/"

    @property
    def versions_dir(self) -> str:
        """Prefix under which each run's silver version is written."""
        return f"{self.settings.silver_prefix}/_versions/{self.table}/"

    def version_dir(self, run_key: str) -> str:
        """Prefix of one run's silver version."""
        return f"{self.versions_dir}{run_key}/"

    def glue_counts(self, run_key: str) -> str:
        """The Glue job's counts of one run, beside its silver version (Spark and Athena skip `_`)."""
        return f"{self.version_dir(run_key)}_counts.json"

    def repairs_staging(self, run_key: str) -> str:
        """Where the Glue job writes one run's repairs and warnings table before publish.

        Inside the run's quarantine staging, so it is cleaned up with it; the leading `_` keeps
        it out of the quarantine's Parquet files.
        """
        return f"{self.quarantine_staging(run_key)}_repairs/"

    def repairs_dir(self, ingest_date: str) -> str:
        """Published repairs and warnings of one ingest date's silver rows (replaced by a rerun).

        Beside silver, under its prefix: the findings are about rows kept in silver, so they live
        as long as silver does (quarantine/ expires), under the grants silver already has.
        """
        return f"{self.settings.silver_prefix}/_repairs/{self.table}/ingest_date={ingest_date}/"

    def quarantine_staging(self, run_key: str) -> str:
        """Where the Glue job writes one run's rejected lines before publish."""
        return f"{self.settings.quarantine_prefix}/_staging/{run_key}/"

    def quarantine_dir(self, ingest_date: str) -> str:
        """Published rejected lines of one ingest date (replaced by a rerun, as locally)."""
        return f"{self.settings.quarantine_prefix}/{self.table}/ingest_date={ingest_date}/"

    def artifact(self, name: str) -> str:
        """Key of a Glue job artifact (script, contract, shared-modules zip)."""
        return f"{self.settings.artifacts_prefix}/{name}"

    def report(self, name: str) -> str:
        """Key of a report object."""
        return f"{self.settings.reports_prefix}/{name}"


def check_settings(settings: Settings) -> None:
    """Fail at parse time on an aws setting that cannot work (config.get_settings checks the rest)."""
    if settings.catalog_mode not in CATALOG_MODES:
        raise SettingsError(
            f"SALES_CATALOG_MODE={settings.catalog_mode!r}: expected one of {', '.join(CATALOG_MODES)}"
        )
    if not settings.bucket:
        raise SettingsError("SALES_BUCKET is not set: the aws backend needs the lake bucket")
