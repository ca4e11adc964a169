"""web/html.py: Django's escaping without its lazy wrappers."""


def test_the_fast_format_html_escapes_exactly_as_djangos():
    from django.utils import html as django_html
    from django.utils.safestring import mark_safe

    from web import html as fast

    values = ['<script>alert("x")</script>', "a & b", "it's", 5, None, mark_safe("<b>kept</b>"), "ünïcode ✓"]
    for value in values:
        assert fast.format_html("<p title='{}'>{}</p>", value, value) == django_html.format_html(
            "<p title='{}'>{}</p>", value, value)
        assert fast.escape(value) == django_html.conditional_escape(value)
        assert fast.format_html("{}", fast.escape(value)) == django_html.format_html("{}", django_html.escape(value)) \
            or hasattr(value, "__html__")
