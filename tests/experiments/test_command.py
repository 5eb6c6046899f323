"""``manage.py run_experiment`` as users run it: a real subprocess, stdout JSON, exit status 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "manage.py", "run_experiment", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_json_output_and_artifacts(tmp_path):
    done = _run("A", "two_pathway", "--preset", "tiny", "--seeds", "3", "--set", "steps=50",
                "--device", "cpu", "--json", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == {"concept", "task", "arch", "spec", "spec_sha256", "statistic", "ci_low",
                            "ci_high", "details", "per_seed", "provenance"}
    assert set(payload["provenance"]) == {"code_version", "torch_version", "device", "seeds", "wall_seconds",
                                          "started_at"}
    assert payload["spec"]["params"]["steps"] == 50 and payload["provenance"]["device"] == "cpu"
    assert "%" in done.stderr  # the progress bar goes to stderr
    assert json.loads((tmp_path / "result.json").read_text())["statistic"] == payload["statistic"]


def test_bad_spec_exits_with_status_2_naming_the_parameter_and_range():
    done = _run("A", "digits", "--set", "steps=0", "--json")
    assert done.returncode == 2
    assert "params.steps" in done.stderr and "[1, 100000]" in done.stderr and done.stdout == ""


def test_unknown_parameter_is_a_command_error_with_status_2():
    import pytest
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as info:
        call_command("run_experiment", "C", "lms", "--set", "alpha=0.5")
    assert info.value.returncode == 2 and "alpha" in str(info.value) and "n_slab" in str(info.value)
