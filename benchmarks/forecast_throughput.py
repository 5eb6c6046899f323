#!/usr/bin/env python
"""Forecast throughput through the REST API, against the no-op health endpoint of the same server.

Creates a fresh PostgreSQL database next to $DATABASE_URL's, migrates it, creates users (with tokens)
and markets, starts gunicorn on a free loopback port, then runs N concurrent clients (one process
each, keep-alive connections):

1. for ``--duration`` seconds every client POSTs forecasts (random market, random probability) to
   /api/v1/markets/{id}/forecasts/;
2. for ``--duration`` seconds every client GETs /api/v1/health/.

With ``--numeric 50 200`` it also times forecasts on numeric markets of those bin counts (a target
distribution of one random logistic component each, on markets of their own), right after the
binary phase of the same run, and adds ``numeric`` (per n: forecasts_per_s, p50_ms, p99_ms and the
ratio to the binary forecasts_per_s) to the line.

Prints ONE JSON line: forecasts_per_s, p50_ms, p99_ms, health_per_s, ratio (= forecasts_per_s /
health_per_s), the CPU milliseconds each request cost the server, PostgreSQL and the clients (from
/proc, where there is one), ``ratio_ceiling_noop_server_cost`` (the ratio this machine could reach at
most, CPU-bound, if a forecast cost the server no more than the no-op does while PostgreSQL and the
clients paid what they were measured to pay), and context. Afterwards it checks the books (``reconcile``) and drops the database.

    DATABASE_URL=postgres://pathmarket:pathmarket@127.0.0.1:5432/pathmarket \\
        .venv/bin/python benchmarks/forecast_throughput.py --clients 16 --duration 10
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def warm_application():  # noqa: ANN201 - a WSGI callable
    """gunicorn app factory (used with --preload): import the site and every URLconf (torch, pandas…)
    in the master before forking, so no worker pays seconds of imports on its first request."""
    sys.path.insert(0, str(ROOT))
    from django.urls import get_resolver

    from config.wsgi import application

    get_resolver().url_patterns  # noqa: B018 - the import side effect is the point
    return application


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_sql(base_url: str, sql: str) -> None:
    import psycopg

    parsed = urlparse(base_url)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "PATHMARKET_THROTTLE_FORECASTS": "1000000/s",
        "PATHMARKET_THROTTLE_USER": "1000000/s",
        "PATHMARKET_THROTTLE_ANON": "1000000/s",
        "PATHMARKET_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


SETUP = """
import json, sys
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from market.models import LedgerEntry
from market.seed_data import SEED_MARKETS
from market.services import account_open, house_account, ledger_post, market_open
n_users, n_markets = int(sys.argv[1]), int(sys.argv[2])
numeric_bins = [int(x) for x in sys.argv[3].split(",") if x]
from market.services import market_open_numeric
numeric = {}
for n in numeric_bins:
    numeric[n] = [market_open_numeric(title=f"bench numeric {n} {i}", concept="A", question="bench",
        spec=SEED_MARKETS[0].spec, statistic=SEED_MARKETS[0].statistic, range_lo=0.0, range_hi=0.1, n_bins=n,
        open_lower=True, open_upper=True, close_time=timezone.now() + timedelta(days=1)).pk for i in range(n_markets)]
markets = []
for i in range(n_markets):
    seed = SEED_MARKETS[0]  # the same valid spec for every market; only the trading matters here
    markets.append(market_open(title=f"bench {i}", concept=seed.spec["concept"], question=seed.question,
        spec=seed.spec, statistic=seed.statistic, comparator=seed.comparator, threshold=seed.threshold,
        close_time=timezone.now() + timedelta(days=1)).pk)
tokens = []
for i in range(n_users):
    user = get_user_model().objects.create_user(f"bench{i}", password="bench-pass-2026")
    account = account_open(user=user)
    # Enough points that no forecast is refused for the balance during the run.
    ledger_post(kind=LedgerEntry.Kind.GRANT, debit=house_account(), credit=account, amount=10**6, memo="benchmark")
    tokens.append(Token.objects.create(user=user).key)
print(json.dumps({"tokens": tokens, "markets": markets, "numeric": numeric}))
"""

RECONCILE = """
from market.reconcile import ledger_reconcile
from market.models import Forecast
r = ledger_reconcile()
print(r.ok, Forecast.objects.count())
"""


def django_run(code: str, env: dict[str, str], *args: str) -> str:
    out = subprocess.run([PYTHON, "-c", "import django; django.setup(); exec(open(0).read())", *args],
                         input=code, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return out.stdout


def client_loop(args: tuple) -> dict:
    """One client process: keep-alive requests until the deadline; returns latencies and status counts."""
    kind, port, token, markets, start_at, duration, seed = args
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"}
    while time.time() < start_at:
        time.sleep(0.005)
    deadline = start_at + duration
    while True:
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            if kind == "forecast":
                body = json.dumps({"probability": round(rng.uniform(0.3, 0.7), 3)})
                conn.request("POST", f"/api/v1/markets/{rng.choice(markets)}/forecasts/", body, headers)
            elif kind == "numeric":  # markets on [0, 0.1]: one logistic component somewhere inside
                body = json.dumps({"components": [{"center": round(rng.uniform(0.02, 0.08), 4),
                                                   "spread": round(rng.uniform(0.005, 0.02), 4), "weight": 1.0}]})
                conn.request("POST", f"/api/v1/markets/{rng.choice(markets)}/forecasts/", body, headers)
            else:
                conn.request("GET", "/api/v1/health/", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            code = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            code = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append(time.perf_counter() - t0)
        statuses[code] = statuses.get(code, 0) + 1
    conn.close()
    return {"latencies": latencies, "statuses": statuses}


def cpu_seconds(db_name: str) -> dict[str, float] | None:
    """CPU seconds (user + system) used so far by the server (gunicorn), by PostgreSQL's backends of
    the benchmark database and by the client processes, read from /proc (None where there is none)."""
    if not Path("/proc/self/stat").exists():
        return None
    tick, me = os.sysconf("SC_CLK_TCK"), os.getpid()
    totals = {"server": 0.0, "postgres": 0.0, "clients": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if "forecast_throughput:warm_application" in cmdline:
            totals["server"] += used
        elif cmdline.startswith("postgres") and db_name in cmdline:
            totals["postgres"] += used
        elif int(fields[1]) == me:  # the client pool's processes (gunicorn is matched above)
            totals["clients"] += used
    return totals


def phase(kind: str, pool: mp.pool.Pool, port: int, tokens: list[str], markets: list[int], duration: float,
          ok_status: int, db_name: str = "") -> dict:
    start_at = time.time() + 0.5
    jobs = [(kind, port, tokens[i], markets, start_at, duration, 1000 + i) for i in range(len(tokens))]
    cpu_before = cpu_seconds(db_name)
    results = pool.map(client_loop, jobs)
    cpu_after = cpu_seconds(db_name)
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    ok = statuses.get(ok_status, 0)

    def q(f: float) -> float:
        return 1000 * latencies[min(int(f * len(latencies)), len(latencies) - 1)] if latencies else float("nan")

    cpu_ms = None
    if cpu_before is not None and cpu_after is not None and ok:
        cpu_ms = {k: round(1000 * (cpu_after[k] - cpu_before[k]) / ok, 3) for k in cpu_before}
    return {"ok": ok, "per_s": ok / duration, "p50_ms": q(0.50), "p99_ms": q(0.99), "cpu_ms": cpu_ms,
            "errors": {str(k): v for k, v in statuses.items() if k != ok_status}}


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health/", headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within the start-up timeout")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--markets", type=int, default=16, help="markets the forecasts spread over")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2) * 2))
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--numeric", type=int, nargs="*", default=[], metavar="N",
                        help="also time numeric markets with these bin counts (e.g. --numeric 50 200)")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("needs PostgreSQL: set DATABASE_URL=postgres://… or pass --database-url")

    db_name = f"pathmarket_bench_{os.getpid()}"
    bench_url = urlunparse(urlparse(args.database_url)._replace(path=f"/{db_name}"))
    env = server_env(bench_url)
    admin_sql(args.database_url, f'CREATE DATABASE "{db_name}"')
    gunicorn = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True,
                       timeout=300)
        setup = json.loads(django_run(SETUP, env, str(args.clients), str(args.markets),
                                      ",".join(str(n) for n in args.numeric)))
        port = free_port()
        log = tempfile.TemporaryFile()
        gunicorn = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "forecast_throughput:warm_application()", "--preload",
             "--pythonpath", str(ROOT / "benchmarks"), "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
             "--keep-alive", "30", "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )
        wait_for(port, gunicorn, timeout=120)
        with mp.get_context("fork").Pool(args.clients) as pool:
            phase("forecast", pool, port, setup["tokens"], setup["markets"], 2.0, 201)  # warm-up: connections
            phase("health", pool, port, setup["tokens"], setup["markets"], 2.0, 200)
            forecasts = phase("forecast", pool, port, setup["tokens"], setup["markets"], args.duration, 201, db_name)
            numeric = {}
            for n, markets in setup["numeric"].items():
                phase("numeric", pool, port, setup["tokens"], markets, 1.0, 201)  # warm-up
                numeric[n] = phase("numeric", pool, port, setup["tokens"], markets, args.duration, 201, db_name)
            health = phase("health", pool, port, setup["tokens"], setup["markets"], args.duration, 200, db_name)
        ok, count = django_run(RECONCILE, env).split()
        f_cpu, h_cpu = forecasts["cpu_ms"], health["cpu_ms"]
        ceiling = None
        if f_cpu and h_cpu:  # the ratio if the machine were CPU-bound and a forecast's HTTP handling
            # (server side) cost no more than the no-op's: PostgreSQL and the clients still pay theirs
            floor = h_cpu["server"] + f_cpu["postgres"] + f_cpu["clients"]
            ceiling = round(sum(h_cpu.values()) / floor, 3)
        print(json.dumps({
            "forecasts_per_s": round(forecasts["per_s"], 1),
            "p50_ms": round(forecasts["p50_ms"], 2),
            "p99_ms": round(forecasts["p99_ms"], 2),
            "health_per_s": round(health["per_s"], 1),
            "ratio": round(forecasts["per_s"] / health["per_s"], 3) if health["per_s"] else None,
            "health_p50_ms": round(health["p50_ms"], 2),
            # CPU per request by process group (includes the clients' own pool start-up, ~negligible)
            "cpu_ms_per_forecast": forecasts["cpu_ms"],
            "cpu_ms_per_health": health["cpu_ms"],
            "ratio_ceiling_noop_server_cost": ceiling,
            "clients": args.clients,
            "duration_s": args.duration,
            "markets": args.markets,
            "server": f"gunicorn gthread {args.workers}x{args.threads}",
            "forecast_errors": forecasts["errors"],
            "health_errors": health["errors"],
            "numeric": {
                n: {"forecasts_per_s": round(r["per_s"], 1), "p50_ms": round(r["p50_ms"], 2),
                    "p99_ms": round(r["p99_ms"], 2),
                    "ratio_to_binary": round(r["per_s"] / forecasts["per_s"], 3) if forecasts["per_s"] else None,
                    "cpu_ms_per_forecast": r["cpu_ms"], "errors": r["errors"]}
                for n, r in numeric.items()
            },
            "forecasts_in_db": int(count),
            "reconcile_ok": ok == "True",
            "cpus": os.cpu_count(),
        }))
        return 0
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            try:
                gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, signal.SIGKILL)
                gunicorn.wait()
        if not args.keep_db:
            admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
