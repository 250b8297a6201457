"""The aws backend's operator: the provider's GlueJobOperator, failures naming the run and the AWS error."""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from include.sales_analyzer.aws.clients import AwsStepFailed, client_error

log = logging.getLogger(__name__)


class SalesGlueJobOperator(GlueJobOperator):
    """GlueJobOperator whose failures name the job run, how it ended and the AWS error."""

    def execute(self, context: Any) -> str:
        """Create or update the job, start (or resume) the run, wait for it."""
        try:
            return super().execute(context)
        except Exception as exc:
            raise self._failure(exc, self._job_run_id) from exc

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        """Resume after deferral."""
        try:
            return super().execute_complete(context, event)
        except Exception as exc:
            run_id = (event or {}).get("run_id") or context["ti"].xcom_pull(
                key="glue_job_run_id", task_ids=self.task_id
            )
            raise self._failure(exc, run_id) from exc

    def _failure(self, exc: Exception, run_id: str | None) -> AwsStepFailed:
        what = f"Glue job {self.job_name} run {run_id or '(not started)'}"
        aws_error = client_error(exc)
        if aws_error:
            return AwsStepFailed(f"{what}: AWS error {aws_error}")
        state, message = None, None
        if run_id:
            try:
                job_run = self.hook.conn.get_job_run(JobName=self.job_name, RunId=run_id)["JobRun"]
                state, message = job_run.get("JobRunState"), job_run.get("ErrorMessage")
            except Exception as lookup:  # the original error is what matters
                log.warning("could not read %s: %s", what, client_error(lookup) or lookup)
        if state:
            return AwsStepFailed(f"{what} ended {state}: {message or exc}")
        return AwsStepFailed(f"{what}: {exc}")
