"""manage.py populate_factor: runs the real experiments registry (tiny preset) and fills the matrix;
failing setups are reported without stopping the suite."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluator.models import FactorCell

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_list_shows_the_planned_setups_without_running_them():
    out = io.StringIO()
    call_command("populate_factor", "--list", "--concepts", "A", "--tasks", "digits", stdout=out)
    concept, key = out.getvalue().split()
    assert concept == "A" and key.startswith("digits/mlp/") and "steps=150" in key and "width=32" in key
    assert not FactorCell.objects.exists()


def test_a_tiny_setup_is_run_and_recorded():
    out = io.StringIO()
    call_command("populate_factor", "--concepts", "A", "--tasks", "digits", "--device", "cpu", stdout=out,
                 stderr=io.StringIO())
    cell = FactorCell.objects.get()
    assert (cell.concept, cell.task, cell.arch, cell.source) == ("A", "digits", "mlp", "suite")
    assert cell.setup.startswith("digits/mlp/") and "steps=150" in cell.setup  # the trained setting's key
    assert 0.0 <= cell.statistic <= 1.0  # mean pairwise OOD disagreement
    assert "recorded 1 of 1 setups" in out.getvalue()


def test_failing_setups_are_reported_and_the_suite_finishes():
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 of 2 setups failed") as info:
        call_command("populate_factor", "--concepts", "A", "--tasks", "digits,lms", "--seeds", "1",
                     stdout=io.StringIO(), stderr=err)
    assert info.value.returncode == 1
    assert "digits/mlp/tiny: FAILED" in err.getvalue() and "lms/mlp/tiny: FAILED" in err.getvalue()  # invalid spec
    assert not FactorCell.objects.exists()


@pytest.mark.parametrize(("args", "message"), [(["--concepts", "AZ"], "unknown concept"),
                                                (["--tasks", "chess"], "unknown task")])
def test_bad_filters_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("populate_factor", "--list", *args, stdout=io.StringIO(), stderr=io.StringIO())
