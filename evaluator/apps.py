from django.apps import AppConfig


class EvaluatorConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "evaluator"

    def ready(self) -> None:
        from evaluator import receivers, tasks  # noqa: F401 - connects the market_settled listener
        from evaluator.evidence import factor_evidence
        from experiments.evidence.selectors import register_factor_evidence

        # the evidence panel of factor markets (docs/factor-markets.md)
        register_factor_evidence(factor_evidence)
