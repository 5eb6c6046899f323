"""The statistics a factor market can be resolved by, read off one :class:`FactorResult`.

A market on the general factor (docs/factor-markets.md) names one of ``pc1_share``,
``pc1_share_minus_null_p95``, ``loading`` (of one concept) or ``sign_agreement`` (of two) in its
campaign spec (experiments/survey/campaign_spec.py). The resolution app decides the market with
:func:`factor_statistic` of its campaign's estimate, and the evidence panel (evaluator/evidence.py)
applies the same function to subsets of the survey, so both read the statistic the same way.
"""
from __future__ import annotations

from evaluator.factor import FactorResult

__all__ = ["factor_statistic"]


def factor_statistic(result: FactorResult, spec: dict) -> tuple[float | None, float | None, float | None]:
    """The pre-registered factor statistic and its bootstrap CI, read off one estimate (None: undefined).

    ``pc1_share_minus_null_p95`` shifts PC1's interval by the null's 95th percentile (a fixed number
    once the permutations are drawn). A loading or a product of loadings of a concept the estimate had
    to drop (constant, or fewer than 3 values) is undefined.
    """
    name, concepts = spec["statistic"], spec.get("concepts", [])
    if result.pc1_share is None or result.pc1_ci is None:
        return None, None, None
    if name == "pc1_share":
        return result.pc1_share, result.pc1_ci[0], result.pc1_ci[1]
    if name == "pc1_share_minus_null_p95":
        null = float(result.null_p95 or 0.0)
        return result.pc1_share - null, result.pc1_ci[0] - null, result.pc1_ci[1] - null
    if name == "loading":
        letter = concepts[0]
        if letter not in result.loadings:
            return None, None, None
        low, high = result.loadings_ci[letter]
        return result.loadings[letter], low, high
    if name == "sign_agreement":
        product = result.loading_product(concepts[0], concepts[1])
        return tuple(product) if product else (None, None, None)  # type: ignore[return-value]
    raise ValueError(f"unknown factor statistic {name!r}")
