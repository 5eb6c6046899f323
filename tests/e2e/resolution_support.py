"""Real Celery workers for the end-to-end resolution tests: subprocesses on a real Redis broker that
share the pytest-django test database (PostgreSQL test DB, or the SQLite TEST file)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url_of_test_db() -> str:
    """DATABASE_URL that points a subprocess at the database this test is using."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{db['NAME']}"
    raise RuntimeError(f"unsupported database vendor {connection.vendor}")


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.25,
             logs: list[Path] = ()) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tails = "\n".join(f"--- {p.name} ---\n{p.read_text()[-4000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


class Workers:
    """Starts worker subprocesses and kills them (whole process groups) at teardown."""

    def __init__(self, env: dict[str, str], log_dir: Path, redis_url: str, prefix: str) -> None:
        self.env, self.log_dir, self.redis_url, self.prefix = env, log_dir, redis_url, prefix
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, name: str, *, concurrency: int = 2) -> subprocess.Popen:
        log = self.log_dir / f"worker-{name}.log"
        self.logs.append(log)
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,gpu",
               "--concurrency", str(concurrency), "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
               "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs.append(proc)
        wait_for(lambda: "ready." in log.read_text() or proc.poll() is not None, timeout=120,
                 what=f"worker {name} to start", logs=[log])
        assert proc.poll() is None, log.read_text()[-4000:]
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children: no warm shutdown, nothing acknowledged."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def client(self):
        """A Celery app of the test process talking to the same Redis (sends tasks, reads results)."""
        from celery import Celery

        app = Celery("e2e-client", broker=self.redis_url, backend=self.redis_url, set_as_current=False)
        app.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        app.conf.result_backend_transport_options = {"global_keyprefix": self.prefix}
        return app


@pytest.fixture
def workers(redis_url, transactional_db, tmp_path) -> Iterator[Workers]:
    prefix = f"pathmarket-e2e-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_of_test_db(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CELERY_KEY_PREFIX": prefix,
        "CELERY_VISIBILITY_TIMEOUT": "8",  # seconds before a dead worker's tasks are handed out again
        "PATHMARKET_SEED_CHUNK_SIZE": "2",
        "PATHMARKET_TASK_RETRY_BACKOFF": "1",
        "PATHMARKET_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    pool = Workers(env, tmp_path, redis_url, prefix)
    try:
        yield pool
    finally:
        pool.stop_all()
        try:
            import redis

            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
        except Exception:  # noqa: BLE001 - best-effort cleanup of a test's own keys
            pass
