"""Email, outbox and visit-link tests (a package: tests/browser has a test_manage.py too)."""
