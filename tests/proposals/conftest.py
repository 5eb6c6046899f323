"""Fixtures of the proposal tests: the market tests' users and markets."""
from tests.market.conftest import market, other_user, user  # noqa: F401
