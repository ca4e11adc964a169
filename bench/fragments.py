"""What a browser with htmx requests after an answer: the fragments a page loads on its own
(`hx-get` with `hx-trigger="load"`) and the page an `HX-Redirect` sends it to. The benchmark
times a page together with them, so its budgets cover what a reviewer waits for.

After an htmx swap, an element marked `hx-preserve` stays as it was on the page (htmx keeps the
element with the same id), so its `load` request is not sent again; on a whole page it is."""

from html import unescape
from html.parser import HTMLParser


class _LoadTriggers(HTMLParser):
    def __init__(self, *, swapped: bool):
        super().__init__(convert_charrefs=True)
        self.swapped = swapped
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if names.get("hx-trigger") != "load" or not names.get("hx-get"):
            return
        if self.swapped and "hx-preserve" in names:
            return
        self.urls.append(unescape(names["hx-get"]))


def load_requests(html: str, *, swapped: bool) -> list[str]:
    """The URLs htmx GETs once `html` is on the page: a whole page (`swapped` False) or a
    fragment swapped into the page that asked for it (`swapped` True)."""
    parser = _LoadTriggers(swapped=swapped)
    parser.feed(html)
    parser.close()
    return parser.urls


def follow_ups(response) -> list[tuple[str, bool]]:
    """The GETs a browser sends after `response` (an httpx response), each with whether htmx
    sends it (HX-Request): the page an HX-Redirect names (a whole page, whose own fragments
    follow it in turn), or the fragments the answer loads."""
    redirect = response.headers.get("HX-Redirect")
    if redirect:
        return [(redirect, False)]
    if "text/html" not in response.headers.get("Content-Type", ""):
        return []
    swapped = response.request.headers.get("HX-Request") == "true"
    return [(url, True) for url in load_requests(response.text, swapped=swapped)]
