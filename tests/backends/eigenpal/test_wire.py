from backends.eigenpal.wire import _merge


def _run(n: int) -> dict:
    return {"id": f"r{n:02d}", "timing": {"createdAt": f"2026-01-01T00:00:{n:02d}.000Z"}}


def _scan(pages: list[list[int]]):
    for i, page in enumerate(pages):
        yield [_run(n) for n in page], i == len(pages) - 1


def test_merge_interleaves_two_paged_lists_newest_first():
    merged = [run["id"] for runs, _ in _merge(_scan([[9, 7, 4], [2, 1]]), _scan([[8, 3], [0]])) for run in runs]
    assert merged == ["r09", "r08", "r07", "r04", "r03", "r02", "r01", "r00"]


def test_merge_never_emits_past_a_page_it_has_not_fetched():
    steps = list(_merge(_scan([[9, 5], [1]]), _scan([[8], [6]])))
    first = [run["id"] for run in steps[0][0]]
    assert first == ["r09", "r08"] and steps[-1][1] is True
