from django.apps import AppConfig


class ResolutionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "resolution"

    def ready(self) -> None:
        from resolution import receivers  # noqa: F401 - connects the run_status_changed listener
