"""download_kaggle_dataset against a local fake of Kaggle's download API (real HTTP)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from include.sales_analyzer.extract.kaggle import (
    KaggleCredentialsMissing,
    KaggleDownloadError,
    download_kaggle_dataset,
    kaggle_credentials,
)
from include.sales_analyzer.extract.synthetic import generate_sales_csv
from tests.integration.fake_kaggle import FakeKaggle, serve

USER = "alice"
KEY = "0123456789abcdef0123456789abcdef"
DATASET = "rohitsahoo/sales-forecasting"
URL_PATH = "/api/v1/datasets/download/rohitsahoo/sales-forecasting/train.csv"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The file the fake serves: a damaged synthetic train.csv (NBSP, quotes, junk lines)."""
    path = tmp_path_factory.mktemp("src") / "train.csv"
    return generate_sales_csv(path, rows=400, seed=9, damaged=True).path.read_bytes()


@pytest.fixture
def kaggle(source: bytes) -> Iterator[Callable[..., AbstractContextManager[FakeKaggle]]]:
    """Start a fake Kaggle serving `source` in the given mode."""

    def start(mode: str = "csv", delay: float = 0.0) -> AbstractContextManager[FakeKaggle]:
        fake = FakeKaggle(USER, KEY, {(DATASET, "train.csv"): source}, mode=mode, delay=delay)
        return serve(fake)

    yield start


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Kaggle credentials anywhere this code looks."""
    for name in ("AIRFLOW_CONN_KAGGLE_DEFAULT", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("mode", ["csv", "zip", "redirect"])
def test_download_is_byte_identical(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]],
    source: bytes,
    tmp_path: Path,
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with kaggle(mode) as fake:
        path = download_kaggle_dataset(tmp_path / "raw", USER, KEY, endpoint=fake.endpoint)
    assert path == tmp_path / "raw" / "train.csv"
    assert path.read_bytes() == source
    assert sorted(p.name for p in path.parent.iterdir()) == ["train.csv"]
    assert fake.calls[0][0] == URL_PATH and fake.authorized(fake.calls[0][1])
    if mode == "redirect":
        # The key goes to Kaggle only, never to the storage host it redirects to.
        assert [c[0] for c in fake.calls] == [URL_PATH, "/storage/train.csv.zip"]
        assert fake.calls[1][1] is None
    assert KEY not in caplog.text


def test_endpoint_from_environment(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]],
    source: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with kaggle() as fake:
        monkeypatch.setenv("KAGGLE_API_ENDPOINT", fake.endpoint + "/")
        path = download_kaggle_dataset(tmp_path, USER, KEY)
    assert path.read_bytes() == source


def _failure(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]],
    tmp_path: Path,
    mode: str = "csv",
    **kwargs: object,
) -> tuple[KaggleDownloadError, float]:
    began = time.monotonic()
    with kaggle(mode, delay=5.0) as fake, pytest.raises(KaggleDownloadError) as info:
        args = {"username": USER, "key": KEY, "endpoint": fake.endpoint, **kwargs}
        download_kaggle_dataset(tmp_path / "raw", **args)
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err.__cause__) and err.__cause__ is None
    assert list((tmp_path / "raw").iterdir()) == []
    return err, time.monotonic() - began


def test_wrong_key_is_401(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "ffffffffffffffffffffffffffffffff"
    err, _ = _failure(kaggle, tmp_path, key=wrong)
    assert err.status == 401 and err.url_path == URL_PATH and err.dataset == DATASET
    assert str(err) == (
        "Kaggle download of dataset 'rohitsahoo/sales-forecasting' file 'train.csv' failed "
        f"(HTTP 401, GET {URL_PATH}): the Kaggle username or API key is wrong or revoked "
        "(Kaggle says: Unauthenticated)"
    )
    assert wrong not in str(err) and wrong not in caplog.text


def test_unknown_dataset_is_404(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]], tmp_path: Path
) -> None:
    err, _ = _failure(kaggle, tmp_path, dataset="someone/no-such-data")
    assert err.status == 404
    assert "/api/v1/datasets/download/someone/no-such-data/train.csv" in str(err)
    assert "'someone/no-such-data'" in str(err) and "HTTP 404" in str(err)
    assert "no such dataset or file" in str(err)


def test_unknown_file_is_404(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]], tmp_path: Path
) -> None:
    err, _ = _failure(kaggle, tmp_path, file_name="test.csv")
    assert err.status == 404 and "file 'test.csv'" in str(err)


def test_slow_server_times_out(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]], tmp_path: Path
) -> None:
    err, seconds = _failure(kaggle, tmp_path, mode="slow", timeout=0.5)
    assert err.status is None and "timed out after 0.5 s" in str(err) and URL_PATH in str(err)
    assert seconds < 4


def test_unreachable_endpoint(tmp_path: Path) -> None:
    with pytest.raises(KaggleDownloadError, match=r"could not reach 127\.0\.0\.1:9 ") as info:
        download_kaggle_dataset(tmp_path, USER, KEY, endpoint="http://127.0.0.1:9", timeout=2)
    assert info.value.status is None and URL_PATH in str(info.value)


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("corrupt_zip", "the zip is corrupt or truncated"),
        ("cut_short", "truncated download"),
    ],
)
def test_truncated_zip(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]],
    tmp_path: Path,
    mode: str,
    problem: str,
) -> None:
    err, _ = _failure(kaggle, tmp_path, mode=mode)
    assert err.status == 200 and problem in str(err) and URL_PATH in str(err)


def test_missing_credentials_fail_before_any_request(
    kaggle: Callable[..., AbstractContextManager[FakeKaggle]], tmp_path: Path, no_credentials: None
) -> None:
    with kaggle() as fake, pytest.raises(KaggleCredentialsMissing) as info:
        download_kaggle_dataset(tmp_path, None, None, endpoint=fake.endpoint)
    assert fake.calls == []
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "no Airflow connection 'kaggle_default'" in message
    for hint in (
        "AIRFLOW_CONN_KAGGLE_DEFAULT",
        "login",
        "password",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
    ):
        assert hint in message


def test_credentials_from_the_airflow_connection(
    monkeypatch: pytest.MonkeyPatch, no_credentials: None
) -> None:
    conn = {"conn_type": "generic", "login": USER, "password": KEY}
    monkeypatch.setenv("AIRFLOW_CONN_KAGGLE_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("KAGGLE_USERNAME", "bob")
    monkeypatch.setenv("KAGGLE_KEY", "other")
    assert kaggle_credentials() == (USER, KEY)


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch, no_credentials: None) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", USER)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    assert kaggle_credentials() == (USER, KEY)


def test_connection_without_password_is_reported(
    monkeypatch: pytest.MonkeyPatch, no_credentials: None
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_KAGGLE_DEFAULT", json.dumps({"conn_type": "generic"}))
    with pytest.raises(KaggleCredentialsMissing, match="has no login or no password"):
        kaggle_credentials()
