"""Comments (one level of replies), follows and notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

BODY_MAX_LENGTH = 4_000  # characters of Markdown
HIDE_REASON_MAX_LENGTH = 500


class Comment(models.Model):
    """A comment on a market (its page and its report share one thread) or on a proposal.

    ``proposal_id`` is a plain id, not a foreign key: proposals are moving to an app of their own and a
    cross-app migration dependency on their model would pin where it lives. Visibility of a proposal
    thread is checked through the proposal's own rule (social.selectors)."""

    market = models.ForeignKey(
        "market.Market", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    proposal_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(max_length=BODY_MAX_LENGTH)  # Markdown, sanitised when rendered
    # The author's latest forecast on the market when they wrote it (probability of YES), or None.
    forecast_probability = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)  # by the author; the body is cleared
    hidden_at = models.DateTimeField(null=True, blank=True)  # by staff, with a reason
    hidden_reason = models.CharField(max_length=HIDE_REASON_MAX_LENGTH, blank=True, default="")
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["market", "created_at"], name="comment_market_time")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(market__isnull=False, proposal_id__isnull=True)
                    | Q(market__isnull=True, proposal_id__isnull=False)
                ),
                name="comment_one_target",
            ),
            models.CheckConstraint(
                condition=Q(forecast_probability__isnull=True)
                | Q(forecast_probability__gt=0, forecast_probability__lt=1),
                name="comment_forecast_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""), name="comment_hidden_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} by {self.author_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows", db_index=False
    )
    market = models.ForeignKey("market.Market", on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "market"], name="follow_one_per_user_market")]


class NotificationKind(models.TextChoices):
    MARKET_CLOSED = "market_closed", "A market I hold or follow closes"
    MARKET_RESOLVED = "market_resolved", "A market I hold or follow resolves (or is re-resolved)"
    MARKET_ANNULLED = "market_annulled", "A market I hold or follow is annulled"
    PROPOSAL_REVIEWED = "proposal_reviewed", "My proposal is approved or rejected"
    REPLY = "reply", "Someone replies to my comment"


class NotificationPreference(models.Model):
    """One kind switched on or off for one user; a kind without a row is on for both channels."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    in_site = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_one_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=list(NotificationKind.values)), name="notification_preference_kind_valid"
            ),
        ]


class Notification(models.Model):
    """One event for one user. ``key`` names the event, so delivering it twice finds the row already there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    key = models.CharField(max_length=120)  # e.g. "market:7:resolved", "reply:42"
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=200)  # a path on this site
    in_site = models.BooleanField(default=True)  # listed on /notifications/ and counted by the bell
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user_event"),
            models.CheckConstraint(
                condition=Q(kind__in=list(NotificationKind.values)), name="notification_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}: {self.key}"
