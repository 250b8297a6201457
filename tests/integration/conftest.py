"""Fixtures shared by the aws integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.aws_emulator import MotoAws, default_names


@pytest.fixture(scope="module")
def moto_aws() -> Iterator[MotoAws]:
    """moto in server mode on 127.0.0.1 with the project's stack created, one per test module."""
    aws_ = MotoAws().start()
    aws_.create_stack(default_names())
    yield aws_
    aws_.stop()
