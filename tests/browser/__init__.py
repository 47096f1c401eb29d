"""Journey tests in a real browser: Playwright for Python driving Debian's Chromium against the
real app served by gunicorn (see conftest.py)."""
