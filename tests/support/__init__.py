"""Helpers the tests share (paths, the corpus location). The fake Hub (`tests/hubserver.py`) and the
gate fixtures (`tests/gate_fixtures.py`) stay beside the tests for now."""
