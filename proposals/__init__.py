"""Proposals: a user suggests a market (question, pre-registered criterion, terms); staff approve it
(which opens the market through ``market.services.market_open``) or reject it with a reason; the
proposer can check the spec with a tiny-preset dry run (an ``experiments`` run).

Imports ``market`` and ``experiments``; nothing but the URL configuration imports it. One validation
layer: ``proposals.input.proposal_clean``, applied by ``proposals.services.proposal_create`` to the
form's data and to the API's body alike (docs/proposals.md).
"""
