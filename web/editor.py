"""The workbench's output editor as HTML: the expected output as form fields of the pane's one
form (review/workbench.py reads what they post back).

Rendering is done in Python (not recursive includes) for speed; all user data goes through
`format_html`/`escape` (web/html.py). Documents beyond MAX_FIELDS leaves or MAX_DEPTH levels
render read-only (the raw JSON box still edits them), so a huge or hostile output cannot break
the pane.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from review.jsondiff import join
from review.workbench import (
    FIELD,
    FORM_ID,
    MAX_DEPTH,
    MAX_FIELDS,
    NEW_KEY,
    Corrections,
    columns_of,
    count_leaves,
    depth_of,
    is_table,
    label_of,
    raw_text,
)
from web.html import format_html


@dataclass
class Editor:
    doc: Any
    corrections: Corrections
    editable: bool = True
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form: str = FORM_ID

    def __post_init__(self):
        if self.editable and (count_leaves(self.doc) > MAX_FIELDS or depth_of(self.doc) > MAX_DEPTH):
            self.editable = False
        self._n = 0
        self.out: list[str] = []

    # -- pieces --------------------------------------------------------------------------
    def _id(self) -> str:
        self._n += 1
        return f"f{self._n}"

    def _button(self, op: str, path: str, text: str, label: str, keys: str = "", cls: str = "") -> str:
        return format_html(
            '<button type="submit" form="{}" name="op" value="{}:{}" class="icon-btn {}" aria-label="{}" '
            'title="{}{}" formnovalidate>{}</button>', self.form, op, path, cls, label, label,
            f" ({keys})" if keys else "", text)

    def _was(self, path: str, fid: str) -> str:
        if path in self.corrections.changed:
            return format_html('<del class="was" id="{}-was" aria-label="was">{}</del>', fid,
                               _short(self.corrections.changed[path]))
        return ""

    def _classes(self, path: str, corrected: bool) -> list[str]:
        classes = ["wb-input"]
        if corrected:
            classes.append("is-corrected")
        if path in self.corrections.added or any(path.startswith(a + "/") for a in self.corrections.added):
            classes.append("is-added")
        return classes

    def scalar(self, value, path: str, label: str, labelled_by_for: bool = True) -> str:
        """One input (or the read-only value). `label` is the accessible name when no <label>."""
        fid = self._id()
        corrected = path in self.corrections.changed
        classes = self._classes(path, corrected)
        if not self.editable:
            return format_html('<span class="wb-ro {}" id="{}" data-path="{}">{}{}</span>', " ".join(classes), fid,
                               path, self._was(path, fid), _show(value))
        text = self.typed.get(path, raw_text(value))
        error = self.errors.get(path)
        described = []
        if corrected:
            described.append(f"{fid}-was")
        if error:
            described.append(f"{fid}-err")
        attrs = format_html(' id="{}" name="{}{}" form="{}" data-path="{}" class="{}"{}{}{}', fid, FIELD, path,
                            self.form, path, " ".join(classes),
                            mark_safe(' aria-invalid="true"') if error else "",
                            format_html(' aria-describedby="{}"', " ".join(described)) if described else "",
                            "" if labelled_by_for else format_html(' aria-label="{}"', label))
        box = _box(value, text, attrs, typed=path in self.typed)
        err = format_html('<div class="field-errors" id="{}-err" role="alert">{}</div>', fid, error) if error else ""
        return format_html("{}{}{}", self._was(path, fid), box, err), fid

    # -- nodes ---------------------------------------------------------------------------
    def value(self, value, path: str, label: str) -> str:
        """A value in a table cell or list item (no <label> element: aria-label names it)."""
        if isinstance(value, dict):
            return self.obj(value, path, compact=True)
        if isinstance(value, list):
            return self.array(value, path, label)
        rendered = self.scalar(value, path, label, labelled_by_for=False)
        return rendered[0] if isinstance(rendered, tuple) else rendered

    def obj(self, value: dict, path: str, compact: bool = False) -> str:
        if path.count("/") >= MAX_DEPTH:
            return _too_deep(value)
        parts = [format_html('<div class="wb-obj{}" data-obj="{}">', " compact" if compact else "", path)]
        for key, child in value.items():
            child_path = join(path, key)
            remove = self._button("remove", child_path, "✕", f"Remove {label_of(child_path)}", "Alt+Backspace",
                                  "danger") if self.editable else ""
            if isinstance(child, dict) and child:
                parts.append(format_html(
                    '<fieldset class="wb-fs" data-path="{}"><legend>{} {}</legend>{}</fieldset>',
                    child_path, key, remove, mark_safe(self.obj(child, child_path))))
            elif isinstance(child, list) and child:
                parts.append(format_html('<div class="wb-arr" data-path="{}"><div class="wb-arr-head">{}{}</div>{}</div>',
                                         child_path, format_html('<span class="wb-key">{}</span>', key), remove,
                                         mark_safe(self.array(child, child_path, key))))
            else:
                parts.append(self._row(child, child_path, key, remove))
        if self.editable:
            fid = self._id()
            parts.append(format_html(
                '<div class="wb-addkey"><label class="sr-only" for="{}">New key in {}</label>'
                '<input type="text" id="{}" name="{}{}" form="{}" placeholder="new key" autocomplete="off" '
                'data-newkey="{}">{}</div>', fid, label_of(path), fid, NEW_KEY, path, self.form, path,
                self._button("key", path, "+ key", f"Add a key to {label_of(path)}", "Alt+K")))
        parts.append("</div>")
        return "".join(parts)

    def _row(self, value, path: str, key: str, remove: str) -> str:
        """One key and its scalar value: a <label> for the input where there is one."""
        rendered = self.scalar(value, path, key)
        if isinstance(rendered, tuple):
            box, fid = rendered
            key_html = format_html('<label class="wb-key" for="{}">{}</label>', fid, key)
        else:
            box, key_html = rendered, format_html('<span class="wb-key">{}</span>', key)
        return format_html('<div class="wb-row">{}<div class="wb-val">{}</div>{}</div>', key_html, box, remove)

    def array(self, value: list, path: str, label: str) -> str:
        if path.count("/") >= MAX_DEPTH:
            return _too_deep(value)
        if is_table(value):
            return self.table(value, path, label)
        parts = [format_html('<ol class="wb-list" data-array="{}">', path)]
        for i, item in enumerate(value):
            item_path = join(path, i)
            parts.append(format_html('<li data-row="{}"><div class="wb-item">{}</div>{}</li>', item_path,
                                     mark_safe(self.value(item, item_path, f"{label} {i + 1}")),
                                     mark_safe(self._row_tools(path, i, len(value), label))))
        parts.append("</ol>")
        parts.append(self._add_row(path, label))
        return "".join(parts)

    def table(self, rows: list[dict], path: str, label: str) -> str:
        columns = columns_of(rows)
        head = "".join(format_html('<th scope="col">{}</th>', c) for c in columns)
        parts = [format_html(
            '<div class="wb-table-wrap" role="region" aria-label="{} table" tabindex="0"><table class="wb-table" '
            'data-array="{}"><thead><tr><th scope="col"><span class="sr-only">Row</span>#</th>{}{}</tr></thead>'
            '<tbody>', label, path, mark_safe(head),
            mark_safe('<th scope="col"><span class="sr-only">Row actions</span></th>') if self.editable else "")]
        for i, row in enumerate(rows):
            row_path = join(path, i)
            added = row_path in self.corrections.added
            cells = []
            for column in columns:
                cell_path = join(row_path, column)
                if column in row:
                    cells.append(format_html('<td>{}</td>', mark_safe(
                        self.value(row[column], cell_path, f"{column}, row {i + 1}"))))
                else:
                    cells.append(mark_safe('<td class="muted" aria-label="absent">—</td>'))
            tools = format_html("<td class=\"wb-acts\">{}</td>", mark_safe(self._row_tools(path, i, len(rows), label))) \
                if self.editable else ""
            parts.append(format_html('<tr data-row="{}"{}><th scope="row">{}</th>{}{}</tr>', row_path,
                                     mark_safe(' class="is-added"') if added else "", i + 1, mark_safe("".join(cells)),
                                     tools))
        parts.append("</tbody></table></div>")
        parts.append(self._add_row(path, label))
        return "".join(parts)

    def _row_tools(self, path: str, index: int, length: int, label: str) -> str:
        if not self.editable:
            return ""
        item = join(path, index)
        what = f"row {index + 1} of {label}"
        tools = []
        gap = '<span class="slot"></span>'  # keeps every row's buttons in the same columns
        tools.append(self._button("up", item, "↑", f"Move {what} up", "Alt+↑") if index > 0 else gap)
        tools.append(self._button("down", item, "↓", f"Move {what} down", "Alt+↓") if index < length - 1 else gap)
        tools.append(self._button("remove", item, "✕", f"Remove {what}", "Alt+Backspace", "danger"))
        return format_html('<span class="wb-tools">{}</span>', mark_safe("".join(tools)))

    def _add_row(self, path: str, label: str) -> str:
        if not self.editable:
            return ""
        return format_html('<div class="wb-addrow">{}</div>',
                           self._button("add", path, "+ Add row", f"Add row to {label}", "Alt+Enter", "text"))

    def render(self) -> SafeString:
        if isinstance(self.doc, dict):
            body = self.obj(self.doc, "")
        elif isinstance(self.doc, list):
            body = self.array(self.doc, "", "output")
        else:
            rendered = self.scalar(self.doc, "", "Output value", labelled_by_for=False)
            body = rendered[0] if isinstance(rendered, tuple) else rendered
        return mark_safe(f'<div class="wb-editor{"" if self.editable else " readonly"}">{body}</div>')


def _box(value, text: str, attrs: SafeString, *, typed: bool) -> SafeString:
    """The input for one scalar: true/false/null a select (until something else was typed), long
    or multi-line text a textarea, anything else a text input (decimal keyboard for numbers)."""
    if isinstance(value, bool) and not typed:
        options = "".join(format_html('<option value="{}"{}>{}</option>', v, " selected" if v == text else "", v)
                          for v in ("true", "false", "null"))
        return format_html("<select{}>{}</select>", attrs, mark_safe(options))
    if "\n" in text or len(text) > 60:
        rows = min(8, max(2, text.count("\n") + 1, len(text) // 50 + 1))
        return format_html('<textarea rows="{}"{}>{}</textarea>', rows, attrs, text)
    kind = ' inputmode="decimal"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return format_html('<input type="text" value="{}" autocomplete="off"{}{}>', text, attrs, mark_safe(kind))


def _too_deep(value) -> str:
    """A container nested deeper than MAX_DEPTH (stored before ingest bounded nesting, or written
    to the database directly) is one leaf: the page renders and says where the rest is."""
    kind = "object" if isinstance(value, dict) else "list"
    return format_html('<span class="muted too-deep">{} too deep to show here (more than {} levels); the raw '
                       'JSON has all of it</span>', kind, MAX_DEPTH)


def _short(value) -> str:
    text = raw_text(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _show(value) -> SafeString:
    if isinstance(value, (dict, list)):
        return format_html('<pre class="wb-pre">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))
    return format_html('<span class="wb-text">{}</span>', raw_text(value))


def render_editor(doc, *, output, editable: bool, typed=None, errors=None) -> SafeString:
    return Editor(doc, Corrections.between(output, doc) if output is not None or doc is not None else Corrections(),
                  editable=editable, typed=typed or {}, errors=errors or {}).render()

