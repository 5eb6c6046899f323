"""Wall time from closing a market to its resolution, through real Celery workers.

For each spec (a ``tiny`` one and one ``default`` one) the script opens a market with two traders,
closes it (the run is enqueued on commit, as the beat task does), and waits until the market is
resolved or annulled. It prints one JSON line:

    {"benchmark": "resolution_latency", "broker": ..., "database": ..., "worker_concurrency": ...,
     "cpu_count": ..., "specs": [{"name", "spec", "seeds", "close_to_resolved_s", "queue_wait_s",
     "run_wall_s", "train_seconds", "device", "decision"}, ...]}

- ``close_to_resolved_s``: from ``market_close`` returning to the market row being RESOLVED/ANNULLED;
- ``queue_wait_s``: close → the run's ``started_at`` (broker latency, worker pick-up);
- ``run_wall_s``: ``started_at`` → ``finished_at`` of the run (chunks, chord join, finalizer, payouts).

Usage (from the repository root)::

    .venv/bin/python benchmarks/resolution_latency.py                     # embedded: filesystem:// + SQLite
    .venv/bin/python benchmarks/resolution_latency.py --broker redis://127.0.0.1:6379/0 \\
        --database postgres://pathmarket:pathmarket@127.0.0.1:5432/pm_bench
    .venv/bin/python benchmarks/resolution_latency.py --only tiny

Everything lives in a temporary folder (``PATHMARKET_VAR_DIR``); a PostgreSQL database given with
``--database`` is flushed and migrated, so point it at a scratch database.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "tiny": {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": 8, "seed_budget": 8},
    "default": {"concept": "A", "task": "digits", "arch": "mlp", "preset": "default"},
}


def _configure(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "PATHMARKET_VAR_DIR": str(var_dir),
        "PATHMARKET_SEED_CHUNK_SIZE": str(args.chunk_size),
        "PATHMARKET_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "DATABASE_URL": args.database or f"sqlite:///{var_dir / 'db.sqlite3'}",
    }
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
        env["CELERY_RESULT_BACKEND"] = args.broker
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    return env


def _start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,gpu",
           "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 180
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc


def _measure(name: str, spec: dict, timeout: float) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from experiments.models import ExperimentRun
    from market.models import Market
    from market.services import account_open, forecast_place, market_close, market_open

    market = market_open(
        title=f"latency benchmark {name} {time.time():.0f}", concept=spec["concept"], question="benchmark",
        spec=spec, statistic="dis_ood", comparator=">=", threshold=0.01,
        close_time=timezone.now() + timedelta(hours=1),
    )
    for i, p in enumerate((0.8, 0.3)):
        user = get_user_model().objects.create_user(f"bench-{name}-{market.pk}-{i}", password="pw-bench-2026")
        account_open(user=user)
        forecast_place(user=user, market=market, probability=p)
    closed = time.monotonic()
    closed_at = timezone.now()
    market_close(market=market)  # sends the start task on commit
    while True:
        status = Market.objects.values_list("status", flat=True).get(pk=market.pk)
        if status in ("resolved", "annulled"):
            break
        run = ExperimentRun.objects.filter(market_link__market=market).first()
        if run is not None and run.status == "failed":
            raise SystemExit(f"run {run.pk} failed: {run.error[-2000:]}")
        if time.monotonic() - closed > timeout:
            raise SystemExit(f"{name}: not resolved after {timeout:.0f}s")
        time.sleep(0.05)
    elapsed = time.monotonic() - closed
    run = ExperimentRun.objects.get(market_link__market=market)
    return {
        "name": name,
        "spec": {k: run.spec[k] for k in ("concept", "task", "arch", "preset", "seeds", "seed_budget")},
        "seeds": len(run.seeds),
        "close_to_resolved_s": round(elapsed, 2),
        "queue_wait_s": round((run.started_at - closed_at).total_seconds(), 2),
        "run_wall_s": round((run.finished_at - run.started_at).total_seconds(), 2),
        "train_seconds": run.provenance.get("train_seconds"),
        "device": run.provenance.get("device"),
        "decision": run.decision,
        "market_status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", help="Celery broker/result URL (default: the embedded filesystem:// broker)")
    parser.add_argument("--database", help="DATABASE_URL of a scratch database (default: SQLite in a temp dir)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--chunk-size", type=int, default=16, help="seeds per training task (default 16)")
    parser.add_argument("--only", choices=sorted(SPECS), action="append", help="measure only these specs")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait per spec")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pathmarket-latency-") as tmp:
        var_dir = Path(tmp)
        env = _configure(args, var_dir)
        import django

        django.setup()
        from django.core.management import call_command

        if args.database:
            call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", interactive=False, verbosity=0)
        worker = _start_worker(env, args.concurrency, var_dir / "worker.log")
        try:
            results = [_measure(name, SPECS[name], args.timeout) for name in (args.only or ["tiny", "default"])]
        except BaseException:
            sys.stderr.write((var_dir / "worker.log").read_text()[-5000:])
            raise
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
    from django.db import connection

    print(json.dumps({
        "benchmark": "resolution_latency",
        "broker": args.broker or "filesystem:// (embedded)",
        "result_backend": args.broker or "file:// (embedded)",
        "database": connection.vendor,
        "worker_concurrency": args.concurrency,
        "seed_chunk_size": args.chunk_size,
        "cpu_count": os.cpu_count(),
        "specs": results,
    }))


if __name__ == "__main__":
    main()
