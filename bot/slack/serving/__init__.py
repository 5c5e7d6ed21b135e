"""Entry points: the WSGI app gunicorn serves and `framework-bot serve` (HTTP or Socket Mode)."""
