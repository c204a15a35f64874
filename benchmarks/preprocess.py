"""Benchmark: the same preprocessing job four ways, each in its own process, all writing Parquet.

Job (``datasets.synthetic_spec``): MD5 split 80/10/10 by ``id``; on the training split fit a mean
imputation then standardization (sample std of the imputed values) of ten numeric columns with NULLs
(one of them constant) and a top-10 one-hot with an out-of-vocabulary column for two categoricals; apply
to every split and write ``train``/``validation``/``test`` Parquet files.

Methods:

- ``kwp``: ``run_preprocess`` on the DuckDB file (split table, one statistics query, three CTAS, Arrow
  batches streamed into ParquetWriter).
- ``duckdb_sql``: a hand-written DuckDB script doing the same work: split into a temp table, one
  statistics query, a destination table per split (as kwp leaves) and ``COPY ... TO`` Parquet.
- ``duckdb_copy``: the same script without destination tables (Parquet only), for reference.
- ``pandas``: one process; reads a Parquet copy of the source (the most favourable input for pandas).
- ``pandas_mp``: a ``multiprocessing.Pool`` over row chunks: hashing in the workers, global statistics
  fitted once in the parent, then transformation in the workers (the per-chunk-statistics recipe is wrong).

Each method runs in a child process; its peak memory is the peak of the summed RSS of its process tree
(sampled every 20 ms) and, as a cross-check, the largest single process's ``ru_maxrss``. After timing, the
outputs of all methods are compared (row counts per split, column means), so a fast wrong method cannot win.

    python benchmarks/preprocess.py --rows 200000
    python benchmarks/preprocess.py --rows 10000000 --repeat 3   # the reported figures: medians of 3
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from components.preprocess import datasets  # noqa: E402
from components.preprocess.spec import SPLITS  # noqa: E402

METHODS = ("kwp", "duckdb_sql", "duckdb_copy", "pandas", "pandas_mp")
DATABASES = {"kwp": "kwp.duckdb", "duckdb_sql": "sql.duckdb", "duckdb_copy": "copy.duckdb"}
CHUNK = 1_000_000
TOP_K = 10
SPEC = datasets.synthetic_spec(top_k=TOP_K)
NUMERIC = list(datasets.SYNTHETIC_NUMERIC)
CATEGORICAL = list(datasets.SYNTHETIC_CATEGORICAL)
T1, T2 = 8000, 9000  # bucket thresholds of 80/10/10


# --- data ------------------------------------------------------------------------------------------


def generate(data: Path, rows: int) -> None:
    """``source.duckdb`` with table ``synthetic`` and the same rows in ``source.parquet``."""
    import duckdb

    con = duckdb.connect(str(data / "source.duckdb"))
    for start in range(0, rows, CHUNK):
        chunk = datasets.synthetic_table(min(CHUNK, rows - start), seed=start // CHUNK, offset=start)
        con.register("chunk", chunk)
        if start == 0:
            con.execute("CREATE TABLE synthetic AS SELECT * FROM chunk")
        else:
            con.execute("INSERT INTO synthetic SELECT * FROM chunk")
        con.unregister("chunk")
    con.execute(f"COPY synthetic TO '{data / 'source.parquet'}' (FORMAT parquet)")
    con.close()


# --- methods (run in a child process) --------------------------------------------------------------


def run_kwp(data: Path, out: Path) -> None:
    from components.preprocess.engines.duckdb import DuckDBEngine
    from components.preprocess.run import run_preprocess

    with DuckDBEngine(str(data / DATABASES["kwp"])) as engine:
        run_preprocess(SPEC, engine, str(out))


def run_duckdb_sql(data: Path, out: Path, tables: bool = True) -> None:
    import duckdb

    from components.preprocess.engines.duckdb import DEFAULT_MEMORY_LIMIT

    con = duckdb.connect(str(data / DATABASES["duckdb_sql" if tables else "duckdb_copy"]),
                         config={"threads": os.cpu_count() or 1, "memory_limit": DEFAULT_MEMORY_LIMIT})
    con.execute(f"""
        CREATE TEMP TABLE s AS
        SELECT *, CASE WHEN b < {T1} THEN 'train' WHEN b < {T2} THEN 'validation' ELSE 'test' END AS split
        FROM (SELECT *, CAST('0x' || substr(md5('kwp:' || CAST(id AS VARCHAR)), 1, 8) AS BIGINT) % 10000 AS b
              FROM synthetic)""")
    imp = ", ".join(f"avg({c}) AS m_{c}" for c in NUMERIC)
    fit = ", ".join(f"avg(coalesce({c}, m_{c})) AS mean_{c}, stddev_samp(coalesce({c}, m_{c})) AS std_{c}, "
                    f"any_value(m_{c}) AS imp_{c}" for c in NUMERIC)
    row = con.execute(f"WITH t AS (SELECT * FROM s WHERE split = 'train'), i AS (SELECT {imp} FROM t) "
                      f"SELECT {fit} FROM t, i").fetchone()
    names = [d[0] for d in con.description]
    st = dict(zip(names, row, strict=True))
    vocab = {c: [r[0] for r in con.execute(
        f"SELECT {c} FROM s WHERE split = 'train' AND {c} IS NOT NULL GROUP BY {c} "
        f"ORDER BY count(*) DESC, {c} LIMIT {TOP_K}").fetchall()] for c in CATEGORICAL}
    cols = ["id", "label"]
    for c in NUMERIC:
        std = st[f"std_{c}"] or 0.0
        x = f"coalesce({c}, {st[f'imp_{c}']!r})"
        cols.append(f"0.0::DOUBLE AS {c}" if std <= 1e-12 * max(1, abs(st[f"mean_{c}"]))
                    else f"(({x} - {st[f'mean_{c}']!r}) / {std!r})::DOUBLE AS {c}")
    for c in CATEGORICAL:
        lits = ", ".join("'" + v.replace("'", "''") + "'" for v in vocab[c])
        cols += [f"CASE WHEN {c} = '{v}' THEN 1.0 ELSE 0.0 END::DOUBLE AS {c}__{j}"
                 for j, v in enumerate(vocab[c])]
        cols.append(f"CASE WHEN {c} IN ({lits}) THEN 0.0 ELSE 1.0 END::DOUBLE AS {c}__oov")
    for split in SPLITS:
        query = f"SELECT {', '.join(cols)} FROM s WHERE split = '{split}'"
        if tables:  # the same deliverables as kwp: a destination table per split, then its Parquet file
            con.execute(f"CREATE TABLE out_{split} AS {query}")
            query = f"SELECT * FROM out_{split}"
        con.execute(f"COPY ({query}) TO '{out / (split + '.parquet')}' (FORMAT parquet)")
    con.close()


def run_duckdb_copy(data: Path, out: Path) -> None:
    run_duckdb_sql(data, out, tables=False)


def _buckets(ids) -> list[int]:
    return [int(hashlib.md5(f"kwp:{k}".encode()).hexdigest()[:8], 16) % 10000 for k in ids]


def _split_labels(buckets):
    import numpy as np

    b = np.asarray(buckets)
    return np.where(b < T1, "train", np.where(b < T2, "validation", "test"))


def _fit(train) -> dict:
    stats: dict = {}
    for c in NUMERIC:
        m = train[c].mean()
        filled = train[c].fillna(m)
        stats[c] = (m, filled.mean(), filled.std(ddof=1))
    for c in CATEGORICAL:
        counts = train[c].value_counts(dropna=True)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        stats[c] = [v for v, _ in ordered[:TOP_K]]
    return stats


def _transform(df, stats):
    import pandas as pd

    out = {"id": df["id"].to_numpy(), "label": df["label"].to_numpy()}
    for c in NUMERIC:
        imp, mean, std = stats[c]
        x = df[c].fillna(imp)
        out[c] = (x * 0.0).to_numpy() if std <= 1e-12 * max(1, abs(mean)) else ((x - mean) / std).to_numpy()
    for c in CATEGORICAL:
        for j, v in enumerate(stats[c]):
            out[f"{c}__{j}"] = (df[c] == v).to_numpy(dtype="float64")
        out[f"{c}__oov"] = (~df[c].isin(stats[c])).to_numpy(dtype="float64")
    return pd.DataFrame(out)


def _write_splits(frame, labels, out: Path) -> None:
    for split in SPLITS:
        frame[labels == split].to_parquet(out / f"{split}.parquet", index=False)


def run_pandas(data: Path, out: Path) -> None:
    import pandas as pd

    df = pd.read_parquet(data / "source.parquet")
    labels = _split_labels(_buckets(df["id"].tolist()))
    stats = _fit(df[labels == "train"])
    _write_splits(_transform(df, stats), labels, out)


def run_pandas_mp(data: Path, out: Path) -> None:
    import multiprocessing

    import numpy as np
    import pandas as pd

    df = pd.read_parquet(data / "source.parquet")
    workers = os.cpu_count() or 1
    bounds = np.linspace(0, len(df), workers * 4 + 1, dtype=int)
    chunks = [df.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        buckets = pool.map(_buckets, [c["id"].tolist() for c in chunks])
        labels = _split_labels(np.concatenate(buckets))
        stats = _fit(df[labels == "train"])  # global statistics, fitted once on the training rows
        parts = pool.starmap(_transform, [(c, stats) for c in chunks])
    _write_splits(pd.concat(parts, ignore_index=True), labels, out)


IMPORTS = {"kwp": ("components.preprocess.run", "components.preprocess.engines.duckdb"),
           "duckdb_sql": ("duckdb",), "duckdb_copy": ("duckdb",), "pandas": ("pandas", "pyarrow.parquet"),
           "pandas_mp": ("pandas", "pyarrow.parquet", "multiprocessing")}
RUNNERS = {"kwp": run_kwp, "duckdb_sql": run_duckdb_sql, "duckdb_copy": run_duckdb_copy,
           "pandas": run_pandas, "pandas_mp": run_pandas_mp}


# --- measuring ---------------------------------------------------------------------------------------


def measure(method: str, data: Path) -> dict:
    """Run one method in a child process; wall time (reported by the child) and peak memory."""
    import psutil

    out = data / f"out_{method}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if method in DATABASES:  # a fresh copy of the source database: the methods create tables in it
        shutil.copy(data / "source.duckdb", data / DATABASES[method])
    os.sync()  # the copies' write-back must not land inside this method's timing
    proc = subprocess.Popen([sys.executable, __file__, "--child", method, "--data", str(data)],
                            stdout=subprocess.PIPE, text=True)
    tree_peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit(f"{method} failed with exit code {proc.returncode}")
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    result["tree_peak_mb"] = tree_peak / 2**20
    return result


def _median_run(runs: list[dict]) -> dict:
    """The median time over repetitions, with the largest peak memory seen in any of them."""
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "tree_peak_mb": max(r["tree_peak_mb"] for r in runs),
            "maxrss_mb": max(r["maxrss_mb"] for r in runs)}


def check_outputs(data: Path, methods: list[str]) -> None:
    """Every method produced the same row counts, column means (to 1e-9) and out-of-vocabulary counts."""
    import duckdb

    con = duckdb.connect()
    reference = None
    for method in methods:
        sums = {}
        for split in SPLITS:
            path = data / f"out_{method}" / f"{split}.parquet"
            cols = ["count(*)", *(f'avg("{c}")' for c in NUMERIC), f'sum("{CATEGORICAL[0]}__oov")']
            sums[split] = con.execute(f"SELECT {', '.join(cols)} FROM read_parquet('{path}')").fetchone()
        if reference is None:
            reference = sums
            continue
        for split in SPLITS:
            for a, b in zip(sums[split], reference[split], strict=True):
                if abs(a - b) > 1e-9 * max(1.0, abs(b)):
                    raise SystemExit(f"{method} disagrees with {methods[0]} on {split}: {sums[split]} != "
                                     f"{reference[split]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; the median time is reported")
    parser.add_argument("--workdir", default=None, help="where data and outputs go (default: a temp dir)")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.data), args.generate)
        return
    if args.child:
        data = Path(args.data)
        for module in IMPORTS[args.child]:
            importlib.import_module(module)  # imports are not part of the job
        start = time.perf_counter()
        RUNNERS[args.child](data, data / f"out_{args.child}")
        seconds = time.perf_counter() - start
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"seconds": seconds, "maxrss_mb": max(own, children) / 1024}))
        return
    methods = args.methods.split(",")
    data = Path(tempfile.mkdtemp(prefix="kwp-bench-", dir=args.workdir))
    try:
        t = time.perf_counter()
        # In a child process: Linux carries a parent's peak RSS into its children's ru_maxrss.
        command = [sys.executable, __file__, "--generate", str(args.rows), "--data", str(data)]
        subprocess.run(command, check=True)
        print(f"rows={args.rows} cpus={os.cpu_count()} generate_s={time.perf_counter() - t:.1f}", flush=True)
        runs: dict[str, list[dict]] = {method: [] for method in methods}
        for repetition in range(args.repeat):  # round robin, so a slow spell hits every method alike
            for method in methods:
                r = measure(method, data)
                runs[method].append(r)
                print(f"run={repetition} {method}_seconds={r['seconds']:.2f} "
                      f"peak_rss_mb={r['tree_peak_mb']:.0f} (largest process maxrss {r['maxrss_mb']:.0f})",
                      flush=True)
        results = {method: _median_run(r) for method, r in runs.items()}
        for method, r in results.items():
            print(f"{method}_seconds={r['seconds']:.2f}", flush=True)
            print(f"{method}_peak_rss_mb={r['tree_peak_mb']:.0f}", flush=True)
        check_outputs(data, methods)
        print("outputs_agree=true")
        report(results)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def report(results: dict) -> None:
    if "kwp" not in results:
        return
    k = results["kwp"]
    for other, label in (("pandas", "pandas"), ("pandas_mp", "pandas_mp")):
        if other in results:
            print(f"kwp_vs_{label}_speedup={results[other]['seconds'] / k['seconds']:.2f}")
    for other in ("duckdb_sql", "duckdb_copy"):
        if other in results:
            print(f"kwp_vs_{other}_time_ratio={k['seconds'] / results[other]['seconds']:.2f}")
    if "pandas" in results:
        print(f"kwp_vs_pandas_peak_rss_ratio={k['tree_peak_mb'] / results['pandas']['tree_peak_mb']:.2f}")


if __name__ == "__main__":
    main()
