"""The form renderer (web/forms/renderer.py, Jinja2) writes the same HTML as the Django template
language renderer it replaced, for every form of web/forms, unbound and bound with errors and
with markup in what the user typed (quotes may come out as other, equivalent entities; white space between tags differs); and what
the user typed is escaped."""

import inspect
import pkgutil
import re
from importlib import import_module

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting

import web.forms
from tests.factories import make_automation
from web.forms.renderer import FormRenderer

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>&"\''


def _form_classes() -> dict[str, type]:
    found = {}
    for info in pkgutil.iter_modules(web.forms.__path__):
        module = import_module(f"web.forms.{info.name}")
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, forms.BaseForm) and value.__module__ == module.__name__
                    and not name.startswith("_") and name != "Form" and name != "AssertionForm"):
                found[name] = value
    return found


def _kwargs(automation) -> dict[str, dict]:
    """What each form's constructor needs besides its data."""
    needs_automation = {"automation": automation}
    return {"SamplingRateForm": needs_automation, "StepDownThresholdForm": needs_automation,
            "StrataForm": needs_automation, "DoubleReviewShareForm": needs_automation,
            "SecondReviewForm": {"output": {"total": 1, "name": "<b>x</b>"}},
            "AdjudicationForm": {"output": {"total": 1, "name": "<b>x</b>"}},
            "ReviewRequestForm": {"names": ["a<b>", "b"], "failed_names": ["b"]},
            "CorrectedFileForm": {"has_staged": True}}


# MarkupSafe writes the same characters as other, equivalent entities than Django's escape().
ENTITIES = {"&#39;": "&#x27;", "&#34;": "&quot;"}


def _render(form: forms.BaseForm) -> str:
    """The whole form and each field as the templates show them, entities written one way."""
    html = str(form) + "".join(str(form[name].as_field_group()) for name in form.fields)
    for entity, same in ENTITIES.items():
        html = html.replace(entity, same)
    return _white_space_folded(html)


def _white_space_folded(html: str) -> str:
    """Runs of white space as one space (as a browser shows them) and none between tags, but
    the text of a textarea kept to the letter."""
    parts = re.split(r"(<textarea[^>]*>.*?</textarea>)", html, flags=re.S)
    return "".join(part if part.startswith("<textarea") else re.sub(r">\s+<", "><", re.sub(r"\s+", " ", part))
                   for part in parts).strip()


def _data(form_class, kwargs) -> dict:
    """Markup in every field a user types into, so errors and values both render."""
    form = form_class(**kwargs)
    return {form.add_prefix(name): HOSTILE for name in form.fields}


def test_every_form_is_covered():
    assert len(_form_classes()) >= 20


@pytest.mark.parametrize("name", sorted(_form_classes()))
def test_jinja2_renderer_writes_the_same_html(name):
    form_class = _form_classes()[name]
    kwargs = _kwargs(make_automation())
    kwargs = kwargs.get(name, {})
    for data in (None, _data(form_class, kwargs)):
        old = form_class(data, renderer=TemplatesSetting(), **kwargs)
        new = form_class(data, renderer=FormRenderer(), **kwargs)
        if data is not None:
            old.is_valid(), new.is_valid()
        assert _render(new) == _render(old)


@pytest.mark.parametrize("name", ["PaneForm", "SubscriptionForm", "ExampleCreateForm"])
def test_what_the_user_typed_is_escaped(name):
    form_class = _form_classes()[name]
    form = form_class(_data(form_class, {}), renderer=FormRenderer())
    form.is_valid()
    html = _render(form)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_settings_use_it(settings):
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), FormRenderer)
