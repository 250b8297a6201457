"""The base of every error the pipeline raises, in a module that imports nothing.

The settings import it: `make run`'s launcher reads settings and paths before it starts
`airflow dags test`, and importing Airflow there (errors.py subclasses Airflow's
AirflowFailException) cost it 5 s of CPU for exception classes it never raises.
"""

from __future__ import annotations


class PipelineError(RuntimeError):
    """A failure a person can act on; the message says what and where."""
