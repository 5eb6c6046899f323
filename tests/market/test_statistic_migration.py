"""E and G now follow the essay's orientation: old criteria keep their meaning after the migration."""
from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from experiments.concepts import LEGACY_STATISTICS, migrate_criterion
from experiments.decision import COMPARATORS, Criterion, decide

# AUROC values are ratios of pair counts and CKA means are averages, so outcomes sit on fine grids
# and exact ties with a threshold happen (AUROC 48/64 = 0.75). The old rule is evaluated in exact
# arithmetic on 1 − x (the float 1 − 0.8 = 0.19999999999999996 broke such ties by rounding error,
# which no forecaster meant); the new rule is the real ``decide`` on the new statistic x itself.
GRID = sorted({Fraction(k, m) for m in range(1, 65) for k in range(m + 1)})
THRESHOLDS = ("0.2", "0.25", "0.3", "0.5", "0.7", "0.75", "0.8")
HOLDS = {">=": lambda v, t: v >= t, ">": lambda v, t: v > t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}


def _exact_outcome(comparator, threshold, lo, hi):
    ends = [HOLDS[comparator](v, threshold) for v in (lo, hi)]
    return "yes" if all(ends) else "no" if not any(ends) else "more_seeds"


@pytest.mark.parametrize("old_name", sorted(LEGACY_STATISTICS))
@pytest.mark.parametrize("comparator", COMPARATORS)
@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_migrated_criterion_gives_the_same_outcome_for_every_result(old_name, comparator, threshold):
    name, new_cmp, new_thr = migrate_criterion(old_name, comparator, float(threshold))
    assert name == LEGACY_STATISTICS[old_name]
    assert Fraction(str(new_thr)) == 1 - Fraction(threshold)  # 0.8, not 0.8000000000000000444
    new = Criterion(name, new_cmp, new_thr)
    t = Fraction(threshold)
    for x, width in itertools.product(GRID + [1 - t], (Fraction(0), Fraction(1, 100), Fraction(1, 10))):
        lo, hi = max(Fraction(0), x - width), min(Fraction(1), x + width)
        before = _exact_outcome(comparator, t, 1 - hi, 1 - lo)  # reported before as 1 − x, CI [1 − hi, 1 − lo]
        after = decide(criterion=new, statistic=float(x), ci_low=float(lo), ci_high=float(hi), n_seeds=8,
                       seed_budget=16).outcome
        assert before == after, (comparator, threshold, new.describe(), x, width)


def test_current_statistics_are_left_alone_and_bad_criteria_are_refused():
    assert migrate_criterion("dis_ood", ">=", 0.03) == ("dis_ood", ">=", 0.03)
    with pytest.raises(ValueError):
        migrate_criterion("one_minus_cka", "==", 0.5)
    with pytest.raises(ValueError):
        migrate_criterion("one_minus_cka", ">=", float("nan"))


@pytest.mark.django_db(transaction=True)
def test_migration_rewrites_existing_markets_runs_and_factor_cells():
    """Build rows on the schema before the rename, migrate forward, and check each kept its question."""
    before = [("market", "0004_ledger_reversal"), ("experiments", "0001_initial"), ("evaluator", "0001_initial")]
    after = [("market", "0005_statistic_orientation"), ("experiments", "0002_statistic_orientation"),
             ("evaluator", "0002_statistic_orientation")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    user = apps.get_model("auth", "User").objects.create(username="mig")
    market_model = apps.get_model("market", "Market")
    common = {"concept": "E", "spec": {"concept": "E", "task": "lms"}, "spec_sha256": "0" * 64, "confidence": 0.95,
              "close_time": "2030-01-01T00:00:00Z", "created_by": user}
    e = market_model.objects.create(title="E old", question="q", statistic="one_minus_auroc_25", comparator="<=",
                                    threshold=0.2, **common)
    g = market_model.objects.create(title="G old", question="q", statistic="one_minus_cka", comparator=">=",
                                    threshold=0.5, **{**common, "concept": "G"})
    a = market_model.objects.create(title="A", question="q", statistic="dis_ood", comparator=">=", threshold=0.03,
                                    **{**common, "concept": "A"})
    run_model = apps.get_model("experiments", "ExperimentRun")
    run = run_model.objects.create(market_id=e.pk, spec={"concept": "E"}, spec_sha256="0" * 64, statistic_name="one_minus_auroc_25",
                                   statistic=0.15, ci_low=0.1, ci_high=0.25,
                                   criterion={"statistic": "one_minus_auroc_25", "comparator": "<=", "threshold": 0.2})
    cell_model = apps.get_model("evaluator", "FactorCell")
    cell = cell_model.objects.create(setup="lms/mlp/x", task="lms", arch="mlp", concept="G", statistic=0.4,
                                     source="suite")
    keep = cell_model.objects.create(setup="lms/mlp/x", task="lms", arch="mlp", concept="A", statistic=0.4,
                                     source="suite")

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    apps = executor.loader.project_state(after).apps
    market_model = apps.get_model("market", "Market")
    e, g, a = (market_model.objects.get(pk=m.pk) for m in (e, g, a))
    assert (e.statistic, e.comparator, e.threshold) == ("auroc_25", ">=", 0.8)
    assert (g.statistic, g.comparator, g.threshold) == ("cka_early_final", "<=", 0.5)
    assert (a.statistic, a.comparator, a.threshold) == ("dis_ood", ">=", 0.03)
    run = apps.get_model("experiments", "ExperimentRun").objects.get(pk=run.pk)
    assert run.statistic_name == "auroc_25"
    assert (run.statistic, run.ci_low, run.ci_high) == pytest.approx((0.85, 0.75, 0.9))
    assert run.criterion == {"statistic": "auroc_25", "comparator": ">=", "threshold": 0.8}
    cells = apps.get_model("evaluator", "FactorCell").objects
    assert cells.get(pk=cell.pk).statistic == pytest.approx(0.6)
    assert cells.get(pk=keep.pk).statistic == pytest.approx(0.4)

    # and back again (the migrations are reversible)
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    e = apps.get_model("market", "Market").objects.get(pk=e.pk)
    assert (e.statistic, e.comparator, e.threshold) == ("one_minus_auroc_25", "<=", 0.2)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
