"""Writes of the evaluator: stores scores, the community series and the general-factor matrix.

:func:`market_scores_recompute` runs in the Celery task ``evaluator.tasks.market_scores_recompute_task``,
sent after the commit of every resolution, re-resolution and annulment (``evaluator.receivers``);
the resolution app calls :func:`factor_record` when a run settles its market. The maths is in the
pure modules (``scoring``, ``time_averaged``, ``community``, ``calibration``, ``factor``).
"""
from __future__ import annotations

import logging
import math

from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluator.models import CommunityPoint, FactorCell, FactorSource, ForecasterKind, Score, ScoreKind
from evaluator.time_averaged import reference_scores, time_averaged_scores
from experiments.concepts import LETTERS
from market.community import community_series as community_series_math
from market.models import Forecast, Market, MarketStatus, Outcome

logger = logging.getLogger(__name__)

__all__ = ["factor_record", "market_scores_recompute"]


def _window(market) -> tuple | None:
    """The open window ``[opened_at, min(close_time, closed_at))`` in which forecasts count."""
    start = market.opened_at or market.created_at
    end = market.close_time
    if market.closed_at is not None and market.closed_at < end:
        end = market.closed_at
    if start is None or end is None or end <= start:
        return None
    return start, end


def _score_rows(*, market, forecaster: str, user_id: int | None, scores: dict, n_forecasts: int,
                outcome: bool) -> list[Score]:
    common = dict(
        market=market, forecaster=forecaster, user_id=user_id, coverage=min(max(scores["coverage"], 0.0), 1.0),
        probability=scores["last_probability"], outcome=outcome, n_forecasts=n_forecasts,
        concept=market.concept, resolved_at=market.resolved_at,
    )
    values = {
        ScoreKind.BASELINE: scores["baseline_score"],
        ScoreKind.PEER: scores["peer_score"],
        ScoreKind.BRIER: scores["brier_last"],
        ScoreKind.LOG_LOSS: scores["log_loss_last"],
    }
    return [Score(kind=kind, value=float(v), **common) for kind, v in values.items() if math.isfinite(v)]


def market_scores_recompute(*, market_id: int) -> int:
    """Delete and re-create every Score row (and the community series) of one market, atomically.
    Idempotent: run it again (the task is retried) and the same rows come out.

    Users, the LMSR price and the community aggregate are each scored on the time-averaged
    baseline and peer scores and on the Brier score and log loss of their last forecast before close.

    Parameters
    ----------
    market_id : int

    Returns
    -------
    int
        Score rows written: 0 for an annulled or unresolved market (whose rows are all removed).
    """

    with transaction.atomic():
        market = Market.objects.select_for_update(of=("self",)).get(pk=market_id)
        Score.objects.filter(market=market).delete()
        CommunityPoint.objects.filter(market=market).delete()
        if market.status == MarketStatus.RESOLVED and market.kind == "numeric":
            return _numeric_scores_recompute(market)
        if market.status != MarketStatus.RESOLVED or market.outcome not in Outcome.values:
            return 0
        outcome = market.outcome == Outcome.YES
        forecasts = list(
            Forecast.objects.filter(market=market).order_by("created_at", "pk")
            .values_list("user_id", "created_at", "probability_after", "probability_before")
        )
        users = [f[0] for f in forecasts]
        times = [f[1] for f in forecasts]
        probs = [f[2] for f in forecasts]

        series = community_series_math(users, times, probs)
        CommunityPoint.objects.bulk_create(
            CommunityPoint(market=market, time=row.time, probability=float(row.probability),
                           n_forecasters=int(row.n_forecasters))
            for row in series.itertuples()
        )
        window = _window(market)
        if window is None:
            logger.warning("market %s has an empty forecasting window; no scores", market_id)
            return 0
        open_time, close_time = window
        rows: list[Score] = []
        table = time_averaged_scores(users, times, probs, outcome=int(outcome), open_time=open_time,
                                     close_time=close_time)
        for rec in table.to_dict(orient="records"):
            rows += _score_rows(market=market, forecaster=ForecasterKind.USER, user_id=int(rec["forecaster"]),
                                scores=rec, n_forecasts=int(rec["n_forecasts"]), outcome=outcome)
        price_times = [open_time, *times]
        price_probs = [forecasts[0][3] if forecasts else 0.5, *probs]  # the price before the first trade
        references = {
            ForecasterKind.MARKET_PRICE: (price_times, price_probs),
            ForecasterKind.COMMUNITY: (list(series["time"]), list(series["probability"].clip(1e-6, 1 - 1e-6))),
        }
        for kind, (r_times, r_probs) in references.items():
            if not r_times:
                continue
            scored = reference_scores(
                r_times, r_probs, crowd_forecaster=users, crowd_times=times, crowd_prob=probs,
                outcome=int(outcome), open_time=open_time, close_time=close_time,
            )
            if scored["coverage"] > 0:
                rows += _score_rows(market=market, forecaster=kind, user_id=None, scores=scored,
                                    n_forecasts=len(r_times), outcome=outcome)
        Score.objects.bulk_create(rows)
        return len(rows)


def _numeric_scores_recompute(market) -> int:
    """Scores of a resolved numeric market (evaluator.numeric), inside the caller's transaction.

    Users, the LMSR prices and the community mixture each get the time-averaged baseline and peer
    scores of the outcome bin's probability, and the log loss, the log score of the bin density, the
    CRPS and the PIT of their last distribution before close. The community series is not stored
    (CommunityPoint holds a probability of YES); the market page recomputes the mixture live.
    """
    import numpy as np

    from evaluator import numeric
    from market.models import Forecast
    from market.services.forecasts import market_bins

    if market.outcome_bin is None or market.outcome_value is None:
        return 0
    window = _window(market)
    if window is None:
        return 0
    open_time, close_time = window
    bins = market_bins(market)
    support = numeric.support_edges(bins.edges, open_lower=bins.open_lower, open_upper=bins.open_upper)
    k, y = int(market.outcome_bin), float(market.outcome_value)
    rows_db = list(Forecast.objects.filter(market=market, created_at__lt=close_time).order_by("created_at", "pk")
                   .values_list("user_id", "created_at", "prices_after"))
    n = bins.n_outcomes
    users = [r[0] for r in rows_db]
    times = [r[1] for r in rows_db]
    pmfs = np.array([r[2] for r in rows_db], dtype=float).reshape(len(rows_db), n)

    def extra(pmf) -> dict:
        return {"log_dens": numeric.bin_log_score(pmf, support, y), "crps": numeric.crps_bins(pmf, support, y),
                "pit": numeric.pit_value(pmf, support, y)}

    def score_rows(forecaster: str, user_id, scored: dict, last_pmf, n_forecasts: int) -> list[Score]:
        more = extra(last_pmf)
        common = dict(market=market, forecaster=forecaster, user_id=user_id,
                      coverage=min(max(float(scored["coverage"]), 0.0), 1.0),
                      probability=float(np.clip(last_pmf[k], 1e-9, 1 - 1e-9)), outcome=True, numeric=True,
                      pit=more["pit"], n_forecasts=n_forecasts, concept=market.concept,
                      resolved_at=market.resolved_at)
        values = {ScoreKind.BASELINE: scored["baseline_score"], ScoreKind.PEER: scored["peer_score"],
                  ScoreKind.LOG_LOSS: -float(np.log(max(last_pmf[k], 1e-9))),
                  ScoreKind.LOG_DENSITY: more["log_dens"], ScoreKind.CRPS: more["crps"]}
        return [Score(kind=kind, value=float(v), **common) for kind, v in values.items() if math.isfinite(v)]

    out: list[Score] = []
    if rows_db:
        table = numeric.time_averaged_numeric_scores(users, times, pmfs, outcome=k, open_time=open_time,
                                                     close_time=close_time)
        for rec in table.to_dict(orient="records"):
            mine = [i for i, u in enumerate(users) if u == rec["forecaster"]]
            out += score_rows(ForecasterKind.USER, int(rec["forecaster"]), rec, pmfs[mine[-1]], len(mine))
    uniform = np.full(n, 1.0 / n)
    price_pmfs = np.vstack([uniform[None, :], pmfs]) if rows_db else uniform[None, :]
    references = {ForecasterKind.MARKET_PRICE: ([open_time, *times], price_pmfs)}
    if rows_db:
        series = numeric.mixture_series(users, times, pmfs)
        references[ForecasterKind.COMMUNITY] = (list(series["time"]), np.stack(series["pmf"].to_list()))
    for kind, (r_times, r_pmfs) in references.items():
        scored = numeric.numeric_reference_scores(
            r_times, r_pmfs, crowd_forecaster=users, crowd_times=times, crowd_pmfs=pmfs if rows_db else np.zeros((0, n)),
            outcome=k, open_time=open_time, close_time=close_time)
        if scored["coverage"] > 0:
            out += score_rows(kind, None, scored, r_pmfs[-1], len(r_times))
    Score.objects.bulk_create(out)
    return len(out)


def factor_record(
    *, setup: str, task: str, arch: str, concept: str, statistic: float, run_id: int | None, source: str
) -> None:
    """Upsert one cell of the general-factor matrix (idempotent: keyed by ``(setup, concept)``).

    Parameters
    ----------
    setup : str
        Row key: task × architecture × setting, e.g. ``"modadd/transformer/default"``. Put everything
        that defines the setting (preset, parameters) in it, so different settings stay different rows.
    task, arch : str
        The task and architecture, for filters and display.
    concept : {"A", …, "H"}
    statistic : float
        The concept's statistic, oriented higher = more path-dependent; must be finite.
    run_id : int or None
        The ExperimentRun that measured it, if any.
    source : {"run", "suite"}

    Raises
    ------
    ValueError
        On an empty setup, an unknown concept or source, or a non-finite statistic.
    """
    setup, task, arch, concept = str(setup).strip(), str(task).strip(), str(arch).strip(), str(concept).strip().upper()
    if not setup or len(setup) > 200:
        raise ValueError("setup must be a non-empty string of at most 200 characters.")
    if not task or not arch or len(task) > 40 or len(arch) > 40:
        raise ValueError("task and arch must be non-empty strings of at most 40 characters.")
    if concept not in LETTERS:
        raise ValueError(f"concept must be one of A–H; got {concept!r}.")
    if source not in FactorSource.values:
        raise ValueError(f"source must be one of {FactorSource.values}; got {source!r}.")
    try:
        value = float(statistic)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"statistic must be a number; got {statistic!r}.") from exc
    if not math.isfinite(value):
        raise ValueError(f"statistic must be finite; got {value}.")
    defaults = {"task": task, "arch": arch, "statistic": value, "run_id": run_id, "source": source}
    try:
        with transaction.atomic():
            FactorCell.objects.update_or_create(setup=setup, concept=concept, defaults=defaults)
    except IntegrityError:  # inserted concurrently by another finalizer: update the row it created
        FactorCell.objects.filter(setup=setup, concept=concept).update(**defaults, updated_at=timezone.now())
