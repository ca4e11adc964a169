"""web/run_files.py: a run's file downloads and PDF pages; the bounded read the PDF page uses."""

from types import SimpleNamespace

from web.run_files import _read_at_most


class Chunks:
    """A stream that records how far it was read and whether it was closed."""

    def __init__(self, parts):
        self.parts, self.read, self.closed = parts, 0, False

    def __iter__(self):
        for part in self.parts:
            self.read += 1
            yield part

    def close(self):
        self.closed = True


def test_a_download_within_the_limit_is_read_whole_and_closed():
    chunks = Chunks([b"ab", b"cd"])
    assert _read_at_most(SimpleNamespace(size=None, chunks=chunks), 4) == b"abcd"
    assert chunks.closed


def test_a_download_past_the_limit_stops_reading_at_the_chunk_that_passes_it():
    chunks = Chunks([b"abc", b"def", b"ghi"])
    assert _read_at_most(SimpleNamespace(size=None, chunks=chunks), 4) is None
    assert chunks.read == 2 and chunks.closed


def test_a_declared_size_past_the_limit_is_refused_unread():
    chunks = Chunks([b"abc"])
    assert _read_at_most(SimpleNamespace(size=10, chunks=chunks), 4) is None
    assert chunks.read == 0 and chunks.closed
