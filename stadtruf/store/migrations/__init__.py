"""Alembic migrations of the call records database, run by `records_db.migrate` at start.

A developer adds one by copying the latest file in `versions/` (next number, `down_revision`
pointing at it); tests/unit/test_records_store.py checks that the migrations end in exactly the
table `records_schema` defines.

Every migration is written out in full (no import of `records_schema`): it must still produce
the same table when the current definition has moved on.
"""
