"""Renders JSON as a collapsible, read-only tree; with `diff`, changes from an original show
struck through / highlighted (the correction editor is web/editor.py).

Rendering happens in Python rather than recursive template includes: outputs have hundreds
of leaves and an include per node would dominate the page's time. Every piece of user data
goes through `escape`/`format_html` (web/html.py).
"""

import json

from django.utils.safestring import SafeString, mark_safe

from review.jsondiff import align, join
from web.html import escape, format_html

OPEN_DEPTH = 3
OPEN_MAX_ITEMS = 60
# Deeper containers render as one "too deep to show" leaf: documents stored before the nesting
# bound (runs.jsonbounds) may be deeper than a recursive renderer can walk.
RENDER_MAX_DEPTH = 48


def scalar_html(value) -> SafeString:
    if value is None:
        return mark_safe('<span class="z">null</span>')
    if isinstance(value, bool):
        return format_html('<span class="b">{}</span>', "true" if value else "false")
    if isinstance(value, (int, float)):
        return format_html('<span class="n">{}</span>', json.dumps(value))
    if isinstance(value, str):
        # Quoted, but with real line breaks (a JSON "\n" escape reads as noise to a reviewer).
        return format_html('<span class="s">&quot;{}&quot;</span>', value)
    return format_html('<span class="s">{}</span>', json.dumps(value, ensure_ascii=False))


def _summary_meta(value) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} key{'s' if len(value) != 1 else ''}}}"
    return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"


def _key_html(key) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return format_html('<span class="k idx">{}</span>: ', key)
    return format_html('<span class="k">{}</span>: ', json.dumps(key, ensure_ascii=False))


def _inline(value) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return escape(text if len(text) < 120 else text[:117] + "…")
    return scalar_html(value)


_LEAF = {
    "changed": '<del aria-label="was">{}</del> <ins aria-label="corrected to">{}</ins>',
    "added": '<ins aria-label="added">{1}</ins>',
    "removed": '<del aria-label="removed">{0}</del>',
    "same": "{1}",
}


class _Renderer:
    def __init__(self):
        self.out: list[str] = []

    def node(self, key, old, new, path: str, state: str, depth: int) -> None:
        """`state`: same | changed | added | removed. `old`/`new` are the output/current values."""
        value = old if state == "removed" else new
        if isinstance(value, (dict, list)) and (state != "changed" or isinstance(old, type(new))):
            self.container(key, old if state in ("same", "changed") else value, value, path, state, depth)
            return
        self.out.append(format_html('<li class="leaf node-{}">', state))
        self.out.append(_key_html(key))
        self.out.append(format_html(_LEAF[state], _inline(old), _inline(new)))
        self.out.append("</li>")

    def container(self, key, old, new, path: str, state: str, depth: int) -> None:
        if depth >= RENDER_MAX_DEPTH:
            self.out.append(format_html(
                '<li class="leaf node-{}">{}<span class="meta too-deep">{} too deep to show here (more than {} '
                'levels); download the JSON to see it</span></li>', state, _key_html(key), _summary_meta(new),
                RENDER_MAX_DEPTH))
            return
        is_open = depth < OPEN_DEPTH and len(new) <= OPEN_MAX_ITEMS
        self.out.append(format_html('<li class="node node-{}"><details{}><summary>', state, " open" if is_open else ""))
        self.out.append(_key_html(key))
        self.out.append(format_html('<span class="meta">{}</span>', _summary_meta(new)))
        self.out.append("</summary><ul>")
        self.children(old, new, path, state, depth + 1)
        self.out.append("</ul></details></li>")

    def keys(self, old: dict, new: dict, path: str, depth: int) -> None:
        for k, v in new.items():
            if k not in old:
                self.node(k, None, v, join(path, k), "added", depth)
            else:
                self.node(k, old[k], v, join(path, k), "same" if old[k] == v else "changed", depth)
        for k, v in old.items():
            if k not in new:
                self.node(k, v, v, join(path, k) + "~removed", "removed", depth)

    def children(self, old, new, path: str, state: str, depth: int) -> None:
        if state in ("added", "removed"):
            items = new.items() if isinstance(new, dict) else enumerate(new)
            for k, v in items:
                self.node(k, v, v, join(path, k), state, depth)
        elif isinstance(new, dict):
            self.keys(old if isinstance(old, dict) else {}, new, path, depth)
        else:
            self.items(old if isinstance(old, list) else [], new, path, depth)

    def items(self, old: list, new: list, path: str, depth: int) -> None:
        """A list's items, aligned with the old list's: removed, added, same or changed."""
        for i, j in align(old, new):
            if j is None:
                self.node(i, old[i], old[i], f"{path}/~removed{i}", "removed", depth)
            elif i is None:
                self.node(j, None, new[j], join(path, j), "added", depth)
            else:
                self.node(j, old[i], new[j], join(path, j), "same" if old[i] == new[j] else "changed", depth)


def render_tree(current, *, original=None, diff: bool = False) -> SafeString:
    """A JSON tree. With `diff`, changes from `original` show struck through / highlighted."""
    renderer = _Renderer()
    base = original if diff else current
    renderer.out.append('<div class="json-tree"><ul>')
    if isinstance(current, (dict, list)) and isinstance(base, type(current)):
        renderer.children(base, current, "", "same", 0)
    else:
        state = "same" if base == current else "changed"
        renderer.node(None, base, current, "", state, 0)
    renderer.out.append("</ul></div>")
    return mark_safe("".join(renderer.out))
