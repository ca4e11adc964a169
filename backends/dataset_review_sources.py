"""The dataset review source that goes with the configured backend (backends.dataset_reviews):
the upstream's routes in proxy mode, Loupe's own tables otherwise."""

from backends import get_backend
from backends.dataset_reviews import DatasetReviewSource
from backends.dataset_reviews_local import LocalDatasetReviews
from backends.eigenpal import EigenpalBackend
from backends.eigenpal.dataset_reviews import EigenpalDatasetReviews


def source() -> DatasetReviewSource:
    """A new source per page (the proxy's keeps what one page read: one detail call serves the
    request and its items)."""
    backend = get_backend()
    if isinstance(backend, EigenpalBackend):
        return EigenpalDatasetReviews(backend)
    return LocalDatasetReviews()
