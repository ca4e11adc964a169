"""URLs used only by the `benchmark` command: the app's URLs plus the yardstick of docs/rules.md#speed-yardstick,
a bare Django page that runs one indexed 50-row query."""

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from runs.models import Run

_BARE = engines["django"].from_string(
    "<!doctype html><title>bare</title><table>{% for r in rows %}<tr><td>{{ r.pk }}</td><td>{{ r.created_at }}</td>"
    "<td>{{ r.status }}</td><td>{{ r.output_preview }}</td></tr>{% endfor %}</table>"
)


def bare(request):
    rows = list(Run.objects.only("id", "created_at", "status", "output_preview").order_by("-created_at", "-id")[:50])
    return HttpResponse(_BARE.render({"rows": rows}, request))


urlpatterns = [path("__bench__/bare/", bare), path("", include("config.urls"))]
