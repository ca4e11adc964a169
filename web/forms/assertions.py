"""One form per assertion kind that datasets/checks.py evaluates: the fields that kind needs,
validated, turned into the stored {path, condition: {kind, ...}, label} shape. The raw JSON list
on the example's edit form stays as the fallback (and for the LLM kinds Loupe never evaluates)."""

import json
import re

import jsonschema
from django import forms

from datasets.checks import AssertionDefinitionError, validate_assertions
from web.forms.datasets import JSONTextField

MAX_PATTERN = 500
MAX_TEXT = 2000
OP_CHOICES = [("gt", "greater than"), ("gte", "at least"), ("lt", "less than"), ("lte", "at most"),
              ("eq", "equal to"), ("neq", "not equal to")]


class AssertionForm(forms.Form):
    """Common to every kind: where in the output, and an optional label."""

    kind = ""
    title = ""
    path = forms.CharField(label="Path", required=False, max_length=500,
                           help_text="Where in the output: vendor.name, line_items.0.amount or /vendor/name; "
                                     "empty means the whole output.")
    label = forms.CharField(label="Label", required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def condition(self) -> dict:
        """The kind's own keys (cleaned_data is valid)."""
        return {}

    def to_assertion(self) -> dict:
        data = self.cleaned_data
        assertion = {"path": data["path"].strip(), "condition": {"kind": self.kind, **self.condition()}}
        if data.get("label"):
            assertion["label"] = data["label"].strip()
        return assertion

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:  # the evaluator's own check, so a form never stores what the checks cannot read
                validate_assertions([self.to_assertion()])
            except AssertionDefinitionError as exc:
                raise forms.ValidationError(str(exc).removeprefix("Assertion 1: ")) from None
        return data

    @classmethod
    def initial_from(cls, assertion: dict) -> dict:
        condition = assertion.get("condition") or {}
        initial = {"path": assertion.get("path") or "", "label": assertion.get("label") or ""}
        for name in cls.base_fields:
            if name in condition:
                initial[name] = condition[name]
        return initial


class PresenceForm(AssertionForm):
    pass


class JSONValueForm(AssertionForm):
    expected = JSONTextField(label="Expected value (JSON)", required=True,
                             widget=forms.Textarea(attrs={"class": "code", "rows": 4, "spellcheck": "false"}),
                             help_text='Any JSON value: "EUR", 12.5, true, {"currency": "EUR"}.')

    def clean_expected(self):
        value = self.cleaned_data.get("expected")
        if value is None:
            raise forms.ValidationError("Enter a JSON value.")
        return value

    def condition(self) -> dict:
        return {"expected": self.cleaned_data["expected"]}


class ObjectValueForm(JSONValueForm):
    def clean_expected(self):
        value = super().clean_expected()
        if self.kind == "object_contains" and not isinstance(value, dict):
            raise forms.ValidationError("Enter a JSON object: the fields the value must contain.")
        return value


class TextForm(AssertionForm):
    expected = forms.CharField(label="Text", max_length=MAX_TEXT, strip=False)

    def condition(self) -> dict:
        return {"expected": self.cleaned_data["expected"]}


class RegexForm(AssertionForm):
    pattern = forms.CharField(label="Regular expression", max_length=MAX_PATTERN, strip=False,
                              help_text="Python syntax; matched anywhere in the text (use ^ and $ to anchor).")

    def clean_pattern(self):
        pattern = self.cleaned_data["pattern"]
        try:
            re.compile(pattern)
        except re.error as exc:
            raise forms.ValidationError(f"Not a valid regular expression: {exc}.") from None
        return pattern

    def condition(self) -> dict:
        return {"pattern": self.cleaned_data["pattern"]}


class CompareForm(AssertionForm):
    op = forms.ChoiceField(label="Is", choices=OP_CHOICES)
    expected = forms.FloatField(label="Number")

    def condition(self) -> dict:
        value = self.cleaned_data["expected"]
        return {"op": self.cleaned_data["op"], "expected": int(value) if value.is_integer() else value}


class BetweenForm(AssertionForm):
    lower = forms.FloatField(label="From")
    upper = forms.FloatField(label="To")
    inclusive = forms.BooleanField(label="Include both ends", required=False, initial=True)

    def clean(self):
        data = super().clean()
        if data.get("lower") is not None and data.get("upper") is not None and data["lower"] > data["upper"]:
            self.add_error("upper", "Must be at least the lower bound.")
        return data

    def condition(self) -> dict:
        d = self.cleaned_data
        return {"lower": d["lower"], "upper": d["upper"], "inclusive": bool(d.get("inclusive"))}


class SchemaForm(AssertionForm):
    schema = JSONTextField(label="JSON Schema", required=True, object_only=True,
                           widget=forms.Textarea(attrs={"class": "code", "rows": 8, "spellcheck": "false"}))

    def clean_schema(self):
        schema = self.cleaned_data.get("schema")
        if schema is None:
            raise forms.ValidationError("Enter a JSON Schema object.")
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise forms.ValidationError(f"Not a valid JSON Schema: {exc.message}") from None
        return schema

    def condition(self) -> dict:
        return {"schema": self.cleaned_data["schema"]}


class ItemsForm(AssertionForm):
    condition_json = JSONTextField(
        label="Condition for each item (JSON)", required=True, object_only=True,
        widget=forms.Textarea(attrs={"class": "code", "rows": 4, "spellcheck": "false"}),
        help_text='Another condition, optionally with a path inside each item: '
                  '{"path": "amount", "kind": "number_compare", "op": "gt", "expected": 0}.')

    def clean_condition_json(self):
        value = self.cleaned_data.get("condition_json")
        if not isinstance(value, dict) or "kind" not in value:
            raise forms.ValidationError("Enter a condition object with a kind.")
        return value

    def condition(self) -> dict:
        return {"condition": self.cleaned_data["condition_json"]}

    @classmethod
    def initial_from(cls, assertion: dict) -> dict:
        initial = super().initial_from(assertion)
        inner = (assertion.get("condition") or {}).get("condition")
        if inner is not None:
            initial["condition_json"] = inner
        return initial


def _kind(base, kind: str, title: str):
    return type(f"{kind.title().replace('_', '')}Form", (base,), {"kind": kind, "title": title})


FORMS = {form.kind: form for form in (
    _kind(PresenceForm, "exists", "exists"), _kind(PresenceForm, "not_exists", "does not exist"),
    _kind(JSONValueForm, "equals", "equals"), _kind(JSONValueForm, "not_equals", "does not equal"),
    _kind(JSONValueForm, "contains", "contains"), _kind(JSONValueForm, "not_contains", "does not contain"),
    _kind(ObjectValueForm, "object_contains", "object contains fields"),
    _kind(ObjectValueForm, "array_contains", "array has an item containing"),
    _kind(TextForm, "starts_with", "starts with"), _kind(TextForm, "ends_with", "ends with"),
    _kind(RegexForm, "matches_regex", "matches a regular expression"),
    _kind(CompareForm, "number_compare", "number compares"), _kind(CompareForm, "length_compare", "length compares"),
    _kind(BetweenForm, "between", "is between"),
    _kind(SchemaForm, "json_schema_valid", "is valid against a JSON Schema"),
    _kind(ItemsForm, "all_items_match", "every item matches"), _kind(ItemsForm, "any_item_matches", "some item matches"),
)}


def form_for(kind: str, data=None, assertion: dict | None = None, prefix: str | None = None) -> AssertionForm | None:
    """The form of `kind` (None for kinds without one: the LLM kinds), bound to `data` or
    filled from a stored assertion."""
    form_class = FORMS.get(kind)
    if form_class is None:
        return None
    initial = form_class.initial_from(assertion) if assertion else None
    return form_class(data, initial=initial, prefix=prefix)


def describe(assertion: dict) -> str:
    condition = assertion.get("condition") or {}
    kind = condition.get("kind", "?")
    rest = {k: v for k, v in condition.items() if k != "kind"}
    title = FORMS[kind].title if kind in FORMS else kind
    return f"{assertion.get('path') or '(whole output)'} {title} {json.dumps(rest)[:120] if rest else ''}".strip()
