"""The form a lead fills to send examples for review (web/dataset_reviews.py). Text areas
turn into the request's structures; the service checks paths and names (dsreview.services)."""

from django import forms


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _focus_fields(text: str) -> list[dict]:
    """The focus fields, one a line as 'path' or 'path: reason'."""
    focus = []
    for line in _lines(text):
        path, _, reason = line.partition(":")
        focus.append({"path": path.strip(), "reason": reason.strip() or None})
    return focus


class ReviewRequestForm(forms.Form):
    title = forms.CharField(max_length=200)
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    examples = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    failed = forms.BooleanField(required=False, label="Every example whose last check failed")
    focus = forms.CharField(required=False, label="Focus fields", widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="One a line: a dotted path, then optionally ':' and the reason "
                                      "(vendor.iban: new format since May).")
    ignored = forms.CharField(required=False, label="Ignored fields", widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="One dotted path a line; everything below it is ignored too.")
    notes = forms.CharField(required=False, label="Notes per example", widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="One a line: the example's name, ':', the note.")
    status = forms.ChoiceField(choices=[("open", "Open it for reviewers now"), ("draft", "Keep it as a draft")],
                               initial="open")

    def __init__(self, *args, names: list[str], failed_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["examples"].choices = [(n, n) for n in names]
        self.failed_names = failed_names

    def clean(self):
        data = super().clean()
        chosen = list(data.get("examples") or [])
        if data.get("failed"):
            chosen += [n for n in self.failed_names if n not in chosen]
        if not chosen and not self.errors:
            self.add_error("examples", "Tick at least one example (or every example whose last check failed).")
        data["example_names"] = chosen
        data["focus_fields"] = _focus_fields(data.get("focus", ""))
        data["ignored_fields"] = _lines(data.get("ignored", ""))
        data["item_notes"] = self._item_notes(data.get("notes", ""))
        return data

    def _item_notes(self, text: str) -> list[dict]:
        """The notes, one a line as 'example-name: note'; at the first line that is not, an error
        on the notes field and the notes read so far."""
        notes = []
        for line in _lines(text):
            name, sep, note = line.partition(":")
            if not sep or not note.strip():
                self.add_error("notes", f"Write each note as 'example-name: note' (line {line!r}).")
                break
            notes.append({"exampleName": name.strip(), "comment": note.strip()})
        return notes

    # Service field names (dsreview.services.ReviewInputError.field) -> the form field to show them on.
    FIELD_OF = {"title": "title", "instructions": "instructions", "exampleNames": "examples", "focusFields": "focus",
                "ignoredFields": "ignored", "itemNotes": "notes", "status": "status"}

    def add_service_error(self, field: str, message: str) -> None:
        root = field.split("[", 1)[0].split(".", 1)[0]
        self.add_error(self.FIELD_OF.get(root, None), message)


EDIT_FILE_LIMIT = 50 * 1024 * 1024  # as the API's edit-file (api/dataset_reviews.py)
NEW_FILE = "__new__"


class CorrectedFileForm(forms.Form):
    """The item page's corrected-file upload, posted with the item's one form (so the editor's
    fields and the comment come along): a file (or the one staged by an earlier attempt), and
    either an expected file it replaces or the path of a new one: exactly one, as the API's
    edit-file."""

    upload = forms.FileField(required=False, label="File")
    upload_target = forms.CharField(required=False, label="Replaces")
    upload_new_path = forms.CharField(required=False, max_length=500, label="New file's path")

    def __init__(self, *args, has_staged: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_staged = has_staged

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is not None and upload.size > EDIT_FILE_LIMIT:
            raise forms.ValidationError(f"At most 50 MB; this file is {upload.size / 1_048_576:.1f} MB.")
        if upload is None and not self.has_staged:
            raise forms.ValidationError("Choose the corrected file.")
        return upload

    def clean(self):
        data = super().clean()
        target = (data.get("upload_target") or "").strip()
        new_path = (data.get("upload_new_path") or "").strip()
        if target in ("", NEW_FILE):
            if not new_path:
                self.add_error("upload_new_path", "Give the new file's path, or choose the expected file it replaces.")
            data["file_path"], data["new_path"] = None, new_path
        else:
            data["file_path"], data["new_path"] = target, None
        return data
