"""Helpers shared by tests: the method's examples as a complete, consistent 8D; whole-database
snapshots."""

from __future__ import annotations

import copy

from sqlalchemy import select

from app.extensions import db as _db
from app.method import EXAMPLES, HEADER_EXAMPLE


def header(**overrides) -> dict:
    data = copy.deepcopy(HEADER_EXAMPLE)
    data.update(overrides)
    return data


def example(code: str) -> dict:
    return copy.deepcopy(EXAMPLES[code])


# ---------------------------------------------------------------- whole-database snapshots
# For modules that build their data once and put it back before each test (the access matrix,
# the audit trail's tamper tests): every table's rows, dumped and loaded in foreign-key order.
def wipe_tables() -> None:
    for table in reversed(_db.metadata.sorted_tables):
        _db.session.execute(table.delete())


def dump_tables() -> dict[str, list[dict]]:
    return {t.name: [dict(r._mapping) for r in _db.session.execute(select(t))] for t in _db.metadata.sorted_tables}


def load_tables(rows: dict[str, list[dict]]) -> None:
    """Replace every table's content with `rows` (from `dump_tables`) and commit."""
    wipe_tables()
    for table in _db.metadata.sorted_tables:
        if rows[table.name]:
            _db.session.execute(table.insert(), rows[table.name])
    _db.session.commit()


def wipe_after_module(app) -> None:
    """The end of such a module: every table emptied."""
    with app.app_context():
        _db.session.remove()
        wipe_tables()
        _db.session.commit()
        _db.session.remove()
