"""Seeded synthetic copy of Kaggle's Superstore train.csv (rohitsahoo/sales-forecasting), quirks included.

Quirks in the real file's proportions: ZIP codes that start with 0 written without it (4
digits, six states), Burlington VT without one, three customers in 793 with a lower-case id
letter; with `damaged`, the broken lines of copies found online, each listed in the result.
The file is written in chunks of whole orders with numpy, so 100M rows take bounded memory.
The facts it draws on are in `synthetic_facts`, one seed's tables and its chunks of orders
in `synthetic_records`, the damaged-file quirks in `synthetic_damage`.
Run `python -m include.sales_analyzer.extract.synthetic OUT.csv --rows N --seed S [--damaged]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO, Self

import numpy as np

from include.sales_analyzer.extract.synthetic_damage import (
    MIN_DAMAGED_ROWS,
    TRAILING_EMPTY_COLUMNS,
    InjectedQuirk,
    _DamagePlan,
    end_of_file_lines,
)
from include.sales_analyzer.extract.synthetic_facts import DEFAULT_END, DEFAULT_ROWS, DEFAULT_START, HEADER
from include.sales_analyzer.extract.synthetic_records import _Catalog, _make_chunk

DEFAULT_SEED = 42
# Lines per chunk, a power of ten so the Row IDs of a chunk share their leading digits.
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class GeneratedFile:
    """What generate_sales_csv wrote.

    `data_rows` counts the lines that hold a record, usable or not: every Row ID 1..rows
    once, plus the damaged file's duplicate Row ID line. `injected` lists every line of a
    damaged file that is not a plain record; the other lines are the header and records.
    """

    path: Path
    data_rows: int
    total_lines: int
    size_bytes: int
    seed: int
    damaged: bool
    trailing_empty_columns: int
    injected: list[InjectedQuirk] = field(default_factory=list)

    def lines_of_kind(self, kind: str) -> list[int]:
        """Physical line numbers of the injected quirks of one kind."""
        return [q.line_number for q in self.injected if q.kind == kind]

    @property
    def blank_lines(self) -> list[int]:
        """Line numbers of the lines that are not records (empty or commas only)."""
        return [q.line_number for q in self.injected if q.is_blank]

    @property
    def quarantined(self) -> list[InjectedQuirk]:
        """The injected lines a correct pipeline quarantines."""
        return [q for q in self.injected if q.is_quarantined]

    @property
    def silver_rows(self) -> int:
        """Records a correct pipeline keeps: all lines but the header, blanks and quarantine."""
        return self.total_lines - 1 - len(self.blank_lines) - len(self.quarantined)


class _RowIds:
    """Row ID texts: a chunk of CHUNK_ROWS ids shares its leading digits, the rest is a table."""

    def __init__(self, rows: int) -> None:
        self.first_chunk = [b"%d" % i for i in range(1, min(rows, CHUNK_ROWS - 1) + 1)]
        width = len(str(CHUNK_ROWS - 1))
        self.padded = [b"%0*d" % (width, i) for i in range(CHUNK_ROWS)] if rows >= CHUNK_ROWS else []

    def chunk(self, chunk_no: int, lines: int) -> tuple[bytes, list[bytes]]:
        """(leading digits, rest) of the Row IDs of chunk `chunk_no`."""
        if chunk_no == 0:
            return b"", self.first_chunk[:lines]
        return str(chunk_no).encode(), self.padded[:lines]


class _Writer:
    """Writes chunks on a background thread, so disk time overlaps generation."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-writer")
        self._pending: Future[int] | None = None

    def write(self, data: bytes) -> None:
        """Queue `data`; waits for the previous chunk so at most two are held in memory."""
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._out.write, data)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown(wait=True)


def generate_sales_csv(
    path: Path,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    damaged: bool = False,
) -> GeneratedFile:
    """Write a synthetic train.csv of `rows` order lines; same arguments, same bytes."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if damaged and rows < MIN_DAMAGED_ROWS:
        raise ValueError(f"a damaged file needs rows >= {MIN_DAMAGED_ROWS}, got {rows}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line_end = "," * TRAILING_EMPTY_COLUMNS + "\n" if damaged else "\n"
    cat = _Catalog(rows, seed, start, end, line_end)
    width = len(HEADER) + TRAILING_EMPTY_COLUMNS
    comma_line = "," * (width - 1)
    plan = _DamagePlan.sample(rows, seed, comma_line) if damaged else None
    row_ids = _RowIds(rows)
    total_cents4 = 0
    with path.open("wb") as out, _Writer(out) as writer:
        writer.write((",".join(HEADER) + line_end).encode())
        row_id, order, chunk_no = 1, 0, 0
        while row_id <= rows:
            # Chunk n holds Row IDs n * CHUNK_ROWS .. (n + 1) * CHUNK_ROWS - 1 (chunk 0 from 1).
            take = min((chunk_no + 1) * CHUNK_ROWS, rows + 1) - row_id
            ids = row_ids.chunk(chunk_no, take)
            chunk = _make_chunk(cat, np.random.default_rng([seed, 1, chunk_no]), order, row_id, ids)
            if plan is not None:
                plan.apply(cat, chunk)
            writer.write(b"".join(chunk.pieces))
            total_cents4 += int(cat.amount_cents4[chunk.amount].sum())
            row_id += take
            order += int(chunk.line_order[-1]) + 1
            chunk_no += 1
        lines = 1 + rows
        injected: list[InjectedQuirk] = []
        if plan is not None:
            lines += len(plan.insert_before) + 1
            injected = [InjectedQuirk(n, k, r, t) for n, (k, r, t) in plan.injected.items()]
            extra = end_of_file_lines(total_cents4, rows, width, comma_line)
            injected += [
                InjectedQuirk(lines + k, kind, None, text) for k, (kind, text) in enumerate(extra, 1)
            ]
            writer.write("".join(text + "\n" for _, text in extra).encode())
            lines += len(extra)
    return GeneratedFile(
        path=path,
        data_rows=rows + (1 if damaged else 0),
        total_lines=lines,
        size_bytes=path.stat().st_size,
        seed=seed,
        damaged=damaged,
        trailing_empty_columns=TRAILING_EMPTY_COLUMNS if damaged else 0,
        injected=sorted(injected, key=lambda q: q.line_number),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write one file and print what was written and how fast."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--damaged", action="store_true", help="inject the damaged-file quirks")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    result = generate_sales_csv(args.out, args.rows, args.seed, args.start, args.end, args.damaged)
    seconds = time.perf_counter() - began
    print(
        f"wrote {result.path}: {result.data_rows:,} record lines, {result.total_lines:,} lines, "
        f"{result.size_bytes / 1e6:,.1f} MB in {seconds:.2f} s "
        f"({args.rows / seconds:,.0f} rows/s)"
    )
    for quirk in result.injected:
        print(f"  line {quirk.line_number}: {quirk.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
