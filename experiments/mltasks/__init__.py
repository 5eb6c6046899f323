"""Tasks (named ``mltasks`` because ``experiments/tasks.py`` holds the Celery tasks).

Importing this package registers every task: digits, modadd, lms, gotu, sparse_parity, two_pathway.
"""
from experiments.mltasks import digits, gotu, lms, modadd, sparse_parity, two_pathway  # noqa: F401
from experiments.mltasks.base import TASKS, Task, TaskData, get_task

__all__ = ["TASKS", "Task", "TaskData", "get_task"]
