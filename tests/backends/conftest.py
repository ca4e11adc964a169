import pytest

from tests.proxy import proxy_settings


@pytest.fixture
def proxy(transactional_db, live_server, settings) -> str:
    """Proxy mode against a live Loupe serving its own API; returns the upstream's URL."""
    proxy_settings(settings, live_server.url)
    return live_server.url


@pytest.fixture
def reviews_proxy(transactional_db, live_server, settings) -> str:
    """Proxy mode against a live Loupe serving only the reviews generation; the upstream's URL."""
    proxy_settings(settings, live_server.url, "reviews")
    return live_server.url
