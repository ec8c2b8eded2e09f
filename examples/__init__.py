"""Runnable examples of pgrest inside other programs (tested in tests/integration/test_examples.py)."""
