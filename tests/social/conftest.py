import pytest
from django.core.cache import cache

from tests.market.factories import MarketFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def market(db):
    return MarketFactory()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # rate-limit counters live in the cache (Redis under REDIS_URL)
    yield
    cache.clear()
