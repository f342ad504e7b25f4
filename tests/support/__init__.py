"""Helpers the tests share: paths and the corpus location (`paths`), loading a module of
`scripts/` or `benchmarks/` by its path (`modules`). The fake Hub (`tests/hubserver.py`) and the
gate fixtures (`tests/gate_fixtures.py`) stay beside the tests for now."""
