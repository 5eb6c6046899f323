#!/usr/bin/env bash
# `make run`: migrate SQLite, seed the A–H markets and a demo account, then serve the site and run a
# Celery worker (with embedded beat) on the filesystem:// broker. Ctrl-C stops both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=config.settings.local

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_markets
"$PY" manage.py survey load  # the shipped survey dataset (data/survey/), so /factor/ shows a real estimate

worker_pid=""
web_pid=""
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping web server and worker…"
  [ -n "$web_pid" ] && kill -TERM "$web_pid" 2>/dev/null || true
  [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped."
}
trap stop INT TERM EXIT

mkdir -p var/log
"$PY" -m celery -A config worker -B -Q default,gpu --concurrency 2 --loglevel INFO \
  --schedule var/celerybeat-schedule >var/log/worker.log 2>&1 &
worker_pid=$!
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
web_pid=$!

cat <<MSG

  pathmarket is running at  http://$HOST:$PORT/
  demo login:               username "demo", password "demo-pass-2026"
  staff login:              username "admin", password "admin-pass-2026"
  API docs:                 http://$HOST:$PORT/api/v1/docs/
  worker log:               var/log/worker.log
  Press Ctrl-C to stop the web server and the worker.

MSG
wait -n "$worker_pid" "$web_pid" || true
