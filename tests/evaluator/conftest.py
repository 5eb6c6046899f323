import numpy as np
import pytest
from django.core.cache import cache

from evaluator.factor import CONCEPTS
from evaluator.services import factor_record
from tests.evaluator.factories import forecast, make_market, make_user, resolve


@pytest.fixture(autouse=True)
def _small_bootstraps(settings):
    """Keep the page/API tests fast; the maths defaults (2,000 / 1,000) are tested in test_factor.py."""
    settings.PATHMARKET = {**settings.PATHMARKET, "FACTOR_BOOTSTRAP": 200, "FACTOR_NULL": 200,
                           "LEADERBOARD_BOOTSTRAP": 200}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resolved_markets(db):
    """Three resolved markets (concepts A, A, C) with three forecasters; one title is hostile HTML."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    specs = [
        ("A", "yes", "<script>alert('x')</script> seeds", [(alice, 0.8, 0), (bob, 0.3, 2), (carol, 0.6, 4)]),
        ("A", "no", "=HYPERLINK(\"http://evil\") order", [(alice, 0.2, 1), (bob, 0.7, 1), (alice, 0.1, 6)]),
        ("C", "yes", "Two clusters of solutions", [(alice, 0.9, 0), (carol, 0.4, 3)]),
    ]
    markets = []
    for concept, outcome, title, trades in specs:
        m = make_market(title=title, concept=concept)
        for user, p, h in trades:
            forecast(m, user, p, hours=h)
        markets.append(resolve(m, outcome))
    return {"alice": alice, "bob": bob, "carol": carol, "markets": markets}


@pytest.fixture
def factor_cells(db):
    """40 setups drawn from a one-factor model, with a few cells missing."""
    rng = np.random.default_rng(0)
    loadings = np.array([0.8, 0.7, 0.6, 0.75, 0.5, 0.65, 0.7, 0.6])
    x = rng.normal(size=(40, 1)) * loadings + rng.normal(size=(40, 8)) * np.sqrt(1 - loadings**2)
    for i in range(40):
        for j, concept in enumerate(CONCEPTS):
            if (i + j) % 13 == 0:
                continue
            factor_record(setup=f"task{i % 5}/mlp/setting{i}", task=f"task{i % 5}", arch="mlp",
                          concept=concept, statistic=float(x[i, j]), run_id=None, source="suite")
    return x
