"""The form renderer: Django's own form and widget templates in their Jinja2 versions, which
render several times faster than the Django template language (a form field took a quarter of a
millisecond, and the sampling page renders twenty), with the project's field template
(web/jinja2/django/forms/field.html, the Jinja2 twin of templates/django/forms/field.html).
tests/web/test_form_renderer.py renders every form both ways and compares the HTML."""

from pathlib import Path

import django.forms
from django.forms.renderers import BaseRenderer
from django.template.backends.jinja2 import Jinja2
from django.utils.functional import cached_property

HERE = Path(__file__).resolve().parent.parent


class FormRenderer(BaseRenderer):
    @cached_property
    def engine(self):
        return Jinja2({"APP_DIRS": False, "NAME": "loupe-forms", "OPTIONS": {},
                       "DIRS": [HERE / "jinja2", Path(django.forms.__file__).parent / "jinja2"]})

    def get_template(self, template_name):
        return self.engine.get_template(template_name)
