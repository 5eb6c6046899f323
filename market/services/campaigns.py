"""A factor market's campaign: seal the design seed at open, reveal it and start the campaign at close.

``market`` imports ``experiments`` (never the other way): the campaign is an
``experiments.SurveyCampaign`` created by ``experiments.survey.services.survey_campaign_create``; the
market keeps the link and the hidden seed in its own ``MarketCampaign``. Deciding the market from the
campaign's factor estimate needs the evaluator, so it lives in the resolution app
(``resolution/campaigns.py``; docs/factor-markets.md).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from experiments.params import SpecError
from experiments.survey import campaign_spec
from market.models import Market, MarketCampaign
from market.specs import CriterionError

logger = logging.getLogger(__name__)


def campaign_spec_sealed(spec: Mapping[str, Any]) -> tuple[dict[str, Any], int, str]:
    """The spec with a fresh design-seed commitment, and the seed and salt behind it.

    A spec that already carries a commitment is refused: only the server draws the seed, when the
    market opens, so that nobody (the proposer included) knows the design before the close.
    """
    if "design_seed_commitment" in spec:
        raise CriterionError("spec.design_seed_commitment",
                             "is set by pathmarket when the market opens; leave it out of the spec.")
    seed, salt = campaign_spec.seed_draw()
    return {**spec, "design_seed_commitment": campaign_spec.seed_commitment(seed, salt)}, seed, salt


def market_campaign_seal(*, market: Market, seed: int, salt: str) -> MarketCampaign:
    """Store the hidden seed of a newly opened factor market (inside ``market_open``'s transaction)."""
    if campaign_spec.seed_commitment(seed, salt) != market.spec.get("design_seed_commitment"):
        raise CriterionError("spec.design_seed_commitment", "does not commit to the drawn seed.")
    return MarketCampaign.objects.create(market=market, design_seed=seed, salt=salt)


def market_campaign_reveal(*, market: Market) -> dict[str, Any]:
    """The seed, salt and commitment check of a factor market — ``{}`` while it is open (hidden)."""
    link = MarketCampaign.objects.filter(market=market).first()
    if link is None or not link.revealed:
        return {}
    commitment = market.spec.get("design_seed_commitment", "")
    return {"design_seed": link.design_seed, "salt": link.salt, "commitment": commitment,
            "commitment_ok": campaign_spec.seed_commitment(link.design_seed, link.salt) == commitment,
            "revealed_at": link.revealed_at}


def market_campaign_start(*, market: Market) -> MarketCampaign:
    """Reveal the seed, draw the design, create its campaign and send the first stage's units.

    Called by ``market_close`` with the market's row locked, inside its transaction: the campaign, its
    rows and cells commit with the close, and the units are sent on commit. Idempotent: a started
    campaign is returned as it is. A design that cannot be drawn any more (today's code resolves the
    pre-registered axes differently) is recorded in ``error``; the caller annuls the market.
    """
    from experiments.survey.services import survey_campaign_create, survey_stage_units, survey_units_enqueue

    with transaction.atomic():
        link = MarketCampaign.objects.select_for_update().get(market=market)
        if link.campaign_id is not None or link.error:
            return link
        now = timezone.now()
        link.revealed_at = now
        spec = market.spec
        try:
            design = campaign_spec.campaign_design(spec, seed=link.design_seed, name=f"market-{market.pk}")
        except SpecError as exc:
            link.error = f"{exc.field}: {exc.message}"
            link.save(update_fields=["revealed_at", "error"])
            logger.error("market %s: campaign cannot start: %s", market.pk, link.error)
            return link
        campaign = survey_campaign_create(design=design, provenance={
            "market_id": market.pk, "market_spec_sha256": market.spec_sha256,
            "design_seed_commitment": spec.get("design_seed_commitment")})
        link.campaign = campaign
        link.rows_planned = int(spec["rows"])
        link.started_at = link.stage_started_at = now
        link.save(update_fields=["revealed_at", "campaign", "rows_planned", "started_at", "stage_started_at"])
        units = survey_stage_units(campaign=campaign, rows=link.rows_planned)
        survey_units_enqueue(campaign_id=campaign.pk, units=units)
        logger.info("market %s: campaign %s started, %d rows, %d units sent", market.pk, campaign.name,
                    link.rows_planned, len(units))
    return link


def market_campaign_extend(*, link: MarketCampaign, rows: int) -> int:
    """Grow the campaign's stage to ``rows`` (the design's next rows) and send their units; returns the
    number of units sent. The caller holds the market's row lock."""
    from experiments.survey.services import survey_stage_units, survey_units_enqueue

    if rows <= link.rows_planned:
        return 0
    link.rows_planned = rows
    link.stage_started_at = timezone.now()
    link.save(update_fields=["rows_planned", "stage_started_at"])
    units = survey_stage_units(campaign=link.campaign, rows=rows)
    return survey_units_enqueue(campaign_id=link.campaign_id, units=units)
