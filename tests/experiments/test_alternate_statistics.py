"""Alternate resolving statistics (docs/protocols.md, "Alternate statistics"): protocol A reports
``behaviour_sd`` and ``cka_distance`` beside its headline ``dis_ood``, each with a percentile bootstrap
CI over seeds, and a market that names one resolves on it."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from experiments import registry, services
from experiments.decision import Criterion, decide
from experiments.models import ExperimentRun
from experiments.protocols.base import Protocol, Result, register_protocol
from experiments.protocols.variance import Variance, sd_ddof1
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import TINY_SPEC

eager_celery = pipeline_support.eager_celery  # fixture

BEHAVIOUR = [0.2, 0.4, 0.6, 0.8, 1.0]


def grokked_outputs(behaviour=BEHAVIOUR, *, same_reps: bool = True) -> list[dict]:
    """Seeds that predict every class alike (Dis_OOD = Dis_ID = 0) but end at different behaviours."""
    rng = np.random.default_rng(7)
    shared_rep = rng.normal(size=(16, 6)).astype(np.float32)
    pred = np.arange(20, dtype=np.int32) % 5
    return [
        {"seed": seed, "behaviour": b, "id_acc": 1.0, "ood_acc": 1.0, "pred_id": pred.copy(),
         "pred_ood": pred.copy(),
         "rep": shared_rep.copy() if same_reps else rng.normal(size=(16, 6)).astype(np.float32)}
        for seed, b in enumerate(behaviour)
    ]


def reference_sd_ci(values, *, n_boot: int, confidence: float, seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap of the SD written out: resample seeds with replacement, SD (ddof=1)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(values), size=(n_boot, len(values)))
    stats = [np.std(values[d], ddof=1) for d in draws]
    low, high = np.quantile(stats, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def test_behaviour_sd_and_its_ci_on_hand_made_outputs_while_the_headline_stays_dis_ood():
    config = Variance.Config(task="modadd", arch="transformer", n_boot=400, confidence=0.9)
    _, result = registry.get_protocol("A").summarize(config, grokked_outputs())
    # the headline is unchanged: every seed predicts alike, so Dis_OOD and its CI are 0
    headline = (result.statistic_name, result.statistic, result.ci_low, result.ci_high)
    assert headline == ("dis_ood", 0.0, 0.0, 0.0)
    assert result.resolving("dis_ood") == result.resolving("") == (0.0, 0.0, 0.0)
    value, low, high = result.resolving("behaviour_sd")
    assert value == pytest.approx(np.std(BEHAVIOUR, ddof=1)) == pytest.approx(0.316227766)
    assert (low, high) == pytest.approx(reference_sd_ci(BEHAVIOUR, n_boot=400, confidence=0.9))
    assert 0.0 < low < value < high
    # identical representations: CKA 1, so the representation distance and its CI are 0
    assert result.resolving("cka_distance") == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    assert result.details["alternates"]["behaviour_sd"] == {"value": value, "ci_low": low, "ci_high": high}
    assert result.details["behaviour_sd"] == value  # by name too, as details["dis_ood"]
    assert result.details["behaviour_spread"]["std"] == pytest.approx(value)
    with pytest.raises(KeyError, match="behaviour_iqr"):
        result.resolving("behaviour_iqr")


def test_cka_distance_grows_when_the_representations_differ():
    config = Variance.Config(task="modadd", arch="transformer", n_boot=200)
    _, same = registry.get_protocol("A").summarize(config, grokked_outputs())
    _, differ = registry.get_protocol("A").summarize(config, grokked_outputs(same_reps=False))
    value, low, high = differ.resolving("cka_distance")
    assert value == pytest.approx(1.0 - differ.details["cka_mean"])
    assert low <= value <= high and value > same.resolving("cka_distance")[0] + 0.1


def test_equal_behaviours_give_a_zero_sd_and_a_single_seed_no_spread():
    assert sd_ddof1(np.array([0.5, 0.5, 0.5])) == 0.0
    assert sd_ddof1(np.array([0.5])) == 0.0
    assert np.allclose(sd_ddof1(np.array([[1.0, 3.0], [2.0, 2.0]])), [np.sqrt(2.0), 0.0])


def test_the_registry_lists_the_headline_first_then_the_alternates():
    assert registry.statistic_names("A") == ("dis_ood", "behaviour_sd", "cka_distance")
    assert registry.statistic_names("B") == ("dis_ratio",)
    assert registry.statistic_name("A") == "dis_ood"  # the default is still the headline
    described = registry.get_protocol("A").alternate_statistics
    assert all("higher" in text and "path-dependent" in text for text in described.values())


def test_an_alternate_cannot_reuse_the_headline_name():
    class Broken(Protocol):
        concept = "A"
        alternate_statistics = {"dis_ood": "the headline again"}

    with pytest.raises(ValueError, match="headline"):
        register_protocol(Broken)
    assert type(registry.get_protocol("A")) is Variance  # the real protocol is still registered


def test_the_decision_reads_the_alternate_it_is_handed():
    result = Result(0.0, 0.0, 0.0, {}, "dis_ood", {"behaviour_sd": (0.19, 0.08, 0.24)})
    criterion = Criterion("behaviour_sd", ">=", 0.05)
    yes = decide(criterion=criterion, **dict(zip(("statistic", "ci_low", "ci_high"),
                                                 result.resolving("behaviour_sd"), strict=True)),
                 n_seeds=8, seed_budget=16)
    headline = decide(criterion=criterion, statistic=0.0, ci_low=0.0, ci_high=0.0, n_seeds=8, seed_budget=16)
    assert (yes.outcome, headline.outcome) == ("yes", "no")
    assert "behaviour_sd >= 0.05" in yes.reason


@pytest.mark.django_db
def test_a_run_whose_criterion_names_an_alternate_resolves_on_it(
    eager_celery, django_capture_on_commit_callbacks
):
    from market.services import market_close, market_open

    spec = {**TINY_SPEC, "seeds": 3, "seed_budget": 3, "params": {"steps": 60}}
    market = market_open(
        title="tiny digits behaviour spread", concept="A", question="Do the seeds' behaviours spread?",
        spec=spec, statistic="behaviour_sd", comparator=">=", threshold=0.0,
        close_time=timezone.now() + timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market, purpose="resolution")
    assert run.status == "succeeded", run.error
    assert run.criterion["statistic"] == "behaviour_sd"
    alternate = run.result["details"]["alternates"]["behaviour_sd"]
    # the run's statistic is the market's: the alternate's value and CI, under its name …
    assert run.statistic_name == "behaviour_sd"
    assert (run.statistic, run.ci_low, run.ci_high) == (alternate["value"], alternate["ci_low"],
                                                        alternate["ci_high"])
    last = run.history[-1]
    assert last["statistic_name"] == "behaviour_sd" and last["statistic"] == run.statistic
    # … decided by the rule on those numbers (an SD's CI never lies below 0, so YES) …
    expected = decide(criterion=Criterion.from_dict(run.criterion), statistic=run.statistic,
                      ci_low=run.ci_low, ci_high=run.ci_high, n_seeds=3, seed_budget=3)
    assert expected.outcome == "yes"
    assert (run.decision, run.decision_reason) == (expected.outcome, expected.reason)
    assert "behaviour_sd" in run.decision_reason
    # … while result.json keeps the headline dis_ood, as for every run of concept A
    assert run.result["statistic"] == run.result["details"]["dis_ood"]
    market.refresh_from_db()
    assert (market.status, market.outcome) == ("resolved", "yes")


@pytest.mark.django_db
def test_a_run_on_the_headline_still_resolves_on_dis_ood(eager_celery, django_capture_on_commit_callbacks):
    criterion = {"statistic": "dis_ood", "comparator": ">=", "threshold": 0.0, "confidence": 0.95}
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_enqueue(spec={**TINY_SPEC, "seeds": 2, "seed_budget": 2, "params": {"steps": 60}},
                                   purpose="verify", criterion=criterion)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.statistic_name == "dis_ood" and run.statistic == run.result["statistic"]
    assert (run.ci_low, run.ci_high) == (run.result["ci_low"], run.result["ci_high"])
