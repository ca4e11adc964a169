
from django import forms
from django.conf import settings

from backends.saves import EDITOR_OPS, STATUS_OPS
from runs.chips import Chip
from runs.models import RunStatus


class Form(forms.Form):
    """Project form base: labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


class QueueFilterForm(Form):
    """Validates the queue's query string; every queue state is a bookmarkable URL."""

    automation = forms.CharField(required=False, label="Automation")
    # No chip in the URL lands on the unreviewed work; "all" asks for every chip.
    chip = forms.ChoiceField(required=False, choices=[("", "Unreviewed"), ("all", "All"), *Chip.choices])
    status = forms.ChoiceField(required=False, label="Run status", choices=[("", "Any status"), *RunStatus.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    expected = forms.ChoiceField(required=False, label="Has expected", choices=YES_NO)
    promoted = forms.ChoiceField(required=False, label="Promoted", choices=YES_NO)
    disagreement = forms.ChoiceField(
        required=False, label="Evaluator vs human",
        choices=[("", "Any"), ("evaluator_passed_human_failed", "Evaluator passed, human failed"),
                 ("evaluator_failed_human_passed", "Evaluator failed, human passed")])
    scope = forms.ChoiceField(
        required=False, label="Runs", choices=[("sampled", "Sampled only"), ("all", "All runs")],
        widget=forms.RadioSelect,
    )
    q = forms.CharField(required=False, label="Run id", max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Run id or its start"}))
    before = forms.CharField(required=False, widget=forms.HiddenInput)
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        data["scope"] = data.get("scope") or "sampled"
        data["q"] = (data.get("q") or "").strip()
        return data


class ExpectedUploadForm(Form):
    file = forms.FileField(label="Upload a corrected file")
    name = forms.CharField(required=False, max_length=500, label="Save as (optional)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.LOUPE_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
            )
        return upload


class ExpectedCopyForm(Form):
    output_name = forms.CharField(label="Output file", max_length=500)
    expected_name = forms.CharField(required=False, max_length=500, label="Save as (optional)")


class ExpectedRenameForm(Form):
    name = forms.CharField(max_length=500)
    new_name = forms.CharField(max_length=500, label="New name")


class ExpectedDeleteForm(Form):
    name = forms.CharField(max_length=500)


class PaneForm(Form):
    """The review pane's one form: verdict, note, the typed correction (`v:<pointer>` fields,
    read by review.workbench), the example name, and which button was pressed (`op`).

    One form so that saving any part sends every other part too: nothing typed is dropped.
    """

    verdict = forms.ChoiceField(required=False, choices=[("pass", "Pass"), ("fail", "Fail"), ("partial", "Partial")])
    body = forms.CharField(required=False, label="Note", max_length=20_000, strip=False,
                           widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What was wrong? (optional)"}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    op = forms.CharField(required=False, max_length=2100)
    example_name = forms.CharField(required=False, label="Example name", max_length=128,
                                   help_text="Lowercase letters, digits, '-' and '_'. Promoting again under the "
                                             "same name updates that example.")
    confirm_no_expected = forms.BooleanField(required=False, label="Promote without ground truth")
    replace_example = forms.BooleanField(required=False, label="Replace the example of that name")
    raw = forms.CharField(required=False, strip=False, max_length=5_000_000)

    def clean_op(self):
        op = self.cleaned_data.get("op") or "save"
        verb = op.partition(":")[0]
        if op not in ("save", "promote", "reset") and verb not in EDITOR_OPS and op not in STATUS_OPS:
            raise forms.ValidationError("Unknown action.")
        return op

    def clean(self):
        data = super().clean()
        if data.get("op") == "promote" and not (data.get("example_name") or "").strip():
            self.add_error("example_name", "Give the example a name.")
        return data
