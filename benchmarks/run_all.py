"""``make bench``: run every benchmark in one go and print one table of the ratios they report.

Each benchmark prints ``name=value`` lines (ratios against a baseline measured in the same run); this
script collects them into a Markdown table (benchmarks/results.md) for the README. Sizes can be reduced
with ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- bench-table -->", "<!-- /bench-table -->"
LINE = re.compile(r"^([A-Za-z][\w.-]*)=([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")

#: benchmark -> (full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "preprocess.py": (["--rows", "10000000", "--repeat", "3"], ["--rows", "200000"]),
    "train.py": ([], ["--quick"]),
    "onnx.py": ([], ["--rounds", "2", "--calls", "300"]),
    "hyperband.py": ([], ["--seeds", "1", "--max-epochs", "9"]),
    "darts.py": ([], ["--quick"]),
}


def run(name: str, args: list[str]) -> tuple[dict[str, str], float, int]:
    """Run one benchmark, echo its output, return its ``name=value`` lines, seconds and exit code."""
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, str(HERE / name), *args], capture_output=True, text=True, check=False
    )
    sys.stdout.write(process.stdout)
    sys.stderr.write(process.stderr[-4000:])
    values = {m.group(1): m.group(2) for m in map(LINE.match, process.stdout.splitlines()) if m}
    return values, time.perf_counter() - started, process.returncode


def update_readme(readme: Path, table: list[str]) -> None:
    """Replace the table between ``<!-- bench-table -->`` and ``<!-- /bench-table -->``."""
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + "\n".join(table) + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmarks run")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark files to run")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    parser.add_argument("--readme", default=None, help="also put the table between the README's markers")
    args = parser.parse_args(argv)
    rows, failed = [], []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name} {' '.join(quick if args.quick else full)}", flush=True)
        values, seconds, code = run(name, quick if args.quick else full)
        if code:
            failed.append(name)
        rows += [(name, key, value) for key, value in values.items()]
        rows.append((name, "wall_seconds", f"{seconds:.0f}"))
    table = ["| benchmark | figure | value |", "|---|---|---|"]
    table += [f"| {b} | {k} | {v} |" for b, k, v in rows]
    Path(args.out).write_text("\n".join(table) + "\n")
    print("\n".join(table))
    if args.readme:
        update_readme(Path(args.readme), table)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
