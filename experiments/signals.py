"""The one way news of a run leaves the experiments app.

``run_status_changed`` is sent with ``run=<ExperimentRun>`` inside the transaction that records a
status change of the run (RUNNING when training starts, SUCCEEDED when it is summarized, FAILED when
retries are spent). Listeners are connected in their app's ``AppConfig.ready``; what a listener writes
commits together with the run's new status, so a listener that raises undoes the status change too
(except for FAILED, which is recorded even if a listener breaks). A listener must be idempotent:
Celery delivers at least once, and the same status can be announced twice.

``survey_unit_finished`` is sent with ``campaign_id`` and ``row_index`` after a survey unit has stored
its cells (or recorded that it failed for good), outside any transaction. The resolution app decides a
factor market when the last unit of its campaign's stage has finished (docs/factor-markets.md).

The resolution app listens (``resolution.receivers``): it mirrors a resolution run on its market
and settles the market when the run has decided. See docs/architecture.md.
"""
from __future__ import annotations

from django.dispatch import Signal

run_status_changed = Signal()  # kwargs: run (ExperimentRun, re-read and locked by the sender)
survey_unit_finished = Signal()  # kwargs: campaign_id (int), row_index (int), outcome (str)
