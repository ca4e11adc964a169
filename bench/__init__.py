"""Benchmarks and load tests (docs/rules.md#speed-yardstick): `manage.py benchmark`,
`bench_api`, `loadtest_claims`, the bare yardstick page and the SQL-count header. Installed only
when asked for (LOUPE_BENCH_TOOLS=1, or LOUPE_BENCH=1 for the server they start)."""
