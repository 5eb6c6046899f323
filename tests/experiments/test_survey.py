"""The survey: designs, the shared base ensemble, rows, campaigns and datasets (docs/survey.md)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from experiments.concepts import LETTERS
from experiments.params import SpecError
from experiments.registry import build
from experiments.survey import design as survey_design
from experiments.survey.row import UNIT_OF, UNITS, concept_spec, run_base, setting_key

# a setting small enough for tests; the survey preset fills the rest
TINY = {"steps": 60, "width": 16}


@pytest.mark.parametrize("task", ["digits", "lms", "sparse_parity"])
def test_shared_base_ensemble_gives_the_same_statistics_as_each_protocol_alone(task):
    params = {**TINY, **({"n": 6, "k": 2, "n_train": 256} if task == "sparse_parity" else {})}
    shared = run_base(task, "mlp", params, device="cpu")["cells"]
    for letter in UNITS["base"]:
        protocol, config, seeds = build(concept_spec(letter, task, "mlp", params))
        _, alone = protocol.run(config, seeds=seeds, device="cpu")
        got = shared[letter]
        for key in ("statistic", "ci_low", "ci_high"):
            value = getattr(alone, key)
            expected = None if value is None or not np.isfinite(value) else value
            assert got[key] == expected, (task, letter, key)
        assert got["seeds"] == seeds


def test_every_concept_belongs_to_one_unit_and_a_row_key_ignores_protocol_parameters():
    assert sorted(UNIT_OF) == sorted(LETTERS)
    a = concept_spec("A", "lms", "mlp", TINY)
    c = concept_spec("C", "lms", "mlp", TINY)
    assert a["params"] != c["params"]  # protocol parameters differ …
    assert setting_key(a) == setting_key(c)  # … the trained setting does not


def test_same_seed_gives_the_same_design_and_another_seed_another():
    one = survey_design.plan(rows=9, seed=3)
    two = survey_design.plan(rows=9, seed=3)
    other = survey_design.plan(rows=9, seed=4)
    assert one["sha256"] == two["sha256"] and one["rows"] == two["rows"]
    assert other["sha256"] != one["sha256"]
    assert [r["task"] for r in one["rows"][:3]] == ["digits", "lms", "sparse_parity"]  # interleaved
    for row in one["rows"]:
        for axis in survey_design.SURVEY_AXES[row["task"]]:
            value = row["params"][axis.name]
            if axis.kind == "choice":
                assert value in axis.choices
            else:
                assert axis.low <= value <= axis.high
    assert all(r["params"]["width"] % 4 == 0 for r in one["rows"])


def test_design_files_round_trip_and_an_edited_file_is_refused(tmp_path):
    design = survey_design.plan(rows=3, seed=0)
    path = survey_design.write_design(design, tmp_path / "d.json")
    assert survey_design.read_design(path)["sha256"] == design["sha256"]
    edited = json.loads(path.read_text())
    edited["rows"][0]["params"]["lr"] = 0.1
    path.write_text(json.dumps(edited))
    with pytest.raises(SpecError, match="sha256"):
        survey_design.read_design(path)


@pytest.mark.parametrize("kwargs, field", [
    ({"rows": 0, "seed": 1}, "rows"),
    ({"rows": 5000, "seed": 1}, "rows"),
    ({"rows": 3, "seed": -1}, "seed"),
    ({"rows": 3, "seed": 1, "tasks": ["gotu"]}, "tasks"),
    ({"rows": 3, "seed": 1, "axes": ["bogus=1:2"]}, "axis.bogus"),
    ({"rows": 3, "seed": 1, "axes": ["width=1:4096"]}, "axis.width"),
    ({"rows": 3, "seed": 1, "axes": ["lr=0.1:0.01"]}, "axis.lr"),
    ({"rows": 3, "seed": 1, "axes": ["optimizer=adam|rmsprop"]}, "axis.optimizer"),
    ({"rows": 3, "seed": 1, "axes": ["digits.n_slab=4:8"]}, "axis.n_slab"),
    ({"rows": 3, "seed": 1, "preset": "huge"}, "preset"),
])
def test_bad_design_input_names_the_parameter(kwargs, field):
    with pytest.raises(SpecError) as info:
        survey_design.plan(**kwargs)
    assert info.value.field == field


def test_axis_overrides_narrow_the_draw():
    design = survey_design.plan(rows=6, seed=2, axes=["width=16:24", "lms.n_slab=4:5", "optimizer=adam"])
    assert all(16 <= r["params"]["width"] <= 24 for r in design["rows"])
    assert all(r["params"]["n_slab"] in (4, 5) for r in design["rows"] if r["task"] == "lms")
    assert {r["params"]["optimizer"] for r in design["rows"]} == {"adam"}


def test_plan_command_exits_2_on_bad_input_and_writes_a_design(tmp_path, capsys):
    with pytest.raises(CommandError) as info:
        call_command("survey", "plan", "--rows", "0", "--seed", "1")
    assert info.value.returncode == 2 and "rows" in str(info.value)
    with pytest.raises(CommandError) as info:
        call_command("survey", "plan", "--rows", "3", "--seed", "1", "--axis", "depth=1:9")
    assert info.value.returncode == 2 and "registry range" in str(info.value)
    out = tmp_path / "d.json"
    call_command("survey", "plan", "--rows", "3", "--seed", "1", "--out", str(out))
    assert survey_design.read_design(out)["rows"][0]["task"] == "digits"


@pytest.mark.django_db
def test_a_unit_already_finished_by_another_campaign_is_reused_not_recomputed(tmp_path):
    from experiments.survey.models import SurveyCell
    from experiments.survey.services import survey_campaign_create, survey_unit_run

    first = survey_design.plan(rows=1, seed=5, preset="tiny", axes=["steps=30:30", "width=16:16"], tasks=["lms"])
    second = survey_design.plan(rows=1, seed=5, preset="tiny", axes=["steps=30:30", "width=16:16"], tasks=["lms"],
                                name="another")
    assert first["sha256"] != second["sha256"] and first["rows"] == second["rows"]
    a = survey_campaign_create(design=first)
    b = survey_campaign_create(design=second)
    assert survey_unit_run(campaign_id=a.pk, row_index=0, unit="B", device="cpu") == "done"
    assert survey_unit_run(campaign_id=a.pk, row_index=0, unit="B", device="cpu") == "skipped"
    assert survey_unit_run(campaign_id=b.pk, row_index=0, unit="B", device="cpu") == "reused"
    src = SurveyCell.objects.get(row__campaign=a, concept="B")
    copy = SurveyCell.objects.get(row__campaign=b, concept="B")
    assert (copy.statistic, copy.spec_sha256, copy.code_version) == (src.statistic, src.spec_sha256, src.code_version)
    assert copy.error.startswith("reused from")


@pytest.mark.django_db
def test_export_load_and_verify_round_trip_a_campaign_bit_for_bit(tmp_path):
    import pandas as pd

    from experiments.concepts import CONCEPTS
    from experiments.survey.dataset import export_campaign, load_dataset, read_dataset, verify_dataset
    from experiments.survey.models import SurveyCampaign, SurveyCell
    from experiments.survey.services import survey_campaign_create, survey_unit_run

    design = survey_design.plan(rows=2, seed=11, preset="tiny", tasks=["lms"],
                                axes=["steps=30:40", "width=16:16", "batch_size=64"])
    campaign = survey_campaign_create(design=design)
    for index in (0, 1):
        for unit in ("base", "B"):
            assert survey_unit_run(campaign_id=campaign.pk, row_index=index, unit=unit, device="cpu") == "done"
    csv_path, prov_path, n = export_campaign(campaign, tmp_path / "ds")
    assert n == 2
    frame, provenance = read_dataset(csv_path)
    assert provenance["design_sha256"] == design["sha256"] and provenance["devices"] == ["cpu"]
    stored = SurveyCell.objects.get(row__campaign=campaign, row__index=0, concept="A").statistic
    assert frame.loc[frame["row"] == 0, CONCEPTS["A"].statistic].item() == stored  # bit-identical
    assert {"cov_final_train_loss", "cov_test_accuracy", "cov_steps_to_target", "p_lr"} <= set(frame.columns)
    assert frame[CONCEPTS["D"].statistic].isna().all()  # D was not run: missing, not zero
    assert str(frame["row"][0]) in provenance["cells"] and "A" in provenance["cells"]["0"]

    campaign.delete()
    loaded, created = load_dataset(csv_path)
    assert created and loaded.source == SurveyCampaign.Source.SHIPPED
    assert load_dataset(csv_path) == (loaded, False)  # idempotent
    again = SurveyCell.objects.get(row__campaign=loaded, row__index=0, concept="A")
    assert again.statistic == stored and again.status == "done"
    assert SurveyCell.objects.get(row__campaign=loaded, row__index=0, concept="D").status == "failed"

    report = verify_dataset(csv_path, rows=1, seed=0)
    assert report["ok"] and "bit-identical" in report["summary"], report

    tampered = pd.read_csv(csv_path)
    tampered.loc[0, CONCEPTS["A"].statistic] += 0.01
    tampered.to_csv(csv_path, index=False)
    with pytest.raises(ValueError, match="does not match"):
        read_dataset(csv_path)
