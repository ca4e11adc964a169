import pytest

from tests.proxy import proxy_settings


@pytest.fixture
def reviews_proxy(transactional_db, live_server, settings) -> str:
    """Proxy mode against a live Loupe in this process serving only the reviews generation."""
    proxy_settings(settings, live_server.url, "reviews")
    return live_server.url
