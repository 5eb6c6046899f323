from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm


class ForecastForm(forms.Form):
    """The page's forecast form takes a percentage (70 means 70%); the API keeps probabilities in [0, 1]."""

    percent = forms.FloatField(
        widget=forms.NumberInput(attrs={"step": "any", "id": "percent", "inputmode": "decimal"}),
        help_text="Your probability that the market resolves YES, in percent (1–99).",
    )

    def clean_percent(self) -> float:
        value = self.cleaned_data["percent"]
        low = settings.PATHMARKET["MIN_PROBABILITY"] * 100
        high = settings.PATHMARKET["MAX_PROBABILITY"] * 100
        if 0 < value < low:
            raise forms.ValidationError(
                f"Enter a percentage between {low:g} and {high:g}: 70 means 70%. "
                f"Did you mean {value * 100:g}%?"
            )
        if not (low <= value <= high):
            raise forms.ValidationError(
                f"Enter a percentage between {low:g} and {high:g} (you entered {value:g})."
            )
        return value

    @property
    def probability(self) -> float:
        return self.cleaned_data["percent"] / 100


class RegisterForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)
