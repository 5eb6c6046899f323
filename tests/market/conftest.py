import pytest

from tests.market.factories import MarketFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def market(db):
    return MarketFactory()
