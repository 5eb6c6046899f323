"""Deployment: production settings pass `check --deploy`, and docker-compose.yml has the agreed shape
(docs/pipeline.md, "Production stack"). There is no Docker engine here, so the compose file is validated
structurally."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service: str) -> str:
    command = SERVICES[service]["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_production_settings_pass_check_deploy_without_warnings():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "kq3-Zt8_vW1x-Ry7pL0m2NbV5cX9sD4fG6hJ8kL1qW3eR5tY7uI9oP2aS4dF6gH8",
        "DJANGO_ALLOWED_HOSTS": "pathmarket.example.org",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://pathmarket.example.org",
        "DATABASE_URL": "postgres://pathmarket:secret@db.internal:5432/pathmarket",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/1",
        "CELERY_RESULT_BACKEND": "redis://redis.internal:6379/2",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout and "WARNING" not in proc.stdout + proc.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    env["DJANGO_ALLOWED_HOSTS"] = "pathmarket.example.org"
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "DJANGO_SECRET_KEY" in proc.stderr


def test_compose_has_the_six_services_of_the_design_plus_a_migration_step():
    assert {"web", "worker", "worker-gpu", "beat", "redis", "postgres"} <= set(SERVICES)
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"


def test_web_serves_with_gunicorn_and_whitenoise():
    assert "gunicorn" in _command("web") and "config.wsgi" in _command("web")
    from django.conf import settings

    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    assert SERVICES["web"]["ports"]


def test_workers_split_the_queues_and_the_gpu_worker_reserves_an_nvidia_gpu():
    assert re.search(r"-Q default\b", _command("worker"))
    gpu = SERVICES["worker-gpu"]
    assert re.search(r"-Q gpu\b", _command("worker-gpu"))
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    dockerfile = ROOT / gpu["build"]["dockerfile"]
    text = dockerfile.read_text()
    assert "cuda" in text.lower() and "grep -v '^torch=='" in text  # CUDA torch comes from the base image
    assert "celery" in _command("beat") and " beat" in _command("beat")


def test_every_service_of_the_app_talks_to_redis_and_postgres_from_the_environment():
    for name in ("web", "worker", "worker-gpu", "beat"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert env["CELERY_BROKER_URL"].startswith("redis://"), name
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
    assert SERVICES["postgres"]["image"].startswith("postgres")
    assert SERVICES["redis"]["image"].startswith("redis")


def test_every_variable_the_compose_file_reads_is_documented_in_env_example():
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set()
    # Secrets have no default: compose refuses to start without them.
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"):
        assert "${" + secret + ":?" in text
