"""/factor/'s summary is warmed after its data changes: one debounced task per burst of survey units."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from evaluator import receivers
from evaluator.selectors import factor_data_version, factor_matrix
from evaluator.tasks import factor_summary_warm_task
from experiments.survey.services import _announce

pytestmark = pytest.mark.django_db


def test_a_burst_of_finished_units_sends_one_warm_up(monkeypatch):
    cache.clear()
    sent = []
    monkeypatch.setattr(factor_summary_warm_task, "apply_async", lambda **kw: sent.append(kw))
    for row in range(5):  # five units of a campaign finish together
        _announce(1, row, "done")
    assert sent == [{"countdown": receivers.WARM_DELAY_SECONDS}]
    cache.delete("evaluator:factor:warm-pending")  # the window has passed
    _announce(1, 5, "done")
    assert len(sent) == 2


def test_the_warm_task_caches_the_summary_of_the_current_data(monkeypatch):
    from evaluator import selectors

    cache.clear()
    assert factor_summary_warm_task() == factor_data_version(factor_matrix())

    def no_recompute(*args, **kwargs):
        raise AssertionError("the summary should come from the cache")

    monkeypatch.setattr(selectors, "factor_report", no_recompute)
    assert selectors.factor_summary()["data_version"] == factor_data_version(factor_matrix())
