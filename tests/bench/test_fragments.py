"""bench/fragments.py: what a browser with htmx requests after an answer."""

import httpx

from bench.fragments import follow_ups, load_requests

PANE = ('<div id="run-pane"><div id="run-steps" hx-get="/runs/r1/steps/" hx-trigger="load" hx-swap="outerHTML" '
        'hx-preserve></div><section id="run-scores" hx-get="/runs/r1/scores/?a=1&amp;b=2" hx-trigger="load">'
        '</section><a hx-get="/runs/r1/history/" hx-target="#audit-body">all</a></div>')


def test_a_whole_page_loads_every_load_triggered_fragment():
    assert load_requests(PANE, swapped=False) == ["/runs/r1/steps/", "/runs/r1/scores/?a=1&b=2"]


def test_a_swap_keeps_the_preserved_ones():
    assert load_requests(PANE, swapped=True) == ["/runs/r1/scores/?a=1&b=2"]


def _response(html: str = "", *, htmx: bool, headers: dict | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://t/runs/r1/save/", headers={"HX-Request": "true"} if htmx else {})
    return httpx.Response(200, html=html, headers=headers, request=request)


def test_follow_ups_of_a_swap_a_page_and_a_client_redirect():
    assert follow_ups(_response(PANE, htmx=True)) == [("/runs/r1/scores/?a=1&b=2", True)]
    assert [url for url, _ in follow_ups(_response(PANE, htmx=False))] == ["/runs/r1/steps/", "/runs/r1/scores/?a=1&b=2"]
    assert follow_ups(_response(htmx=True, headers={"HX-Redirect": "/runs/r2/"})) == [("/runs/r2/", False)]
