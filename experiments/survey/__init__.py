"""The path-dependence survey: designs of trained settings, rows of all eight concepts, campaigns.

See docs/survey.md. ``design`` draws settings, ``row`` measures one, ``preset`` sizes them; the
campaign's storage and Celery tasks live in experiments/models.py and experiments/survey/services.py.
"""
