"""CSV exports: public data for everyone, a user's own data only for that user, formula-safe cells."""
from __future__ import annotations

import io

import pandas as pd
import pytest

pytestmark = pytest.mark.django_db


def _csv(response) -> pd.DataFrame:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return pd.read_csv(io.StringIO(response.content.decode()), comment="#")


def test_public_exports(client, resolved_markets, factor_cells):
    forecasts = _csv(client.get("/exports/forecasts.csv"))
    assert len(forecasts) == 8 and {"username", "probability_after", "market_outcome"} <= set(forecasts.columns)
    scores = _csv(client.get("/exports/scores.csv"))
    assert {"peer", "baseline", "brier", "log_loss", "forecaster"} <= set(scores.columns)
    assert set(scores["forecaster"]) == {"user", "market_price", "community"}
    matrix = _csv(client.get("/exports/factor.csv"))
    assert len(matrix) == 40 and list(matrix.columns)[:3] == ["setup", "task", "arch"]


def test_exports_defuse_spreadsheet_formulas(client, resolved_markets):
    text = client.get("/exports/forecasts.csv").content.decode()
    assert "'=HYPERLINK" in text
    assert '\n=HYPERLINK' not in text and ',=HYPERLINK' not in text


def test_own_exports_require_login_and_ownership(client, resolved_markets):
    anonymous = client.get("/users/alice/forecasts.csv")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(resolved_markets["bob"])
    assert client.get("/users/alice/forecasts.csv").status_code == 403
    assert client.get("/users/alice/scores.csv").status_code == 403
    mine = _csv(client.get("/users/bob/forecasts.csv"))
    assert set(mine["username"]) == {"bob"} and len(mine) == 2
    scores = _csv(client.get("/users/bob/scores.csv"))
    assert set(scores["username"]) == {"bob"} and set(scores["forecaster"]) == {"user"}


def test_empty_exports_still_have_headers(client, db):
    assert "probability_after" in client.get("/exports/forecasts.csv").content.decode()
    assert "setup" in client.get("/exports/factor.csv").content.decode()
