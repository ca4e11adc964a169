from decimal import Decimal

from django import forms

from runs.models import Automation


class SamplingRateForm(forms.Form):
    rate_percent = forms.DecimalField(
        label="Sampling rate (%)", min_value=Decimal(0), max_value=Decimal(100), max_digits=4, decimal_places=1,
        help_text="0 to 100, in steps of 0.1. Applies to runs created from now on; queued runs keep their rate.",
        error_messages={"max_decimal_places": "Use steps of 0.1 %% (one decimal place at most).",
                        "max_digits": "Enter a rate between 0 and 100 %%."},
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0", "max": "100", "inputmode": "decimal"}),
    )
    reason = forms.CharField(
        label="Reason", max_length=500, strip=True,
        help_text="Why the rate changes; shown in the history.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. pass rate above 97 % for 30 days"}),
    )

    def __init__(self, *args, automation: Automation, **kwargs):
        kwargs.setdefault("prefix", f"rate-{automation.pk}")
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("initial", {"rate_percent": Decimal(automation.sampling_rate_bp) / 100})
        super().__init__(*args, **kwargs)
        self.automation = automation

    def clean_rate_percent(self) -> Decimal:
        rate = self.cleaned_data["rate_percent"]
        if int(rate * 100) == self.automation.sampling_rate_bp:
            raise forms.ValidationError("That is already the rate.")
        return rate

    @property
    def rate_bp(self) -> int:
        return int(self.cleaned_data["rate_percent"] * 100)


class StepDownThresholdForm(forms.Form):
    threshold_percent = forms.DecimalField(
        label="Step-down threshold (%)", min_value=Decimal(50), max_value=Decimal(100), max_digits=4,
        decimal_places=1,
        help_text="Suggest a lower rate once the pass rate's 95 % interval lower bound reaches this.",
        error_messages={"max_decimal_places": "Use steps of 0.1 %% (one decimal place at most)."},
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "50", "max": "100", "inputmode": "decimal"}),
    )

    def __init__(self, *args, automation: Automation, **kwargs):
        kwargs.setdefault("prefix", f"threshold-{automation.pk}")
        kwargs.setdefault("label_suffix", "")
        percent = (Decimal(str(automation.step_down_threshold)) * 100).quantize(Decimal("0.1"))
        kwargs.setdefault("initial", {"threshold_percent": percent})
        super().__init__(*args, **kwargs)
        self.automation = automation

    @property
    def threshold(self) -> float:
        return float(self.cleaned_data["threshold_percent"]) / 100


def strata_as_text(automation: Automation) -> str:
    """The automation's strata as the editor shows them: the API's form (rates in percent)."""
    import json

    return json.dumps([{"name": s["name"], "when": s["when"], "rate": s["rate_bp"] / 100}
                       for s in automation.sampling_strata], indent=2)


class StrataForm(forms.Form):
    """The ordered strata as JSON (docs/rules.md#strata), a reason, and an optional later start."""

    strata = forms.CharField(
        label="Strata (JSON)", required=False, strip=True,
        help_text='An ordered list of {"name", "when": {"kind", …}, "rate": percent}; the first matching '
                  "condition takes a run; [] removes them. Kinds: score, new_version, tag, low_confidence, json.",
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
    )
    reason = forms.CharField(label="Reason for the strata change", max_length=500, strip=True,
                             help_text="Shown in the history.")

    def __init__(self, *args, automation: Automation, **kwargs):
        kwargs.setdefault("prefix", f"strata-{automation.pk}")
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("initial", {"strata": strata_as_text(automation)})
        super().__init__(*args, **kwargs)
        self.automation = automation

    def clean_strata(self):
        import json

        text = self.cleaned_data["strata"] or "[]"
        try:
            value = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}.") from None
        if not isinstance(value, list):
            raise forms.ValidationError("Expected a JSON list of strata.")
        return value
