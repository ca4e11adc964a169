"""Django's format_html without its lazy-string wrappers, for the pages that build hundreds of
small HTML pieces in Python (the review pane's editor and JSON tree). The escaping is Django's
(django.utils.html.conditional_escape): a value with __html__ is trusted as it is, anything else
goes through html.escape with quotes, exactly what django.utils.html.escape does."""

import html

from django.utils.safestring import SafeString, mark_safe


def _escaped(value) -> str:
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def escape(value) -> SafeString:
    return mark_safe(_escaped(value))  # noqa: S308 (escaped just now)


def format_html(template: str, *args, **kwargs) -> SafeString:
    return mark_safe(template.format(*map(_escaped, args), **{k: _escaped(v) for k, v in kwargs.items()}))  # noqa: S308


def format_html_join(sep: str, template: str, args_list) -> SafeString:
    """django.utils.html.format_html_join with the format_html above."""
    return mark_safe(sep.join(format_html(template, *args) for args in args_list))  # noqa: S308
