"""Shared fixtures: real services (Redis, PostgreSQL, Chromium) and small helpers.

A missing service skips the tests that need it on a developer machine, and fails them when
PATHMARKET_REQUIRE_SERVICES=1 (CI), so CI can never go green by silently skipping.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("PATHMARKET_REQUIRE_SERVICES") == "1"

# One torch thread per test process: on a 2-core machine two threads contend with the live server,
# the Celery worker subprocesses and PostgreSQL, and ran ~30x slower under load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard requirement, but keep conftest importable
    pass
ROOT = Path(__file__).resolve().parent.parent
# Chromium flags for this sandbox: no GPU, no sandbox (root), no background traffic to the outside.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def missing_service(what: str) -> None:
    """Skip locally, fail in CI."""
    message = f"{what} is not available"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and PATHMARKET_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_ping(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis: $REDIS_URL if it answers, else a private redis-server on a free port."""
    url = os.environ.get("REDIS_URL")
    if url and _redis_ping(url):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("Redis (set REDIS_URL or install redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="pathmarket-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _redis_ping(url):
        if time.monotonic() > deadline:
            proc.kill()
            missing_service("Redis (redis-server did not start)")
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def require_postgres(django_db_blocker) -> None:
    """The test needs the default database to be a real PostgreSQL (DATABASE_URL=postgres://…)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        missing_service("PostgreSQL (set DATABASE_URL=postgres://…)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = (os.environ.get("PATHMARKET_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))
    if not path or not Path(path).exists():
        missing_service("Debian's chromium")
    return path


@pytest.fixture
def browser(chromium_path: str) -> Iterator[object]:
    """A Playwright browser driving Debian's chromium (never a downloaded browser build)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API refuses to run inside a thread with a running event loop; Django's
    # async-unsafe checks must also be relaxed for the live server running alongside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    # While Playwright runs, Django's context-local connection handler gives the test body other
    # wrappers than the ones that built the test database (same thread, another context), and
    # close_all() only reaches the current context's: close them here, and the test body's in
    # ``page``, or an idle connection keeps the test database from being dropped at the end.
    connections.close_all()
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
        from django.db import connections

        connections.close_all()  # the test body's connections (see ``browser``)
