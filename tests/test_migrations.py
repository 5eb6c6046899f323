"""Rows survive the split of the apps: a database at the schema of the single-``market`` layout
(market 0005, experiments 0004: runs pointing at their market, proposals inside the market app)
migrates forward with every run still linked to its market and every proposal kept, and back again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

OLD = [("market", "0005_statistic_orientation"), ("experiments", "0004_surveyrow_setup"), ("proposals", None)]
SHA = "ab" * 32


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_schema(transactional_db):
    """The database at the old layout; brought back to the latest migrations afterwards."""
    latest = _latest()
    executor = _migrate(OLD)
    yield executor.loader.project_state(OLD[:2]).apps
    _migrate(latest)


def _old_rows(apps) -> dict:
    User = apps.get_model("auth", "User")
    Market = apps.get_model("market", "Market")
    Run = apps.get_model("experiments", "ExperimentRun")
    Proposal = apps.get_model("market", "Proposal")
    now = timezone.now()
    user = User.objects.create(username="old-timer")
    spec = {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny"}
    market = Market.objects.create(
        title="An old market", concept="A", question="?", spec=spec, spec_sha256=SHA, statistic="dis_ood",
        comparator=">=", threshold=0.1, status="closed", opened_at=now, close_time=now + timedelta(days=1),
        closed_at=now,
    )
    resolution = Run.objects.create(market=market, purpose="resolution", status="failed", spec=spec,
                                    spec_sha256=SHA)
    verify = Run.objects.create(market=market, purpose="verify", verifies=resolution, spec=spec,
                                spec_sha256=SHA, status="succeeded")
    dry = Run.objects.create(purpose="dry_run", spec=spec, spec_sha256=SHA, requested_by=user)
    proposal = Proposal.objects.create(
        proposer=user, concept="A", title="An old proposal", text="*text*", spec=spec, spec_sha256=SHA,
        statistic="dis_ood", comparator=">=", threshold=0.1, close_time=now + timedelta(days=2),
        liquidity=50.0, dry_run=dry,
    )
    return {"market": market.pk, "runs": (resolution.pk, verify.pk, dry.pk), "proposal": proposal.pk,
            "user": user.pk}


def test_runs_stay_linked_and_proposals_stay_put_across_the_split(old_schema):
    ids = _old_rows(old_schema)
    _migrate(_latest())

    from experiments.models import ExperimentRun
    from market import selectors
    from market.models import MarketRun
    from proposals.models import Proposal

    resolution, verify, dry = ids["runs"]
    assert set(MarketRun.objects.values_list("run_id", "market_id")) == {(resolution, ids["market"]),
                                                                        (verify, ids["market"])}
    assert selectors.market_resolution_run(market_id=ids["market"]).pk == resolution
    assert ExperimentRun.objects.get(pk=verify).verifies_id == resolution
    assert not MarketRun.objects.filter(run_id=dry).exists()
    proposal = Proposal.objects.get(pk=ids["proposal"])
    assert (proposal.title, proposal.proposer_id) == ("An old proposal", ids["user"])
    assert proposal.dry_run_id == dry
    assert Proposal._meta.db_table == "market_proposal"


def test_going_back_puts_each_market_id_on_its_run_again(old_schema):
    ids = _old_rows(old_schema)
    _migrate(_latest())
    apps = _migrate(OLD).loader.project_state(OLD[:2]).apps
    Run = apps.get_model("experiments", "ExperimentRun")
    resolution, verify, dry = ids["runs"]
    expected = {resolution: ids["market"], verify: ids["market"], dry: None}
    assert dict(Run.objects.values_list("pk", "market_id")) == expected
    assert apps.get_model("market", "Proposal").objects.get(pk=ids["proposal"]).title == "An old proposal"
