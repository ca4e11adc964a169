"""PDF pages render in a limited child process (runs/pdf.py, runs/pdf_worker.py): render bombs
generated here end at the time or memory limit with a placeholder image, the web process does
not grow, and results are cached. Numbers are printed (pytest -s); asserts are generous bounds."""

import resource
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from runs import pdf
from tests import hostile


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _render(data: bytes, label: str, **kwargs) -> pdf.Rendered:
    before = _rss_mb()
    started = time.perf_counter()
    result = pdf.render_page(data, 1, **kwargs)
    seconds = time.perf_counter() - started
    child = f"{result.peak_rss_kb / 1024:.0f} MB" if result.peak_rss_kb else "killed"
    print(f"\n{label}: {len(data)} bytes, {seconds:.2f} s, ok={result.ok}, child peak {child}, "
          f"web process +{_rss_mb() - before:.0f} MB; {result.reason}")
    return result


def test_an_ordinary_page_renders_and_is_cached(settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 30.0  # a machine shared by other work can be slow to start a process
    first = _render(hostile.plain_pdf(), "plain page")
    assert first.ok and first.png.startswith(b"\x89PNG") and not first.cached
    again = pdf.render_page(hostile.plain_pdf(), 1)
    assert again.cached and again.png == first.png


def test_nested_forms_end_at_the_limit_with_a_placeholder(settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 2.0
    data = hostile.nested_forms_pdf(depth=20, fan=2)  # 2**20 drawings from 4.6 KB
    started = time.perf_counter()
    result = _render(data, "nested forms 2**20")
    assert not result.ok and result.png.startswith(b"\x89PNG") and "LOUPE_PDF_RENDER" in result.reason
    assert time.perf_counter() - started < 10  # the goal is 5 s (printed); room for a busy machine
    # Cached: the second view costs no render.
    started = time.perf_counter()
    again = pdf.render_page(data, 1)
    assert again.cached and not again.ok and time.perf_counter() - started < 0.5


def test_a_page_that_needs_more_memory_than_allowed_is_a_placeholder(settings):
    settings.LOUPE_PDF_RENDER_SECONDS, settings.LOUPE_PDF_RENDER_MB = 30.0, 100
    started = time.perf_counter()
    result = _render(hostile.nested_forms_pdf(depth=20, fan=2), "nested forms 2**20, limit 100 MB and 30 s")
    assert not result.ok and "100 MB (LOUPE_PDF_RENDER_MB)" in result.reason
    assert time.perf_counter() - started < 10  # the memory limit ended it, not the time limit


def test_a_decompression_bomb_image_renders_within_the_limits(settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 30.0
    """A 20000 x 20000 image whose stream expands to 50 MB: PDFium scales it down as it decodes."""
    result = _render(hostile.big_image_pdf(side=20000, expanded_mb=50), "image of 20000 x 20000, 50 MB stream")
    assert result.ok and result.peak_rss_kb < 200 * 1024


def test_the_time_limit_is_wall_clock_too(settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 0.3
    result = _render(hostile.nested_forms_pdf(depth=14, fan=2), "nested forms 2**14, limit 0.3 s")
    assert not result.ok and "0.3 s" in result.reason


def test_a_huge_page_renders_small(settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 30.0
    result = _render(hostile.huge_page_pdf(), "page 200 inches square")
    assert result.ok and int.from_bytes(result.png[16:20], "big") <= pdf.MAX_SIDE  # IHDR width


def test_counting_pages_does_not_render_them():
    """page_count stays in the web process: it reads the page tree only, not content streams."""
    for label, data in [("nested forms", hostile.nested_forms_pdf(depth=30, fan=2)),
                        ("big image", hostile.big_image_pdf(expanded_mb=1)), ("huge page", hostile.huge_page_pdf())]:
        started = time.perf_counter()
        assert pdf.page_count(data) == 1
        seconds = time.perf_counter() - started
        print(f"\npage_count({label}): {seconds * 1000:.1f} ms")
        assert seconds < 0.5


def test_no_pdf_and_no_such_page_are_unreadable():
    with pytest.raises(pdf.PdfUnreadable):
        pdf.render_page(b"not a pdf", 1)
    with pytest.raises(pdf.PdfUnreadable, match="no page 2"):
        pdf.render_page(hostile.plain_pdf(), 2)
    with pytest.raises(pdf.PdfUnreadable, match="larger than"):
        pdf.render_page(b"%PDF" + b"0" * pdf.MAX_BYTES, 1)


def test_the_placeholder_names_the_page_and_the_reason():
    png = pdf.placeholder_png(3, "rendering took longer than 4 s (LOUPE_PDF_RENDER_SECONDS)")
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 800


def test_pdfium_in_this_process_is_never_called_from_two_threads_at_once(tmp_path):
    """PDFium is not thread-safe (two threads in it crash the process: a gthread worker's
    connections reset). Counting pages and the placeholder take turns (runs.pdf._PDFIUM): six
    threads doing both, in a process of their own so a crash fails this test, not the suite."""
    import subprocess
    import sys

    script = tmp_path / "threads.py"
    script.write_text(
        "import os, sys, threading\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings_test')\n"
        "import django; django.setup()\n"
        "from runs import pdf\n"
        "from tests import hostile\n"
        "data = hostile.nested_forms_pdf(depth=8, fan=2)\n"
        "def work(n):\n"
        "    for i in range(150):\n"
        "        assert pdf.page_count(data) == 1\n"
        "        pdf.placeholder_png(i, f'reason {n}')\n"
        "threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (done.returncode, done.stderr[-2000:])
