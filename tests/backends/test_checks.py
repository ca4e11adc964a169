from backends.checks import backend_settings


def _ids(settings, **values) -> list[str]:
    for name, value in values.items():
        setattr(settings, name, value)
    return [message.id for message in backend_settings()]


def test_local_mode_needs_nothing(settings):
    assert _ids(settings, LOUPE_BACKEND="backends.local.LocalBackend") == []


def test_a_backend_path_that_does_not_import_is_an_error(settings):
    assert _ids(settings, LOUPE_BACKEND="backends.nope.Backend") == ["loupe.E001"]


def test_proxy_mode_without_url_or_key_is_named(settings):
    assert _ids(settings, LOUPE_BACKEND="backends.eigenpal.EigenpalBackend", EIGENPAL_BASE_URL="",
                EIGENPAL_API_KEY="") == ["loupe.W001", "loupe.W003"]


def test_a_base_url_with_the_api_path_is_flagged(settings):
    assert _ids(settings, LOUPE_BACKEND="backends.eigenpal.EigenpalBackend",
                EIGENPAL_BASE_URL="https://studio.eigenpal.com/api/v1", EIGENPAL_API_KEY="k") == ["loupe.W002"]
