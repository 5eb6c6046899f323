"""Bad input, table-driven: every case gets a clear 4xx JSON error and changes nothing in the database.

Covers the forecast and proposal endpoints (the ones that write) and a few read endpoints with bad
queries: NaN, ±inf, strings, lists and out-of-range probabilities; huge or negative seeds, steps and
widths; unknown registry names; oversized and malformed bodies; missing fields.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from experiments.models import ExperimentRun
from market.models import Account, Forecast, LedgerEntry, Market, Position
from proposals.models import Proposal
from proposals.services import proposal_create
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client, with_params, with_spec

pytestmark = pytest.mark.django_db

FORECASTS = "/api/v1/markets/{market}/forecasts/"
PROPOSALS = "/api/v1/proposals/"
BIG = 300 * 1024  # above DATA_UPLOAD_MAX_MEMORY_SIZE (256 KiB)


@dataclass(frozen=True)
class Case:
    id: str
    url: str
    body: object = None  # JSON-encoded unless ``raw`` is set
    raw: str | None = None
    status: int = 400
    field: str | None = None  # expected key of "errors"
    content_type: str = "application/json"
    method: str = "post"
    anonymous: bool = False


def raw_json(body: dict, **replace: str) -> str:
    """JSON text with some values replaced by raw tokens such as NaN or Infinity."""
    text = json.dumps(body)
    for key, token in replace.items():
        text = text.replace(f'"{key}": "@@"', f'"{key}": {token}')
    return text


def proposal_raw(**tokens: str) -> str:
    return raw_json(proposal_body(**{k: "@@" for k in tokens}), **tokens)


CASES = [
    # --- forecasts: the probability -------------------------------------------------------------
    Case("probability-nan", FORECASTS, raw='{"probability": NaN}', field="probability"),
    Case("probability-inf", FORECASTS, raw='{"probability": Infinity}', field="probability"),
    Case("probability-minus-inf", FORECASTS, raw='{"probability": -Infinity}', field="probability"),
    Case("probability-overflow", FORECASTS, raw='{"probability": 1e999}', field="probability"),
    Case("probability-string", FORECASTS, {"probability": "0.6"}, field="probability"),
    Case("probability-word", FORECASTS, {"probability": "sixty percent"}, field="probability"),
    Case("probability-list", FORECASTS, {"probability": [0.6]}, field="probability"),
    Case("probability-object", FORECASTS, {"probability": {"value": 0.6}}, field="probability"),
    Case("probability-bool", FORECASTS, {"probability": True}, field="probability"),
    Case("probability-null", FORECASTS, {"probability": None}, field="probability"),
    Case("probability-zero", FORECASTS, {"probability": 0}, field="probability"),
    Case("probability-one", FORECASTS, {"probability": 1}, field="probability"),
    Case("probability-above-one", FORECASTS, {"probability": 1.5}, field="probability"),
    Case("probability-negative", FORECASTS, {"probability": -0.2}, field="probability"),
    Case("probability-below-min", FORECASTS, {"probability": 0.001}, field="probability"),
    Case("probability-missing", FORECASTS, {}, field="probability"),
    Case("forecast-dry-run-list", FORECASTS, {"probability": 0.6, "dry_run": [1]}, field="dry_run"),
    Case("forecast-malformed-json", FORECASTS, raw='{"probability": 0.6', status=400),
    Case("forecast-body-is-a-list", FORECASTS, raw="[0.6]", status=400),
    Case("forecast-empty-body", FORECASTS, raw="", field="probability"),
    Case("forecast-oversized-body", FORECASTS, raw=json.dumps({"probability": 0.6, "pad": "x" * BIG}), status=413),
    Case("forecast-deeply-nested-json", FORECASTS, raw="[" * 100_000 + "]" * 100_000, status=400),
    Case("forecast-text-plain", FORECASTS, raw="probability=0.6", content_type="text/plain", status=415),
    Case("forecast-unknown-market", "/api/v1/markets/999999/forecasts/", {"probability": 0.6}, status=404),
    Case("forecast-anonymous", FORECASTS, {"probability": 0.6}, status=401, anonymous=True),
    # --- proposals: spec bounds and registry names ------------------------------------------------
    Case("seeds-huge", PROPOSALS, with_spec(seeds=10**6), field="spec.seeds"),
    Case("seeds-astronomical", PROPOSALS, with_spec(seeds=10**400), field="spec.seeds"),
    Case("seeds-negative", PROPOSALS, with_spec(seeds=-4), field="spec.seeds"),
    Case("seeds-string", PROPOSALS, with_spec(seeds="many"), field="spec.seeds"),
    Case("seeds-float", PROPOSALS, with_spec(seeds=8.5), field="spec.seeds"),
    Case("seed-budget-below-seeds", PROPOSALS, with_spec(seeds=8, seed_budget=4), field="spec.seed_budget"),
    Case("steps-huge", PROPOSALS, with_params(steps=10**12), field="spec.params.steps"),
    Case("steps-negative", PROPOSALS, with_params(steps=-5), field="spec.params.steps"),
    Case("steps-nan", PROPOSALS, raw=raw_json(with_params(steps="@@"), steps="NaN"), field="spec.params.steps"),
    Case("width-huge", PROPOSALS, with_params(width=10**9), field="spec.params.width"),
    Case("width-zero", PROPOSALS, with_params(width=0), field="spec.params.width"),
    Case("lr-infinite", PROPOSALS, raw=raw_json(with_params(lr="@@"), lr="Infinity"), field="spec.params.lr"),
    Case("unknown-concept", PROPOSALS, proposal_body(concept="Z"), field="concept"),
    Case("unknown-task", PROPOSALS, with_spec(task="imagenet"), field="spec.task"),
    Case("unknown-arch", PROPOSALS, with_spec(arch="resnet152"), field="spec.arch"),
    Case("unknown-preset", PROPOSALS, with_spec(preset="huge"), field="spec.preset"),
    Case("unknown-param", PROPOSALS, with_params(dropout=0.5), field="spec.params.dropout"),
    Case("unknown-spec-key", PROPOSALS, with_spec(module="os"), field="spec.module"),
    Case("unknown-optimizer", PROPOSALS, with_params(optimizer="lbfgs"), field="spec.params.optimizer"),
    Case("compute-over-cap", PROPOSALS,
         with_spec(seeds=256, seed_budget=256, preset="default", params={"steps": 100_000, "width": 2048}),
         field="spec.cost"),
    # --- proposals: the other fields ---------------------------------------------------------------
    Case("threshold-nan", PROPOSALS, raw=proposal_raw(threshold="NaN"), field="threshold"),
    Case("threshold-inf", PROPOSALS, raw=proposal_raw(threshold="-Infinity"), field="threshold"),
    Case("threshold-string", PROPOSALS, proposal_body(threshold="0.03"), field="threshold"),
    Case("threshold-list", PROPOSALS, proposal_body(threshold=[0.03]), field="threshold"),
    Case("comparator-unknown", PROPOSALS, proposal_body(comparator="!="), field="comparator"),
    Case("statistic-wrong", PROPOSALS, proposal_body(statistic="accuracy"), field="statistic"),
    Case("close-time-past", PROPOSALS, proposal_body(close_time="2001-01-01T00:00:00Z"), field="close_time"),
    Case("close-time-garbage", PROPOSALS, proposal_body(close_time="next tuesday"), field="close_time"),
    Case("close-time-number", PROPOSALS, proposal_body(close_time=1700000000), field="close_time"),
    Case("liquidity-huge", PROPOSALS, proposal_body(liquidity=1e12), field="liquidity"),
    Case("liquidity-negative", PROPOSALS, proposal_body(liquidity=-100), field="liquidity"),
    Case("title-too-long", PROPOSALS, proposal_body(title="t" * 5000), field="title"),
    Case("text-too-long", PROPOSALS, proposal_body(text="x" * 25_000), field="text"),
    Case("text-pathological-markdown", PROPOSALS, proposal_body(text="[" * 5000), field="text"),
    Case("title-unpaired-surrogate", PROPOSALS, proposal_body(title="A title with \ud800 in it"), field="title"),
    Case("param-name-unpaired-surrogate", PROPOSALS, with_params(**{"\udc00": 1}), field="spec.params.\\udc00"),
    Case("title-object", PROPOSALS, proposal_body(title={"$ne": ""}), field="title"),
    Case("spec-null", PROPOSALS, proposal_body(spec=None), field="spec"),
    Case("spec-string", PROPOSALS, proposal_body(spec="A/digits/mlp"), field="spec"),
    Case("proposal-acting-for-someone-else", PROPOSALS, proposal_body(proposer=1), field="proposer"),
    Case("proposal-missing-everything", PROPOSALS, {}, field="spec"),
    Case("proposal-body-is-a-list", PROPOSALS, [proposal_body()], field="non_field_errors"),
    Case("proposal-malformed-json", PROPOSALS, raw='{"concept": "A",', status=400),
    Case("proposal-deeply-nested-spec", PROPOSALS,
         raw=json.dumps(with_params(steps="@@")).replace('"@@"', "[" * 50_000 + "]" * 50_000), status=400),
    Case("proposal-oversized-body", PROPOSALS, proposal_body(text="x" * BIG), status=413),
    Case("proposal-form-encoded", PROPOSALS, raw="concept=A", content_type="application/x-www-form-urlencoded",
         status=415),
    # --- read endpoints with bad queries -----------------------------------------------------------
    Case("markets-bad-concept", "/api/v1/markets/?concept=Z", method="get", field="concept"),
    Case("markets-bad-status", "/api/v1/markets/?status=<script>", method="get", field="status"),
    Case("markets-page-out-of-range", "/api/v1/markets/?page=9999", method="get", status=404),
    Case("runs-bad-market", "/api/v1/runs/?market=abc", method="get", field="market"),
    Case("proposals-bad-status", "/api/v1/proposals/?status=all", method="get", field="status"),
    Case("leaderboard-bad-concept", "/api/v1/leaderboard/?concept=Q", method="get", status=400),
    Case("token-list-username", "/api/v1/auth/token/", {"username": ["a"], "password": "x"}, anonymous=True),
    Case("token-surrogate-username", "/api/v1/auth/token/", {"username": "\ud800", "password": "x"}, anonymous=True,
         field="username"),
]


def snapshot() -> dict:
    """Everything a bad request must leave as it was."""
    return {
        "forecasts": Forecast.objects.count(),
        "positions": list(Position.objects.order_by("pk").values_list("pk", "shares_yes", "shares_no")),
        "ledger": LedgerEntry.objects.count(),
        "balances": list(Account.objects.order_by("pk").values_list("pk", "balance")),
        "markets": list(Market.objects.order_by("pk").values_list("pk", "q_yes", "q_no", "status")),
        "proposals": Proposal.objects.count(),
        "runs": ExperimentRun.objects.count(),
    }


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_cleanly(case: Case):
    user = UserFactory()
    market = MarketFactory()
    proposal_create(proposer=user, data=proposal_body())  # something for the proposal queries to see
    client = token_client(user)
    if case.anonymous:
        client.credentials()
    url = case.url.format(market=market.pk)
    before = snapshot()
    if case.method == "get":
        response = client.get(url)
    else:
        payload = case.raw if case.raw is not None else json.dumps(case.body)
        response = client.generic("POST", url, payload.encode(), content_type=case.content_type)
    assert response.status_code == case.status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), body
    if case.field is not None:
        assert case.field in body.get("errors", {}), body
        assert all(isinstance(m, str) and m for m in body["errors"][case.field]), body
    assert snapshot() == before
