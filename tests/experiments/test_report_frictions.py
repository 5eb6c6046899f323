"""The report's readability: captions in words, amounts to two decimals, times to the second, per-seed
column help, and a reproduce command that really reproduces the run (same spec, same numbers)."""

from __future__ import annotations

import io
import json
import shlex
from html import unescape

import pytest
from django.core.management import call_command

from experiments.models import ExperimentRun
from experiments.report_text import plot_caption
from market.services import market_close
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import tiny_market

pytestmark = pytest.mark.django_db
eager_celery = pipeline_support.eager_celery  # fixture


@pytest.fixture
def resolved(eager_celery, django_capture_on_commit_callbacks):
    market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    assert run.status == "succeeded", run.error
    market.refresh_from_db()
    return market, run


def test_the_report_reads_in_words_and_rounded_figures(client, resolved):
    market, run = resolved
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert "Key plot: disagreement off-distribution between every pair of seeds" in html
    assert "key dis ood" not in html and ">full size</a>" in html
    paid = run.settlement["paid"]
    assert f"{float(paid):,.2f} points paid to" in html
    provenance = html.split('id="provenance"')[1].split("</section>")[0]
    assert run.provenance["started_at"] not in provenance  # microseconds gone…
    assert run.provenance["started_at"][:19].replace("T", " ") + " UTC" in provenance  # …seconds kept
    assert 'title="Accuracy on the out-of-distribution probe' in html and "What the columns mean" in html


def test_the_reproduce_command_reproduces_the_run(client, resolved):
    market, run = resolved
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert f"Check out code version <code>{run.provenance['code_version']}</code>" in html
    command = html.split('<pre id="reproduce-command" aria-labelledby="reproduce-title"><code>')[1].split(
        "</code>"
    )[0]
    argv = shlex.split(unescape(command))
    assert argv[:3] == ["python", "manage.py", "run_experiment"] and argv[-1] == "--json"
    out = io.StringIO()
    call_command(*argv[2:], "--device", "cpu", "--no-progress", stdout=out)
    result = json.loads(out.getvalue())
    # The same training (the spec's seed budget, which only bounds later seed extensions, is not a flag).
    drop = {"seed_budget"}
    assert {k: v for k, v in result["spec"].items() if k not in drop} == {
        k: v for k, v in run.spec.items() if k not in drop
    }
    assert result["statistic"] == pytest.approx(run.statistic, abs=1e-9)
    assert [r["behaviour"] for r in result["per_seed"]] == pytest.approx(
        [r["behaviour"] for r in run.result["per_seed"]], abs=1e-9
    )


@pytest.mark.parametrize(
    "stem, caption",
    [
        ("curves", "Training curves (loss and accuracy per seed)"),
        ("key_new_thing", "Key plot: new thing"),
        ("extra_plot", "Extra plot"),
    ],
)
def test_plot_captions(stem, caption):
    assert plot_caption(stem) == caption
