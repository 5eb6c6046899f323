from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    """``/me/``: the signed-in user's balance, positions, profit and loss, and proposals (reads only)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "portfolio"
