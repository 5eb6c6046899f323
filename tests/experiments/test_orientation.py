"""E and G are oriented as the essay orients them: higher = more path-dependent (hand-made cases).

E: a 25% checkpoint that already predicts the final cluster (the path committed early) scores high;
one that carries no information scores about ½. G: a representation that survives from the early
checkpoint to the end scores high; one rebuilt from scratch scores low.
"""
from __future__ import annotations

import numpy as np
import pytest

from experiments.concepts import CONCEPTS, FACTOR, LETTERS, MARKET_CONCEPTS, STATISTIC_NAMES
from experiments.metrics import linear_cka
from experiments.protocols.base import get_protocol
from experiments.protocols.predictiveness import PREDICT_FRACTIONS


def _e_outputs(predictor_25):
    rng = np.random.default_rng(0)
    final = np.array([0.1] * 8 + [0.9] * 8) + 0.01 * rng.normal(size=16)
    outputs = []
    for i, value in enumerate(final):
        out = {"seed": i, "behaviour": float(value), "predictor_names": "x"}
        for frac in PREDICT_FRACTIONS:
            x = predictor_25[i] if frac == 0.25 else rng.normal()
            out[f"predictors_{frac:g}"] = np.array([x])
            out[f"behaviour_{frac:g}"] = float(x)
        outputs.append(out)
    return outputs


def _summarize(concept, outputs):
    protocol = get_protocol(concept)
    task = protocol.tasks[0]
    config = protocol.make_config(task, "mlp", {**protocol.presets[task]["tiny"]["params"], "n_boot": 200})
    return protocol.summarize(config, outputs)[1]


def test_e_is_high_when_the_quarter_checkpoint_predicts_the_final_cluster():
    cluster = np.array([0] * 8 + [1] * 8)
    rng = np.random.default_rng(1)
    predictive = _summarize("E", _e_outputs(cluster + 0.05 * rng.normal(size=16)))
    noise = _summarize("E", _e_outputs(rng.normal(size=16)))
    assert predictive.statistic_name == "auroc_25"
    assert predictive.statistic > 0.95 and predictive.ci_low > 0.8
    assert abs(noise.statistic - 0.5) < 0.3
    assert predictive.statistic > noise.statistic


def _g_outputs(cka_values):
    return [{"seed": i, "behaviour": 0.0, "cka_early_final": float(v), "cka_by_checkpoint": np.array([v, 1.0]),
             "heldout_acc_by_checkpoint": np.array([0.5, 0.9]), "retention": 1.0} for i, v in enumerate(cka_values)]


def test_g_is_high_when_the_early_representation_survives():
    rng = np.random.default_rng(2)
    final = rng.normal(size=(64, 8))
    survived = final @ np.linalg.qr(rng.normal(size=(8, 8)))[0] * 3.0  # rotated and scaled: same circuit
    rebuilt = rng.normal(size=(64, 8))  # nothing of the early representation is left
    high = _summarize("G", _g_outputs([linear_cka(survived, final)] * 4))
    low = _summarize("G", _g_outputs([linear_cka(rebuilt, final)] * 4))
    assert high.statistic_name == "cka_early_final"
    assert high.statistic == pytest.approx(1.0)
    assert low.statistic < 0.5 < high.statistic


def test_one_vocabulary_owns_letters_statistics_and_orientation():
    from evaluator.factor import CONCEPTS as FACTOR_COLUMNS
    from experiments.registry import STATISTIC_NAMES as REGISTRY_NAMES
    from market.models import Market
    from market.specs import CONCEPTS as SPEC_CONCEPTS

    assert LETTERS == tuple(CONCEPTS) == FACTOR_COLUMNS == SPEC_CONCEPTS
    assert REGISTRY_NAMES == STATISTIC_NAMES
    # a market is about one of the eight concepts or about the general factor (g, docs/factor-markets.md)
    assert [c for c, _ in Market._meta.get_field("concept").choices] == [*LETTERS, FACTOR]
    assert list(MARKET_CONCEPTS) == [*LETTERS, FACTOR] and FACTOR not in CONCEPTS
    for letter in LETTERS:
        protocol = get_protocol(letter)
        assert protocol.statistic_name == CONCEPTS[letter].statistic
        assert protocol.orientation == CONCEPTS[letter].orientation and protocol.orientation.startswith("Higher")
