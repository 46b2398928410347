"""``make bench``: the pipeline's speed and memory beside its ceilings, in one run.

    .venv/bin/python -m tests.bench.bench_pipeline [--n 2000]

A generated corpus of N news pages (about 29 kB each, real page templates) with feeds
is served on loopback.  Measured in the same run, so ratios hold on a noisy machine:

1. the pipeline's stage functions outside Airflow (fetch, extract, tag, stage, load),
   in a child process so its peak RSS is its own: articles/s per stage and end to end;
2. the ceilings on the same pages: bare ``trafilatura.extract`` in one process, a bare
   DuckDB bulk insert of the same rows, and a naive pipeline (one process, row-by-row
   inserts) as the baseline a user would write;
3. an hourly run where nothing changed (every feed answers 304), and a full Airflow
   ``dag.test()`` run of the same corpus (Airflow's own overhead, separately).

Prints a table and writes ``build/bench/results.json`` with the core count and N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.corpus import REPO, Corpus, serve

RESULTS = REPO / "build" / "bench" / "results.json"
SAMPLE = 300  # pages for the per-page ceilings (bare extraction, naive pipeline)


def pipeline_env(home: Path, feeds: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYADWATCH_")}
    env |= {
        "DYADWATCH_HOME": str(home),
        "DYADWATCH_MODE": "live",
        "DYADWATCH_FEEDS": str(feeds),
        "DYADWATCH_ALLOW_PRIVATE_ADDRESSES": "1",
        "DYADWATCH_PER_HOST_CONCURRENCY": "8",  # every bench page is on 127.0.0.1
        "DYADWATCH_PER_HOST_DELAY": "0",
        "DYADWATCH_HTTP_CONCURRENCY": "8",
        "DYADWATCH_ROBOTS": "0",
        "DYADWATCH_LOCK_TIMEOUT": "60",
    }
    return env


def peak_rss_parts_mb() -> dict[str, float]:
    """The stage process's own peak RSS, and the largest of its extraction workers'."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"stages_process": own / 1024, "largest_worker": workers / 1024}


# -- child: the stage functions ----------------------------------------------------------


def run_stages(run_key: str) -> dict[str, Any]:
    """The ingest's stage functions in order, timed (settings from the environment)."""
    from dyadwatch.settings import get_settings
    from extractors.extract import extract_articles
    from extractors.feeds import fetch_feeds
    from extractors.pages import fetch_pages
    from extractors.tagger import tag_articles
    from warehouse import runs
    from warehouse.db import connect
    from warehouse.load import refresh_entities

    settings = get_settings()
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rss_after: dict[str, float] = {}
    counts: dict[str, Any] = {}

    def cpu_seconds() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the extraction processes
        return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

    def timed(stage: str, fn, *args):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        result = fn(*args)
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
        cpu[stage] = cpu.get(stage, 0.0) + cpu_seconds() - cpu_started
        # the stage process's peak so far: where it rises is the stage that raised it
        rss_after[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result

    # the warehouse is created (migrations, views) and its entities filled from the
    # gazetteer before the clock starts, as ``make run`` or the first hour does once: the
    # load figures are those of every later hour (an existing warehouse, an unchanged
    # watch file, whose refresh the load skips); this setup is reported on its own
    created = time.perf_counter()
    with connect(settings.warehouse_path, lock_timeout=settings.lock_timeout) as con:
        refresh_entities(con, settings.watch_file)
    counts["warehouse_create_seconds"] = time.perf_counter() - created
    timed("fetch", runs.read_feed_state, settings, run_key)
    counts["feeds"] = timed("fetch", fetch_feeds, settings, run_key)
    timed("fetch", runs.select_new_entries, settings, run_key)
    counts["pages"] = timed("fetch", fetch_pages, settings, run_key)
    counts["extract"] = timed("extract", extract_articles, settings, run_key)
    counts["tag"] = timed("tag", tag_articles, settings, run_key)
    timed("stage", runs.stage_run, settings, run_key)
    counts["load"] = timed("load", runs.load_batches, settings)
    parts = peak_rss_parts_mb()
    # the stage process and its workers run at once: their sum bounds the pipeline's peak
    workers = max(1, int(counts["extract"].get("extract_processes") or 1))
    bound = parts["stages_process"] + (parts["largest_worker"] if workers > 1 else 0) * workers
    return {
        "timings": timings,
        "cpu": cpu,
        "counts": counts,
        "peak_rss_mb": bound,
        "peak_rss_parts_mb": parts,
        "peak_rss_after_stage_mb": rss_after,
    }


def run_dag() -> dict[str, Any]:
    """One real ``dag.test()`` of the ingest DAG (Airflow home from the environment)."""
    from dyadwatch.runner import load_dags, prepare_airflow
    from dyadwatch.settings import get_settings

    settings = get_settings()
    log = settings.logs_dir / "bench-dag.log"
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    prepare_airflow(settings, log)
    from dyadwatch.runner import run_dag as test_dag

    dags = load_dags(settings)
    state, _, seconds = test_dag(dags["dyadwatch_ingest"], log)
    return {"state": state, "seconds": seconds}


def child(args: argparse.Namespace) -> None:
    result = run_dag() if args.child == "dag" else run_stages(args.run_key)
    print("RESULT " + json.dumps(result, default=str))


def spawn(kind: str, env: dict[str, str], run_key: str = "") -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tests.bench.bench_pipeline", "--child", kind]
    if run_key:
        cmd += ["--run-key", run_key]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench child {kind} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1].removeprefix("RESULT "))


# -- ceilings ----------------------------------------------------------------------------


def bare_trafilatura(pages: list[bytes]) -> float:
    import trafilatura

    started = time.perf_counter()
    for page in pages:
        trafilatura.extract(page)
    return len(pages) / (time.perf_counter() - started)


def our_extraction(pages: list[bytes], urls: list[str]) -> float:
    from datetime import UTC, datetime

    from extractors.extract import extract_article

    now = datetime.now(UTC)
    started = time.perf_counter()
    for page, url in zip(pages, urls, strict=True):
        extract_article(page, url=url, source=None, fetched_at=now)
    return len(pages) / (time.perf_counter() - started)


def bulk_insert_ceiling(warehouse: Path, scratch: Path) -> dict[str, float]:
    """The same signal rows, inserted in one statement from Arrow into a fresh file."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        signals = con.sql("SELECT * FROM signals").to_arrow_table()
    with duckdb.connect(str(scratch)) as con:
        con.register("signals_arrow", signals)
        started = time.perf_counter()
        con.execute("CREATE TABLE signals AS SELECT * FROM signals_arrow")
        seconds = time.perf_counter() - started
    return {"rows": signals.num_rows, "rows_per_s": signals.num_rows / max(seconds, 1e-9)}


def naive_pipeline(base: str, corpus: Corpus, n: int, db: Path) -> float:
    """What a user would write first: fetch, extract, tag, insert row by row."""
    import duckdb
    import httpx
    import trafilatura

    from dyadwatch.watch import load_watch
    from extractors.tagger import tag_article

    watch = load_watch(REPO / "seeds" / "watch.toml")
    started = time.perf_counter()
    with httpx.Client() as client, duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE articles (url VARCHAR PRIMARY KEY, title VARCHAR, text VARCHAR)")
        con.execute("CREATE TABLE signals (url VARCHAR, category VARCHAR, evidence VARCHAR)")
        for i in range(n):
            url = corpus.page_url(base, i)
            html = client.get(url).text
            text = trafilatura.extract(html) or ""
            tags = tag_article(url, None, text, watch)
            con.execute("INSERT INTO articles VALUES (?, ?, ?)", [url, None, text])
            for s in tags.signals:
                con.execute("INSERT INTO signals VALUES (?, ?, ?)", [url, s.category, s.evidence])
    return n / (time.perf_counter() - started)


# -- the benchmark -----------------------------------------------------------------------


def bench_stages_only(n: int) -> dict[str, Any]:
    """Only the pipeline's stage functions (e.g. peak RSS at a large N)."""
    corpus = Corpus(n)
    with (
        tempfile.TemporaryDirectory(prefix="dyadwatch-bench-") as tmp,
        serve(corpus, Path(tmp) / "site") as base,
    ):
        feeds = Path(tmp) / "feeds.toml"
        feeds.write_text(corpus.feeds_toml(base), encoding="utf-8")
        print(f"pipeline stage functions on {n} pages ...", file=sys.stderr, flush=True)
        full = spawn("stages", pipeline_env(Path(tmp) / "pipeline", feeds), "bench-full")
    t = full["timings"]
    total = sum(t.values())
    signals = full["counts"]["load"].get("signals", 0)
    return {
        "n": n,
        "cores": os.cpu_count(),
        "stages_seconds": t,
        "stages_cpu_seconds": full["cpu"],
        "stages_articles_per_s": {k: n / v for k, v in t.items() if v > 0},
        "end_to_end_seconds": total,
        "end_to_end_articles_per_s": n / total,
        "signals_loaded": signals,
        "load_signal_rows_per_s": signals / t["load"] if t.get("load") else None,
        "peak_rss_mb": full["peak_rss_mb"],
        "peak_rss_parts_mb": full["peak_rss_parts_mb"],
        "peak_rss_after_stage_mb": full["peak_rss_after_stage_mb"],
        "counts": full["counts"],
    }


def bench(n: int) -> dict[str, Any]:
    corpus = Corpus(n)
    results: dict[str, Any] = {"n": n, "cores": os.cpu_count(), "sample": min(SAMPLE, n)}
    with (
        tempfile.TemporaryDirectory(prefix="dyadwatch-bench-") as tmp,
        serve(corpus, Path(tmp) / "site") as base,
    ):
        tmp_path = Path(tmp)
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(corpus.feeds_toml(base), encoding="utf-8")
        env = pipeline_env(tmp_path / "pipeline", feeds)

        print(f"[1/5] pipeline stage functions on {n} pages ...", file=sys.stderr, flush=True)
        full = spawn("stages", env, "bench-full")
        print("[2/5] the same hour again: nothing changed ...", file=sys.stderr, flush=True)
        again = spawn("stages", env, "bench-again")

        print("[3/5] ceilings: bare trafilatura, our extraction ...", file=sys.stderr, flush=True)
        sample = results["sample"]
        pages = [corpus.page(base, i) for i in range(sample)]
        urls = [corpus.page_url(base, i) for i in range(sample)]
        bare = bare_trafilatura(pages)
        ours_extract = our_extraction(pages, urls)
        del pages

        print("[4/5] ceilings: bulk insert, naive pipeline ...", file=sys.stderr, flush=True)
        warehouse = tmp_path / "pipeline" / "warehouse.duckdb"
        bulk = bulk_insert_ceiling(warehouse, tmp_path / "bulk.duckdb")
        naive = naive_pipeline(base, corpus, sample, tmp_path / "naive.duckdb")

        print("[5/5] the same corpus through Airflow (dag.test) ...", file=sys.stderr, flush=True)
        dag_env = pipeline_env(tmp_path / "dag", feeds) | {"AIRFLOW_HOME": str(tmp_path / "af")}
        dag = spawn("dag", dag_env)

    t = full["timings"]
    total = sum(t.values())
    articles = full["counts"]["extract"].get("articles_extracted", n)
    signals = full["counts"]["load"].get("signals", 0)
    results |= {
        "stages_seconds": t,
        "stages_cpu_seconds": full["cpu"],
        "extract_processes": full["counts"]["extract"].get("extract_processes"),
        "stages_articles_per_s": {k: n / v for k, v in t.items() if v > 0},
        "end_to_end_seconds": total,
        "end_to_end_articles_per_s": n / total,
        "articles_loaded": full["counts"]["load"].get("articles_new"),
        "articles_extracted": articles,
        "signals_loaded": signals,
        "load_signal_rows_per_s": signals / t["load"] if t.get("load") else None,
        "warehouse_create_seconds": full["counts"]["warehouse_create_seconds"],
        "peak_rss_mb": full["peak_rss_mb"],
        "peak_rss_parts_mb": full["peak_rss_parts_mb"],
        "peak_rss_after_stage_mb": full["peak_rss_after_stage_mb"],
        "bare_trafilatura_pages_per_s": bare,
        "our_extraction_pages_per_s": ours_extract,
        "extraction_time_ratio_ours_to_bare": bare / ours_extract,
        "end_to_end_vs_bare_trafilatura": (n / total) / bare,
        # the extraction stage alone (both cores) against bare trafilatura (one): what end to
        # end could reach if fetching, tagging, staging and loading took no time
        "extract_stage_vs_bare_trafilatura": (n / t["extract"]) / bare,
        "bulk_insert_rows_per_s": bulk["rows_per_s"],
        "naive_pipeline_articles_per_s": naive,
        "speedup_vs_naive": (n / total) / naive,
        "no_change_run_seconds": sum(again["timings"].values()),
        "no_change_stages_seconds": again["timings"],
        "no_change_ratio": sum(again["timings"].values()) / total,
        "dag_test_seconds": dag["seconds"],
        "dag_state": dag["state"],
        "airflow_overhead_seconds": dag["seconds"] - total,
    }
    return results


def report(r: dict[str, Any]) -> str:
    rows = [
        ("corpus", f"{r['n']} pages, {r['cores']} cores"),
        *[
            (
                f"stage {k}",
                f"{r['stages_articles_per_s'][k]:.1f} articles/s ({v:.2f} s; "
                f"CPU {r['stages_cpu_seconds'][k]:.2f} s = "
                f"{1000 * r['stages_cpu_seconds'][k] / r['n']:.2f} ms/article)",
            )
            for k, v in r["stages_seconds"].items()
        ],
        ("extraction processes", str(r["extract_processes"])),
        (
            "end to end",
            f"{r['end_to_end_articles_per_s']:.1f} articles/s ({r['end_to_end_seconds']:.1f} s)",
        ),
        ("bare trafilatura, 1 process", f"{r['bare_trafilatura_pages_per_s']:.1f} pages/s"),
        (
            "end to end / bare trafilatura",
            f"{r['end_to_end_vs_bare_trafilatura']:.2f}x (target >= 1.6x)",
        ),
        (
            "extract stage / bare",
            f"{r['extract_stage_vs_bare_trafilatura']:.2f}x (the ceiling of end to end: every "
            "other stage only adds time)",
        ),
        (
            "CPU per article, all stages",
            f"{1000 * sum(r['stages_cpu_seconds'].values()) / r['n']:.2f} ms "
            f"(bare trafilatura {1000 / r['bare_trafilatura_pages_per_s']:.2f} ms a page)",
        ),
        (
            "our extraction, 1 process",
            f"{r['our_extraction_pages_per_s']:.1f} pages/s "
            f"({r['extraction_time_ratio_ours_to_bare']:.2f}x bare trafilatura's time)",
        ),
        ("load", f"{r['load_signal_rows_per_s'] or 0:,.0f} signal rows/s (target >= 50,000)"),
        (
            "creating the warehouse (once)",
            f"{r['warehouse_create_seconds']:.2f} s (migrations, views, entities; before the "
            "clock: every load above is into an existing warehouse)",
        ),
        ("bare DuckDB bulk insert", f"{r['bulk_insert_rows_per_s']:,.0f} rows/s"),
        (
            "naive pipeline",
            f"{r['naive_pipeline_articles_per_s']:.1f} articles/s "
            f"(ours {r['speedup_vs_naive']:.2f}x)",
        ),
        (
            "no-change hourly run",
            f"{r['no_change_run_seconds']:.2f} s = "
            f"{100 * r['no_change_ratio']:.1f}% of a full run (target < 5%; "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["no_change_stages_seconds"].items())
            + ")",
        ),
        (
            "peak RSS, pipeline",
            f"{r['peak_rss_mb']:.0f} MB (stage process "
            f"{r['peak_rss_parts_mb']['stages_process']:.0f} MB + {r['extract_processes']} "
            f"workers <= {r['peak_rss_parts_mb']['largest_worker']:.0f} MB each)",
        ),
        (
            "Airflow dag.test",
            f"{r['dag_test_seconds']:.1f} s ({r['dag_state']}); overhead "
            f"{r['airflow_overhead_seconds']:+.1f} s",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=int(os.environ.get("N") or 2000))
    parser.add_argument("--child", choices=["stages", "dag"], help=argparse.SUPPRESS)
    parser.add_argument("--run-key", default="bench", help=argparse.SUPPRESS)
    parser.add_argument(
        "--stages-only",
        action="store_true",
        help="only the pipeline's stage functions (no ceilings, no Airflow); prints JSON",
    )
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.stages_only:
        print(json.dumps(bench_stages_only(args.n), indent=2, default=str))
        return 0
    results = bench(args.n)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(report(results))
    print(f"\nwritten: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
