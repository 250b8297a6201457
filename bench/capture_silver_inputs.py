"""pytest plugin for bench/compare_silver.py: keep every file the tests hand to run_silver.

`SILVER_CAPTURE_DIR=DIR pytest -p capture_silver_inputs tests/unit/test_silver.py` (with bench/
on PYTHONPATH) copies each input to DIR/<n>.csv, its size_as to DIR/<n>.json.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def pytest_configure(config) -> None:
    target = os.environ.get("SILVER_CAPTURE_DIR")
    if not target:
        return
    import tests.silver_helpers as helpers

    real = helpers.run_silver
    count = [0]

    def recording(tmp_path: Path, lines: list[str], *args, **kwargs) -> dict:
        try:
            return real(tmp_path, lines, *args, **kwargs)
        finally:
            source = tmp_path / "in.csv"
            if source.exists():
                count[0] += 1
                shutil.copyfile(source, Path(target) / f"{count[0]}.csv")
                size_as = kwargs.get("size_as", args[2] if len(args) > 2 else None)
                (Path(target) / f"{count[0]}.json").write_text(json.dumps({"size_as": size_as}))

    helpers.run_silver = recording
