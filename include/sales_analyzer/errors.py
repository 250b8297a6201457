"""Errors that name the file, line, column and value at fault."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """A failure a person can act on; the message says what and where."""


class InputFileError(PipelineError):
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


class QualityGateFailed(PipelineError):
    """The silver data did not meet the quality gate."""


class ConservationError(PipelineError):
    """Lines in bronze do not add up to silver + quarantine + non-record lines."""
