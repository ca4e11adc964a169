"""Renders JSON as a collapsible tree, optionally as the correction editor of docs/rules.md#correction-editor.

Rendering happens in Python rather than recursive template includes: outputs have hundreds
of leaves and an include per node would dominate the review pane's time. Every piece of
user data goes through `escape`/`format_html`.
"""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.safestring import SafeString, mark_safe

from review.html import escape, format_html
from review.jsondiff import align, join, skeleton

OPEN_DEPTH = 3
OPEN_MAX_ITEMS = 60
# Deeper containers render as one "too deep to show" leaf: documents stored before the nesting
# bound (runs.jsonbounds) may be deeper than a recursive renderer can walk.
RENDER_MAX_DEPTH = 48


@dataclass
class EditorContext:
    """What an editable tree needs: where links and forms go and which form is open."""

    page_url: str  # the review pane URL (with its queue query string) for no-JS links
    fragment_url: str  # the editor fragment URL for htmx
    action: str  # POST URL of corrections
    version: int
    csrf_token: str
    open_op: str = ""  # "set" | "add" | ""
    open_path: str | None = None
    typed: str | None = None  # what the reviewer typed (kept after an error)
    typed_key: str = ""
    error: str = ""
    hx_target: str = "#run-pane"

    def link(self, **params) -> tuple[str, str]:
        return _with_params(self.page_url, params) + "#editor", _with_params(self.fragment_url, params)


def _with_params(url: str, params: dict) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + urlencode(params)


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


def _raw_value(value) -> str:
    """The text put in an edit box: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class _Renderer:
    def __init__(self, ctx: EditorContext | None):
        self.ctx = ctx
        self.out: list[str] = []

    # -- pieces ---------------------------------------------------------------------------

    def key_html(self, key) -> str:
        if key is None:
            return ""
        if isinstance(key, int):
            return format_html('<span class="k idx">{}</span>: ', key)
        return format_html('<span class="k">{}</span>: ', json.dumps(key, ensure_ascii=False))

    def value_link(self, value, path: str) -> str:
        if not self.ctx:
            return scalar_html(value)
        href, hx = self.ctx.link(edit=path)
        return format_html(
            '<a class="val" href="{}" hx-get="{}" hx-target="#editor" hx-swap="outerHTML" data-path="{}" '
            'title="Edit {}">{}</a>',
            href, hx, path, path or "/", scalar_html(value),
        )

    def remove_tool(self, path: str) -> str:
        if not self.ctx or not path:
            return ""
        return format_html(
            '<span class="node-tools"><button type="submit" class="tool" form="editor-remove" name="path" '
            'value="{}" aria-label="Remove {}" title="Remove">✕ remove</button></span>', path, path)

    def edit_form(self, value, path: str) -> str:
        ctx = self.ctx
        typed = ctx.typed if ctx.typed is not None else _raw_value(value)
        multiline = isinstance(value, (dict, list)) or "\n" in typed or len(typed) > 80
        described = ' aria-invalid="true" aria-describedby="edit-error"' if ctx.error else ""
        if multiline:
            box = format_html('<textarea id="edit-value" name="value" class="code" rows="6"{}>{}</textarea>',
                              mark_safe(described), typed)
        else:
            box = format_html('<input type="text" id="edit-value" name="value" value="{}" autocomplete="off"{}>',
                              typed, mark_safe(described))
        cancel_href, cancel_hx = ctx.link()
        return format_html(
            '<form class="edit-form" method="post" action="{action}" hx-post="{action}" hx-target="{target}" '
            'hx-swap="outerHTML" data-edit-form>'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
            '<input type="hidden" name="op" value="set"><input type="hidden" name="path" value="{path}">'
            '<input type="hidden" name="version" value="{version}">'
            '<label class="sr-only" for="edit-value">New value for {label}</label>{box}'
            '<button type="submit" class="btn btn-sm btn-primary">Save</button>'
            '<a class="btn btn-sm btn-ghost" href="{cancel_href}" hx-get="{cancel_hx}" hx-target="#editor" '
            'hx-swap="outerHTML" data-cancel>Cancel</a>{error}</form>',
            action=ctx.action, target=ctx.hx_target, csrf=ctx.csrf_token, path=path, version=ctx.version,
            label=path or "/", box=box, cancel_href=cancel_href, cancel_hx=cancel_hx,
            error=format_html('<div class="field-errors" id="edit-error" role="alert">{}</div>', ctx.error)
            if ctx.error else "",
        )

    def add_row(self, container, path: str) -> str:
        if not self.ctx:
            return ""
        ctx = self.ctx
        is_list = isinstance(container, list)
        if ctx.open_op == "add" and ctx.open_path == path:
            if ctx.typed is not None:
                typed = ctx.typed
            elif is_list and container:
                typed = json.dumps(skeleton(container[-1]), indent=2, ensure_ascii=False)
            else:
                typed = '""'
            described = ' aria-invalid="true" aria-describedby="add-error"' if ctx.error else ""
            key_box = "" if is_list else format_html(
                '<label for="add-key">Key</label><input type="text" id="add-key" name="key" value="{}" required>',
                ctx.typed_key)
            cancel_href, cancel_hx = ctx.link()
            return format_html(
                '<li class="add-row"><form class="edit-form block" method="post" action="{action}" '
                'hx-post="{action}" hx-target="{target}" hx-swap="outerHTML" data-edit-form>'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                '<input type="hidden" name="op" value="add"><input type="hidden" name="path" value="{path}">'
                '<input type="hidden" name="version" value="{version}">{key_box}'
                '<label for="add-value">{what} (JSON)</label>'
                '<textarea id="add-value" name="value" class="code" rows="8"{described}>{typed}</textarea>'
                '<div class="row"><button type="submit" class="btn btn-sm btn-primary">Add</button>'
                '<a class="btn btn-sm btn-ghost" href="{cancel_href}" hx-get="{cancel_hx}" hx-target="#editor" '
                'hx-swap="outerHTML" data-cancel>Cancel</a></div>{error}</form></li>',
                action=ctx.action, target=ctx.hx_target, csrf=ctx.csrf_token, path=path, version=ctx.version,
                key_box=key_box, what="New item" if is_list else "Value", described=mark_safe(described),
                typed=typed, cancel_href=cancel_href, cancel_hx=cancel_hx,
                error=format_html('<div class="field-errors" id="add-error" role="alert">{}</div>', ctx.error)
                if ctx.error else "",
            )
        href, hx = ctx.link(add=path)
        return format_html(
            '<li class="add-row add-{}"><a href="{}" hx-get="{}" hx-target="#editor" hx-swap="outerHTML" data-add="{}">'
            '+ Add {}</a></li>', "item" if is_list else "key", href, hx, path, "item" if is_list else "key")

    # -- nodes ----------------------------------------------------------------------------

    def node(self, key, old, new, path: str, state: str, depth: int) -> None:
        """`state`: same | changed | added | removed. `old`/`new` are the output/current values."""
        value = old if state == "removed" else new
        editable = self.ctx is not None and state != "removed"
        if isinstance(value, (dict, list)) and (state != "changed" or isinstance(old, type(new))):
            self.container(key, old if state in ("same", "changed") else value, value, path, state, depth)
            return
        self.out.append(format_html('<li class="leaf node-{}">', state))
        self.out.append(self.key_html(key))
        if editable and self.ctx.open_op == "set" and self.ctx.open_path == path:
            self.out.append(self.edit_form(new, path))
        elif state == "changed":
            self.out.append(format_html('<del aria-label="was">{}</del> <ins aria-label="corrected to">{}</ins>',
                                        self._inline(old), self._value(new, path, editable)))
        elif state == "added":
            self.out.append(format_html('<ins aria-label="added">{}</ins>', self._value(new, path, editable)))
        elif state == "removed":
            self.out.append(format_html('<del aria-label="removed">{}</del>', self._inline(old)))
        else:
            self.out.append(self._value(new, path, editable))
        if editable:
            self.out.append(self.remove_tool(path))
        self.out.append("</li>")

    def _inline(self, value) -> str:
        if isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False)
            return escape(text if len(text) < 120 else text[:117] + "…")
        return scalar_html(value)

    def _value(self, value, path, editable) -> str:
        if isinstance(value, (dict, list)):
            return self._inline(value)
        return self.value_link(value, path) if editable else scalar_html(value)

    def container(self, key, old, new, path: str, state: str, depth: int) -> None:
        if depth >= RENDER_MAX_DEPTH:
            self.out.append(format_html(
                '<li class="leaf node-{}">{}<span class="meta too-deep">{} too deep to show here (more than {} '
                'levels); download the JSON to see it</span></li>', state, self.key_html(key), _summary_meta(new),
                RENDER_MAX_DEPTH))
            return
        is_open = depth < OPEN_DEPTH and len(new) <= OPEN_MAX_ITEMS or self._path_open_inside(path)
        self.out.append(format_html('<li class="node node-{}"><details{}><summary>', state, " open" if is_open else ""))
        self.out.append(self.key_html(key))
        self.out.append(format_html('<span class="meta">{}</span>', _summary_meta(new)))
        if self.ctx is not None and state != "removed":
            self.out.append(self.remove_tool(path))
            if isinstance(new, dict):
                # Objects offer "+ key" beside their name rather than a row of their own, so
                # the tree does not fill with add rows.
                href, hx = self.ctx.link(add=path)
                self.out.append(format_html(
                    '<span class="node-tools"><a class="tool tool-add" href="{}" hx-get="{}" hx-target="#editor" '
                    'hx-swap="outerHTML" data-add="{}" aria-label="Add a key to {}">+ key</a></span>',
                    href, hx, path, path or "/"))
        self.out.append("</summary><ul>")
        self.children(old, new, path, state, depth + 1)
        self.out.append("</ul></details></li>")

    def _path_open_inside(self, path: str) -> bool:
        target = self.ctx.open_path if self.ctx else None
        return target is not None and (target == path or target.startswith(path + "/"))

    def children(self, old, new, path: str, state: str, depth: int) -> None:
        if state in ("added", "removed"):
            items = new.items() if isinstance(new, dict) else enumerate(new)
            for k, v in items:
                self.node(k, v, v, join(path, k), state, depth)
        elif isinstance(new, dict):
            old = old if isinstance(old, dict) else {}
            for k, v in new.items():
                if k not in old:
                    self.node(k, None, v, join(path, k), "added", depth)
                else:
                    self.node(k, old[k], v, join(path, k), "same" if old[k] == v else "changed", depth)
            for k, v in old.items():
                if k not in new:
                    self.node(k, v, v, join(path, k) + "~removed", "removed", depth)
        else:
            old = old if isinstance(old, list) else []
            for i, j in align(old, new):
                if j is None:
                    self.node(i, old[i], old[i], f"{path}/~removed{i}", "removed", depth)
                elif i is None:
                    self.node(j, None, new[j], join(path, j), "added", depth)
                else:
                    same = old[i] == new[j]
                    self.node(j, old[i], new[j], join(path, j), "same" if same else "changed", depth)
        adding_here = self.ctx is not None and self.ctx.open_op == "add" and self.ctx.open_path == path
        if state != "removed" and (isinstance(new, list) or path == "" or adding_here):
            self.out.append(self.add_row(new, path))


def render_tree(current, *, original=None, ctx: EditorContext | None = None, diff: bool = False) -> SafeString:
    """A JSON tree. With `diff`, changes from `original` show struck through / highlighted.
    With `ctx`, values are editable (the correction editor)."""
    renderer = _Renderer(ctx)
    base = original if diff else current
    renderer.out.append('<div class="json-tree"><ul>')
    if isinstance(current, (dict, list)) and isinstance(base, type(current)):
        renderer.children(base, current, "", "same", 0)
    else:
        state = "same" if base == current else "changed"
        renderer.node(None, base, current, "", state, 0)
    renderer.out.append("</ul></div>")
    return mark_safe("".join(renderer.out))
