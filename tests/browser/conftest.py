"""Browser tests use the shared `browser`, `page` and `screenshot` fixtures of tests/conftest.py."""
