from django.apps import AppConfig


class EvaluatorConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "evaluator"

    def ready(self) -> None:
        from evaluator import receivers, tasks  # noqa: F401 - connects the market_settled listener
