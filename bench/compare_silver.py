"""Do two versions of the silver SQL write the same outputs? Staging, silver, quarantine, repairs.

Runs the silver stage of a base git ref (default `main`, its `include/` unpacked from
`git archive`) and of this working tree on the same inputs, each in its own interpreter, and
compares every output: row counts, `sum(hash(row))`, `EXCEPT ALL` both ways (staging with its
row numbers, i.e. its line numbers), the run's summary counts and its date-order votes.

Inputs (any mix):
  --csv FILE ...         files as they are (e.g. build/bench/data/sales_1000000r_seed42.csv)
  --fuzz N               N-line files made from --fuzz-source (default: the first lines of the
                         1M bench file) with many values broken at the contract's edges
                         (spaces, quotes, shapes, allowed values, lengths, repairs, ...)
  --tests PATH ...       every input the given test files hand to tests/silver_helpers.run_silver
                         (captured by running them once with this tree)

`python bench/compare_silver.py --tests tests/unit/test_silver.py --fuzz 30000 --seeds 1 2 --csv
build/bench/data/sales_1000000r_seed42.csv`; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_CSV = REPO / "build" / "bench" / "data" / "sales_1000000r_seed42.csv"
INGEST_DATE = "2026-01-15"
OUTPUTS = ("staging", "silver", "quarantine", "repairs")


# --- one run of the stage (child process, PYTHONPATH = the tree under test) -----------------


def child(jobs_file: Path) -> None:
    """Run the silver SQL of whichever tree is on sys.path over each job's csv; print the summaries."""
    spec = json.loads(jobs_file.read_text())
    results = [one_run(Path(j["csv"]), Path(j["out"]), j["lines"]) for j in spec["jobs"]]
    print(json.dumps(results, default=str))


def one_run(csv: Path, out: Path, lines: int | None) -> dict[str, Any]:
    import duckdb

    from include.sales_analyzer import silver as sv

    if out.exists():
        shutil.rmtree(out)
    header = sv.inspect_header(csv)
    paths = sv.SilverPaths.for_run(out / "lake", csv, INGEST_DATE, "cmp")
    sv.prepare_dirs(paths)
    with duckdb.connect() as con:
        con.execute(sv.render_silver_sql(header, paths, INGEST_DATE, csv.name, lines=lines))
        try:
            date_order = sv.decide_date_order(paths, con)
        except Exception as exc:
            date_order = f"{type(exc).__name__}: {exc}"
        counts = sv.summarize(paths, con)
    files = {
        "staging": str(paths.staging_file),
        "silver": str(paths.silver_version_dir),
        "quarantine": str(paths.quarantine_tmp),
        "repairs": str(paths.repairs_tmp),
    }
    return {"files": files, "counts": counts, "date_order": date_order}


def run_tree(tree: Path, jobs: list[dict[str, Any]], work: Path, name: str) -> list[dict[str, Any]]:
    """Every job on one tree, in one interpreter."""
    jobs_file = work / f"jobs-{name}.json"
    jobs_file.write_text(json.dumps({"jobs": jobs}))
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(jobs_file)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tree,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- comparison -----------------------------------------------------------------------------


def _relation(kind: str, path: str) -> str:
    if kind == "silver":
        if not list(Path(path).rglob("*.parquet")):
            return "(select 1 as none where false)"
        return f"(select * from read_parquet('{path}/**/*.parquet', hive_partitioning = true))"
    if kind == "staging":  # the row number is the line number: part of what must match
        return f"(select * from read_parquet('{path}', file_row_number = true))"
    return f"(select * from read_parquet('{path}'))"


def compare(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Differences between two runs' outputs (empty when they are the same)."""
    import duckdb

    problems = []
    if base["counts"] != new["counts"]:
        problems.append(f"summary counts differ: {base['counts']} vs {new['counts']}")
    if base["date_order"] != new["date_order"]:
        problems.append(f"date order differs: {base['date_order']} vs {new['date_order']}")
    with duckdb.connect() as con:
        for kind in OUTPUTS:
            a, b = _relation(kind, base["files"][kind]), _relation(kind, new["files"][kind])
            stats = [con.execute(f"select count(*), sum(hash(t)) from {r} as t").fetchone() for r in (a, b)]
            only_a = con.execute(
                f"select count(*) from (select * from {a} except all select * from {b})"
            ).fetchone()[0]
            only_b = con.execute(
                f"select count(*) from (select * from {b} except all select * from {a})"
            ).fetchone()[0]
            if stats[0] != stats[1] or only_a or only_b:
                problems.append(
                    f"{kind}: (rows, hash) {stats[0]} vs {stats[1]}; only base {only_a}, only new {only_b}"
                )
    return problems


def row_count(files: dict[str, str], kind: str) -> int:
    import duckdb

    with duckdb.connect() as con:
        return con.execute(f"select count(*) from {_relation(kind, files[kind])}").fetchone()[0]


# --- inputs ---------------------------------------------------------------------------------


def base_tree(ref: str, work: Path) -> Path:
    """The base ref's include/ (all the stage needs), unpacked under work/."""
    tree = work / f"tree-{ref.replace('/', '_')}"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    data = subprocess.run(
        ["git", "archive", ref, "include"], cwd=REPO, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def captured_test_inputs(test_paths: list[str], work: Path) -> list[tuple[Path, int | None]]:
    """Every file the tests hand to run_silver, with its size_as, captured by running them."""
    capture = work / "captured"
    if capture.exists():
        shutil.rmtree(capture)
    capture.mkdir(parents=True)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "bench")]),
        SILVER_CAPTURE_DIR=str(capture),
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "capture_silver_inputs",
        *test_paths,
    ]
    subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True)
    out = []
    for csv in sorted(capture.glob("*.csv"), key=lambda p: int(p.stem)):
        meta = json.loads(csv.with_suffix(".json").read_text())
        out.append((csv, meta["size_as"]))
    return out


# Ways to break one value at the edges of the contract's rules (whitespace, quotes, shapes,
# allowed values, lengths, repairs): each output of the two trees must still agree.
_SPACES = [" ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\x0b", "\x0c", "\r"]


def _mutate(value: str, rng: random.Random) -> str:
    pick = rng.randrange(30)
    if pick == 0:
        return rng.choice(_SPACES) + value
    if pick == 1:
        return value + rng.choice(_SPACES)
    if pick == 2 and " " in value:
        return value.replace(" ", rng.choice(_SPACES), 1)
    if pick == 3:
        return '"' + value.replace('"', '""') + '"'
    if pick == 4:
        return '" ' + value + ' "'
    if pick == 5:
        return value.lower()
    if pick == 6:
        return value.upper()
    if pick == 7:
        return value[1:]
    if pick == 8:
        return value[:-1]
    if pick == 9:
        return ""
    if pick == 10:
        return value + value
    if pick == 11:
        return rng.choice(["0", "00", "-", "+", "-0", "0."]) + value
    if pick == 12:
        return value + rng.choice([".", ".0", "0", "00000", "e5", "_1", ".12345", ".00010"])
    if pick == 13:
        return rng.choice(
            ["99999999999999999999", "-5", "0", "1e3", "0x1F", "1_000", "+7", " 7", "7 ", "NaN", "inf"]
        )
    if pick == 14:
        return rng.choice(["31/02/2017", "29/02/2016", "29/02/2017", "00/01/2017", "01/13/2017", "1/2/2017"])
    if pick == 15:
        return rng.choice(
            ["30/12/1899", "01/01/2000", "31/12/1999", "15/01/2026", "16/01/2026", "01/01/9999"]
        )
    if pick == 16:
        return "x" * rng.choice([199, 200, 201, 499, 500, 501])
    if pick == 17:
        return value.replace("e", "\u00e9")
    if pick == 18:
        return value + ","
    if pick == 19:
        return rng.choice(["6824", "06824", "824", "123456", "ABCDE", "0682", "1234 "])
    if pick == 20:
        return rng.choice(
            ["Standard Class", "standard class", "Standard  Class", "Same Day", "Consumer ", "Home Office"]
        )
    if pick == 21:
        return rng.choice(
            ["CA-2017-152156", "ca-2017-152156", "CA-17-152156", "US-2017-1521567", "XX-2017-152156"]
        )
    if pick == 22:
        return rng.choice(
            ["CG-12520", "Dl-13600", "CG-1252", "CG12520", "FUR-BO-10001798", "FUR-bo-10001798"]
        )
    if pick == 23:
        return value.replace("-", "\u2011")
    if pick == 24:
        return value + '"'
    if pick == 25:
        return "'" + value
    if pick == 26:
        return value.replace("/", "-")
    if pick == 27:
        return rng.choice(["\x1f", "\x7f", "a\x1fb", "~", "#&'()*+-./:;<=>?@[\\]^_`{|}"])
    if pick == 28:
        return rng.choice(
            ["1", "12", "1.5", "-0.0001", "1000000", "1000000.0001", "999999.99990000", "0.00000"]
        )
    return value


def fuzzed_file(source: Path, n: int, seed: int, work: Path) -> Path:
    """n lines of `source` (header kept), about a third of them with one or more values broken."""
    rng = random.Random(seed)
    with open(source, encoding="utf-8", newline="") as fh:
        header = fh.readline().rstrip("\r\n")
        lines = [fh.readline().rstrip("\r\n") for _ in range(n)]
    out = [header]
    for line in lines:
        if not line:
            continue
        r = rng.random()
        if r < 0.35:
            fields = line.split(",") if '"' not in line else [line]
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                i = rng.randrange(len(fields))
                fields[i] = _mutate(fields[i], rng)
            line = ",".join(fields)
        elif r < 0.38:
            line = line + rng.choice([",", ",,", ",,,", ", ", ",x", ',""', ",\t"])
        elif r < 0.40:
            line = rng.choice(["", ",,,,", "   ", " ,", "\u00a0", ",,,,,,,,,,,,,,,,,,,1.5"])
        out.append(line)
    path = work / f"fuzz_{n}_{seed}.csv"
    path.write_bytes(("\n".join(out) + "\n").encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git ref of the SQL to compare against")
    parser.add_argument("--csv", type=Path, nargs="*", default=[])
    parser.add_argument("--fuzz", type=int, default=0, help="lines per fuzzed file")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1])
    parser.add_argument("--fuzz-source", type=Path, default=BENCH_CSV)
    parser.add_argument("--tests", nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="compare_silver_"))
    work.mkdir(parents=True, exist_ok=True)
    base = base_tree(args.base, work)
    inputs: list[tuple[Path, int | None]] = [(p.resolve(), None) for p in args.csv]
    if args.fuzz:
        inputs += [(fuzzed_file(args.fuzz_source, args.fuzz, s, work), None) for s in args.seeds]
    if args.tests:
        inputs += captured_test_inputs(args.tests, work)
    jobs = {
        name: [
            {"csv": str(csv), "out": str(work / f"run{i}" / name), "lines": lines}
            for i, (csv, lines) in enumerate(inputs)
        ]
        for name in ("base", "new")
    }
    runs_a = run_tree(base, jobs["base"], work, "base")
    runs_b = run_tree(REPO, jobs["new"], work, "new")
    failures = 0
    for (csv, lines), a, b in zip(inputs, runs_a, runs_b, strict=True):
        problems = compare(a, b)
        sizes = ", ".join(f"{k} {row_count(b['files'], k)}" for k in OUTPUTS)
        label = f"{csv.name}" + (f" (as {lines} lines)" if lines else "")
        print(f"{'DIFF' if problems else 'same'}  {label}: {sizes}", flush=True)
        for p in problems:
            print("      " + p, flush=True)
        failures += bool(problems)
    print(f"{len(inputs)} inputs, {failures} with differences (base {args.base}, new this tree, work {work})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
