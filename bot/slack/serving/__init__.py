"""Entry points: the WSGI app gunicorn serves, the gunicorn worker class that reads whole requests
before a thread runs it, and `framework-bot serve` (HTTP or Socket Mode)."""
