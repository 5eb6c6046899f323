"""Property-based run of the whole API against its own OpenAPI schema (/api/v1/schema/): schemathesis
generates valid and invalid requests for every operation and the server must never answer 5xx.

It calls the Django WSGI app in-process (no server), as a staff user so the staff-only actions are
exercised past their permission check, with a bounded number of examples per operation.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from experiments.models import ExperimentRun
from market.services import forecast_place, market_close
from proposals.services import proposal_create
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client

pytestmark = [pytest.mark.django_db]

# Examples per operation and kind: valid requests aimed at real rows, valid requests with generated ids,
# and invalid requests (≈ 10 s in all).
PLAN = [("real ids", GenerationMode.POSITIVE, 8), ("any ids", GenerationMode.POSITIVE, 4),
        ("invalid", GenerationMode.NEGATIVE, 5)]


@pytest.fixture
def seeded(db) -> dict:
    """A little of everything: an open market with a trade, a closed one whose run failed, a pending
    proposal; the ids of these rows are put into the paths of the "real ids" examples."""
    staff = UserFactory(is_staff=True, username="schema-staff")
    market = MarketFactory()
    forecast_place(user=staff, market=market, probability=0.6)
    closed = MarketFactory()
    market_close(market=closed)
    run = ExperimentRun.objects.get(market_link__market=closed)
    ExperimentRun.objects.filter(pk=run.pk).update(status=ExperimentRun.Status.FAILED, error="boom")
    proposal = proposal_create(proposer=staff, data=proposal_body())
    return {
        "headers": {"Authorization": token_client(staff)._credentials["HTTP_AUTHORIZATION"]},
        "ids": {"markets": market.pk, "proposals": proposal.pk, "runs": run.pk},
        "username": staff.username,
    }


def real_path_parameters(path: str, seeded: dict) -> dict:
    params = {}
    if "{id}" in path:
        resource = path.removeprefix("/api/v1/").split("/")[0]
        params["id"] = seeded["ids"].get(resource, 1)
    if "{username}" in path:
        params["username"] = seeded["username"]
    return params


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The project's WSGI app, kept off the per-request connection closing (as Django's test client does),
    so that its requests run inside the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_no_generated_request_gets_a_server_error(seeded, wsgi_app):
    app = wsgi_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1
        for kind, mode, count in PLAN:
            fixed = real_path_parameters(operation.path, seeded) if kind == "real ids" else {}
            if kind == "real ids" and not fixed:
                continue  # no path parameters: "any ids" covers it

            @settings(max_examples=count, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
            def check(case) -> None:
                response = case.call(headers=seeded["headers"])
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.body!r:.300} → {response.status_code}")

            try:
                check()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing invalid to send (an operation without inputs)
    assert operations >= 15  # the schema really lists the API
    assert failures == [], "\n".join(failures[:20])
