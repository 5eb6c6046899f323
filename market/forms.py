from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm


class ForecastForm(forms.Form):
    probability = forms.FloatField(
        min_value=settings.PATHMARKET["MIN_PROBABILITY"],
        max_value=settings.PATHMARKET["MAX_PROBABILITY"],
        widget=forms.NumberInput(attrs={"step": "0.01", "id": "probability", "inputmode": "decimal"}),
        help_text="Your probability that the market resolves YES (0.01–0.99).",
    )


class RegisterForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)
