"""Where markets meet experiment runs: the one place allowed to import several apps.

Every other app imports "down" the graph only (docs/architecture.md):

    core ← experiments ← market ← proposals
                  ↖        ↖
                   evaluator ← resolution (imports all of them)

This app holds what needs a run and a market at once:

- ``receivers``: listens to ``experiments.signals.run_status_changed`` and brings the run's market in
  line (RUNNING while it trains, CLOSED when it fails, resolved or annulled when it has decided);
- ``services``: that settlement, and the staff actions that act on a market through a run (re-queue,
  verify, annul, re-resolve);
- ``views`` / ``api``: the resolution report page ``/markets/{id}/report/``, the staff action pages
  and the runs API ``/api/v1/runs/`` (a run is shown with its market);
- ``admin``: experiment runs in the admin, with their market.

Nothing imports ``resolution`` except the URL configuration.
"""
