"""The form renderer: Django's own form and widget templates (`django/forms/…`) in their Jinja2
versions, which render several times faster than the Django template language (a form field
took a quarter of a millisecond, and the sampling page renders twenty), with the project's field
template (web/jinja2/django/forms/field.html, the Jinja2 twin of
templates/django/forms/field.html). Any other template a form or widget names (the admin's
widgets, a library's form) comes from the project's template engine, as before.
tests/web/test_form_renderer.py renders every form both ways and compares the HTML."""

from pathlib import Path

import django.forms
from django.forms.renderers import TemplatesSetting
from django.template import TemplateDoesNotExist
from django.template.backends.jinja2 import Jinja2
from django.utils.functional import cached_property

HERE = Path(__file__).resolve().parent.parent
JINJA_PREFIX = "django/forms/"


class FormRenderer(TemplatesSetting):
    @cached_property
    def jinja(self):
        return Jinja2({"APP_DIRS": False, "NAME": "loupe-forms", "OPTIONS": {},
                       "DIRS": [HERE / "jinja2", Path(django.forms.__file__).parent / "jinja2"]})

    def get_template(self, template_name):
        if template_name.startswith(JINJA_PREFIX):
            try:
                return self.jinja.get_template(template_name)
            except TemplateDoesNotExist:
                pass  # a project override in the template language only
        return super().get_template(template_name)
