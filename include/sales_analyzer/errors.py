"""Errors that name the file, line, column and value at fault.

Failures that no retry can fix (a bad input file, a failed quality gate, lines that do not
add up) are Airflow's AirflowFailException inside a task, so Airflow fails the task at once
instead of retrying it twice, minutes later, with the same result. Outside Airflow (the Glue
job's twin, benchmarks) they are plain exceptions.
"""

from __future__ import annotations

from include.sales_analyzer.errors_base import PipelineError

try:
    from airflow.sdk.exceptions import AirflowFailException as _NoRetry
except ImportError:  # no Airflow here

    class _NoRetry(Exception):  # type: ignore[no-redef]
        """Stands in for AirflowFailException where Airflow is not installed."""


class DeterministicError(PipelineError, _NoRetry):
    """A failure that the same input reproduces: the task fails without retries."""


class InputFileError(DeterministicError):
    """The input file cannot be read as the contract's CSV."""

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
        expected: str | None = None,
    ) -> None:
        where = path if line is None else f"{path}, line {line}"
        if column is not None:
            where += f", column {column!r}"
        text = f"{where}: {problem}"
        if value is not None:
            shown = value if len(value) <= 80 else value[:77] + "..."
            text += f" (found {shown!r})"
        if expected is not None:
            text += f"; expected {expected}"
        super().__init__(text)
        self.path, self.line, self.column, self.value, self.expected = (
            path,
            line,
            column,
            value,
            expected,
        )


class QualityGateFailed(DeterministicError):
    """The silver data did not meet the quality gate."""


class ConservationError(DeterministicError):
    """Lines in bronze do not add up to silver + quarantine + non-record lines."""
