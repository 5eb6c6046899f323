"""The import graph of the apps points one way (docs/architecture.md, "The apps and their arrows").

Every ``import`` in the tree is read with ``ast`` — at module level and inside functions, classes and
``if TYPE_CHECKING`` blocks alike — together with the routes an import statement does not show: model
references by string (``ForeignKey("market.Market")``), ``apps.get_model("market", …)`` and
``import_string("market.…")``. Migrations are left out: they are history, and their dependencies on
other apps are what lets data move between apps.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# app → the apps it may import. ``config`` (settings, URLs, Celery) wires everything and is not an app.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "experiments": {"core"},
    "market": {"core", "experiments"},
    "proposals": {"core", "experiments", "market"},
    "evaluator": {"core", "experiments", "market"},
    "resolution": {"core", "experiments", "market", "evaluator", "proposals"},
    "social": {"core", "market", "proposals"},  # comments, follows, notifications (market.signals)
    "portfolio": {"market", "proposals"},  # /me/, reads only
}
APPS = set(ALLOWED)
_FIELD_CALLS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def _app_of(dotted: str) -> str | None:
    head = dotted.split(".", 1)[0]
    return head if head in APPS else None


def imported_apps(source: str) -> Iterator[tuple[int, str, str]]:
    """``(line, app, how)`` for every reference to a project app in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if app := _app_of(alias.name):
                    yield node.lineno, app, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if app := _app_of(node.module):
                yield node.lineno, app, f"from {node.module} import …"
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if name == "get_model" and (app := _app_of(first.value)):
                yield node.lineno, app, f"get_model({first.value!r})"
            elif name == "import_string" and (app := _app_of(first.value)):
                yield node.lineno, app, f"import_string({first.value!r})"
            elif name in _FIELD_CALLS and "." in first.value and (app := _app_of(first.value)):
                yield node.lineno, app, f"{name}({first.value!r})"


def project_modules() -> Iterator[tuple[str, Path]]:
    for app in sorted(APPS):
        folder = ROOT / app
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            if "migrations" not in path.relative_to(folder).parts:
                yield app, path


def violations() -> list[str]:
    found = []
    for app, path in project_modules():
        for line, target, how in imported_apps(path.read_text(encoding="utf-8")):
            if target != app and target not in ALLOWED[app]:
                found.append(f"{path.relative_to(ROOT)}:{line}: {app} must not import {target} ({how})")
    return found


def test_no_module_imports_an_app_the_graph_forbids():
    assert violations() == []


def test_the_graph_has_no_cycle():
    seen: dict[str, int] = {}

    def visit(app: str, path: tuple[str, ...]) -> None:
        assert app not in path, f"cycle: {' → '.join((*path, app))}"
        for nxt in ALLOWED[app]:
            visit(nxt, (*path, app))

    for app in ALLOWED:
        visit(app, ())
        seen[app] = 1
    assert set(seen) == APPS


def test_every_app_of_the_settings_is_in_the_graph():
    from django.conf import settings

    ours = {a.split(".")[0] for a in settings.INSTALLED_APPS if (ROOT / a.split(".")[0]).is_dir()}
    assert ours <= APPS, f"add {sorted(ours - APPS)} to ALLOWED (and to docs/architecture.md)"


SNEAKY = '''
from django.apps import apps
from django.db import models


class Run(models.Model):
    market = models.ForeignKey("market.Market", on_delete=models.PROTECT)


def settle(run_id):
    if run_id:
        from evaluator.services import market_scores_recompute  # hidden in a function
    return apps.get_model("market", "Market"), import_string("market.resolution.hook")
'''


@pytest.mark.parametrize("expected", ["ForeignKey('market.Market')", "from evaluator.services import …",
                                      "get_model('market')", "import_string('market.resolution.hook')"])
def test_the_checker_sees_imports_inside_functions_and_by_string(expected):
    assert expected in {how for _, _, how in imported_apps(SNEAKY)}
