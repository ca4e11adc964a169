"""Forms of double review (docs/rules.md#double-review): the share (sampling page), the blind
second review and a lead's adjudication."""

from decimal import Decimal

from django import forms

from review.jsondiff import EditError, parse_json
from runs.models import Automation

VERDICT_CHOICES = [("pass", "Pass"), ("fail", "Fail"), ("partial", "Partial")]


class DoubleReviewShareForm(forms.Form):
    share_percent = forms.DecimalField(
        label="Double-review share (%)", min_value=Decimal(0), max_value=Decimal(100), max_digits=5, decimal_places=2,
        help_text="Of the sampled runs created from now on, this share also goes to a second reviewer who does "
                  "not see the first review.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100", "inputmode": "decimal"}),
    )
    # Labelled apart from the rate form's "Reason" on the same card (one name, one field).
    reason = forms.CharField(label="Reason for the share", max_length=500, strip=True,
                             widget=forms.TextInput(attrs={"placeholder": "e.g. measure reviewer agreement"}))

    def __init__(self, *args, automation: Automation, **kwargs):
        kwargs.setdefault("prefix", f"double-{automation.pk}")
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("initial", {"share_percent": Decimal(automation.double_review_bp) / 100})
        super().__init__(*args, **kwargs)

    @property
    def share_bp(self) -> int:
        return int(self.cleaned_data["share_percent"] * 100)


def _json_or_none(raw: str, what: str):
    if not raw.strip():
        return None
    try:
        return parse_json(raw, what)
    except EditError as error:
        raise forms.ValidationError(str(error)) from None


class _Corrected(forms.Form):
    """A corrected output typed as JSON; the run's own output (`output`) or nothing: no correction."""

    def __init__(self, *args, output=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.output = output

    def clean_expected(self):
        document = _json_or_none(self.cleaned_data["expected"], "The corrected output")
        return None if document == self.output else document


class SecondReviewForm(_Corrected):
    """The blind second review: verdict, note, and the corrected output as JSON (left as the
    run's output: no correction)."""

    verdict = forms.ChoiceField(choices=VERDICT_CHOICES, widget=forms.RadioSelect, label="Your verdict")
    body = forms.CharField(required=False, max_length=20_000, label="Note", widget=forms.Textarea(attrs={"rows": 3}))
    expected = forms.CharField(required=False, label="Corrected output (JSON)",
                               help_text="Edit the output where it is wrong; leave it as it is when nothing needs correcting.",
                               widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "spellcheck": "false"}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class AdjudicationForm(_Corrected):
    decision = forms.ChoiceField(choices=[("first", "first"), ("second", "second"), ("own", "own")])
    verdict = forms.ChoiceField(choices=VERDICT_CHOICES, required=False, widget=forms.RadioSelect, label="Verdict")
    body = forms.CharField(required=False, max_length=20_000, label="Note", widget=forms.Textarea(attrs={"rows": 3}))
    expected = forms.CharField(required=False, label="Corrected output (JSON)",
                               widget=forms.Textarea(attrs={"rows": 12, "class": "mono", "spellcheck": "false"}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "own" and not data.get("verdict"):
            self.add_error("verdict", "Choose a verdict for your own review.")
        return data
