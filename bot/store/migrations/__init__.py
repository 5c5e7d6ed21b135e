"""Alembic migrations for the store; run by `bot.store.migrate.upgrade`, no alembic.ini."""
