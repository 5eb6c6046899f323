from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "experiments"

    def ready(self) -> None:
        # Register the run tasks, which the services send by name (experiments.services._task).
        from experiments import tasks  # noqa: F401
