from django import forms

from events.types import EVENT_TYPES, SUBSCRIBABLE_TYPES
from runs.models import Automation


class SubscriptionForm(forms.Form):
    url = forms.CharField(
        label="Receiver URL", max_length=2000, strip=True,
        help_text="Where Loupe POSTs each event, signed (Standard Webhooks). HTTPS, on a public address.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/loupe", "autocomplete": "off"}),
    )
    automation = forms.ChoiceField(label="Automation", required=False,
                                   help_text="Only this automation's events, or all of them.")
    event_types = forms.MultipleChoiceField(
        label="Event types", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(t, f"{t} — {EVENT_TYPES[t]}") for t in SUBSCRIBABLE_TYPES],
        help_text="None ticked: every type.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False, strip=True,
                                  widget=forms.TextInput(attrs={"placeholder": "e.g. ticketing bridge"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["automation"].choices = [("", "All automations")] + [
            (a.ref, f"{a.display_name} ({a.ref})") for a in Automation.objects.order_by("kind", "slug")]
