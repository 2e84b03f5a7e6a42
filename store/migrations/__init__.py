"""Alembic migrations of the case store (a package, so they ship with the code)."""
