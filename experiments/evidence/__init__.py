"""Evidence beside every question: the survey rows and resolved runs nearest to a setting, where a
threshold falls among them, and the warning for a foregone question (docs/evidence.md).

``maths`` is pure numpy; ``space`` maps parameters to coordinates with the registry and the survey's
ranges; ``selectors`` reads the database; ``chart`` draws the strip.
"""
