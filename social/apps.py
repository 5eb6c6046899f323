from django.apps import AppConfig


class SocialConfig(AppConfig):
    """Comments, follows and notifications. It listens to market.signals; market never imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "social"

    def ready(self) -> None:
        from social import receivers  # noqa: F401 - connects the signal receivers
