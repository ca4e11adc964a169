# Used though vulture cannot see it; each line says why (bin/deadcode.py, docs/architecture.md#guard-rails).
# ruff: noqa
_.revoked_at  # model fields: read and written through the ORM, shown in the admin
_.received_at
_.claimed_at
_.RUNNING  # choices of the wire vocabulary (run and step statuses, file roles): stored, filtered, served
_.WAITING
_.FINALIZING
_.REPORT
_.SKIPPED
_.compress_type  # zipfile.ZipInfo attributes set for the archive writer (datasets/archive.py)
_.external_attr
_.log_errors  # re2.Options set before compiling a user pattern (datasets/checks.py)
_.max_mem
_.inclusive  # form fields, rendered by iterating the form (web/forms/assertions.py)
_.condition_json
_.OIDC_RP_IDP_SIGN_KEY  # mozilla-django-oidc reads these settings and calls these hooks (accounts/oidc.py)
_.OIDC_OP_TOKEN_ENDPOINT
_.OIDC_OP_USER_ENDPOINT
_.OIDC_OP_JWKS_ENDPOINT
_.OIDC_RP_CLIENT_ID
_.OIDC_RP_CLIENT_SECRET
_.OIDC_OP_AUTH_ENDPOINT
_.filter_users_by_claims
_.verify_claims
_.update_user
_.due_soon_sent_at  # model fields read in queries (humanreview: the due-soon announcement, the idempotency body hash)
_.body_hash
_.first_by_id  # review.models.SecondReview: who gave the first review, read in review.double_queries by name
_.allow_relation  # Django's database router interface (config/replicas.py), called through DATABASE_ROUTERS
_.DATABASE_ROUTERS
_.handle_starttag  # html.parser.HTMLParser calls it for every start tag (bench/fragments.py)
