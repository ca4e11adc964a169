"""The JSON API under /api/v1/ (EigenPal contract). Paths have no trailing slash."""

urlpatterns: list = []
