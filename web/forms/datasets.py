import json

from django import forms

from datasets.archive import MODES
from datasets.checks import AssertionDefinitionError, validate_assertions
from datasets.models import validate_example_name
from runs import jsonbounds


class JSONTextField(forms.CharField):
    """A raw JSON textarea: the cleaned value is the parsed JSON; what was typed is kept
    on errors because the bound widget re-renders the submitted text."""

    widget = forms.Textarea(attrs={"class": "code", "rows": 14, "spellcheck": "false"})

    def __init__(self, *, object_only: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
        self.object_only = object_only

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value):
        text = super().to_python(value)
        if not text.strip():
            return None
        try:
            parsed = jsonbounds.loads(text)
        except jsonbounds.JsonRefused as error:
            where = "" if error.field == "<root>" else f" (at {error.field})"
            raise forms.ValidationError(f"{error.reason[:1].upper()}{error.reason[1:]}{where}",
                                        code="json_refused") from None
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.", code="invalid_json"
            ) from error
        except ValueError as error:  # NaN / Infinity
            raise forms.ValidationError(f"Not valid JSON: {error}.", code="invalid_json") from None
        if self.object_only and not isinstance(parsed, dict):
            raise forms.ValidationError("Enter a JSON object ({…}) or leave this empty.", code="not_object")
        return parsed


class ExampleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=128, validators=[validate_example_name],
                           help_text="Lowercase letters, digits, '-' and '_'; also the folder name in ZIP exports.")
    expected = JSONTextField(label="Expected output (JSON)",
                             help_text="The ground truth the automation should produce. Empty means none.")
    metadata = JSONTextField(label="Metadata (JSON object)", object_only=True,
                             widget=forms.Textarea(attrs={"class": "code", "rows": 6, "spellcheck": "false"}))
    annotation = forms.CharField(label="Annotation", required=False, max_length=2000,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    assertions = JSONTextField(
        label="Assertions (JSON list)",
        widget=forms.Textarea(attrs={"class": "code", "rows": 6, "spellcheck": "false"}),
        help_text='Checked on every later run of this example, e.g. [{"path": "total", "condition": '
                  '{"kind": "number_compare", "op": "gt", "expected": 0}, "label": "total is positive"}]. '
                  "Kinds: equals, contains, number_compare, between, matches_regex, exists, json_schema_valid, …",
    )

    def clean_assertions(self):
        value = self.cleaned_data.get("assertions")
        if value is None:
            return []
        try:
            return validate_assertions(value)
        except AssertionDefinitionError as exc:
            raise forms.ValidationError(str(exc)) from None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_example(cls, example, data=None):
        initial = {"name": example.name, "expected": example.expected, "metadata": example.metadata,
                   "annotation": example.annotation or "", "assertions": example.assertions or None}
        return cls(data, initial=initial)

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data["annotation"] = data["annotation"] or None
        return data


class ExampleCreateForm(ExampleForm):
    """A new example typed in by hand: the edit form plus the run input it stands for."""

    input = JSONTextField(label="Input (JSON object)", object_only=True,
                          widget=forms.Textarea(attrs={"class": "code", "rows": 6, "spellcheck": "false"}),
                          help_text="What the automation is given; empty means {}.")
    field_order = ["name", "input", "expected", "metadata", "annotation", "assertions"]

    def changes(self) -> dict:
        data = super().changes()
        data["input"] = data.get("input") or {}
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label="Dataset ZIP", help_text="A ZIP in the layout below (one folder per example).")
    mode = forms.ChoiceField(
        label="Mode", choices=[(m, m) for m in MODES], initial="append", widget=forms.RadioSelect,
        help_text="append keeps the examples you have and skips names already taken; "
                  "replace deletes every example first.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = [("append", "Append"), ("replace", "Replace all examples")]
