"""The full-text index of the reports: one row per part of a report (its header, each discipline
D0-D8, its actions, its comments) with the words of that part.

The rows are derived state with one owner (app/models/changes.py): a flush that changes a part
rewrites its row in the same transaction, and a discipline save (plain statements, no flush)
adds the row's statement to its own (app/services/reports.py). `flask search reindex` rebuilds
them all.

The engine's index over `body` is the database's own: on SQLite an FTS5 table (Porter stemming)
kept by triggers on this table; on PostgreSQL the `tsv` column (English stemming) under a GIN
index, written by the same statement as `body`. app/services/search.py asks either one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import DDL, ForeignKey, Index, String, Text, UniqueConstraint, bindparam, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

PARTS = ("header", "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "actions", "comments")
HEADER_COLUMNS = ("number", "title", "complaint_ref", "part_number", "part_name", "customer_part_no", "oem_plant", "supplier_plant", "lots",
                  "related_report")
ACTION_COLUMNS = ("ref", "title", "description", "target", "pre_verification", "error_proofing", "verification", "cancel_reason")
# Marks around a matching word in a snippet (private-use characters: never part of indexed text).
MARK_START, MARK_END = "\ue000", "\ue001"
PG_CONFIG = "english"
FTS_TABLE = "search_fts"
MAX_BODY = 200_000


class SearchDoc(db.Model):
    __tablename__ = "search_doc"
    __table_args__ = (
        UniqueConstraint("report_id", "part", name="uq_search_doc_report_part"),
        Index("ix_search_doc_tsv", "tsv", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    part: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL: to_tsvector('english', body); unused (NULL) on SQLite, where FTS5 indexes body.
    tsv: Mapped[Any | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))


SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, content='search_doc', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_ai AFTER INSERT ON search_doc BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.body); END",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_ad AFTER DELETE ON search_doc BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.id, old.body); END",
    f"CREATE TRIGGER IF NOT EXISTS search_doc_au AFTER UPDATE OF body ON search_doc BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.id, old.body); "
    f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.body); END",
)
SQLITE_DROP = f"DROP TABLE IF EXISTS {FTS_TABLE}"

for _statement in SQLITE_DDL:
    event.listen(SearchDoc.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
event.listen(SearchDoc.__table__, "after_drop", DDL(SQLITE_DROP).execute_if(dialect="sqlite"))


def is_engine_table(name: str) -> bool:
    """The FTS5 table and its shadow tables (not in the models: the schema comparison skips them)."""
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


# ------------------------------------------------------------------------------------ the text
def _words(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if value.strip():
            out.append(value.strip())
    elif isinstance(value, dict):
        for item in value.values():
            _words(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _words(item, out)


def text_of(*values: Any) -> str:
    """The words of any field values (tables included), one piece per line; numbers, flags and
    ids are not words."""
    out: list[str] = []
    for value in values:
        _words(value, out)
    body = "\n".join(out).replace(MARK_START, "").replace(MARK_END, "")
    return body[:MAX_BODY]


def upsert(conn, rows: list[dict]) -> None:
    """Write the rows ({report_id, part, body}) in one statement (executemany)."""
    if not rows:
        return
    table = SearchDoc.__table__
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(table).values(report_id=bindparam("report_id"), part=bindparam("part"), body=bindparam("body"),
                                               tsv=func.to_tsvector(text(f"'{PG_CONFIG}'::regconfig"), bindparam("body")))
    else:
        stmt = sqlite.insert(table).values(report_id=bindparam("report_id"), part=bindparam("part"), body=bindparam("body"))
    stmt = stmt.on_conflict_do_update(index_elements=["report_id", "part"], set_={"body": stmt.excluded.body, "tsv": stmt.excluded.tsv})
    conn.execute(stmt, rows)


def discipline_statement(report_id: int, code: str, values: dict):
    """The index row of one discipline, as a statement to run with the save's own statements."""
    table = SearchDoc.__table__
    body = text_of(values)
    if db.engine.dialect.name == "postgresql":
        stmt = postgresql.insert(table).values(report_id=report_id, part=code, body=body,
                                               tsv=func.to_tsvector(text(f"'{PG_CONFIG}'::regconfig"), body))
    else:
        stmt = sqlite.insert(table).values(report_id=report_id, part=code, body=body)
    return stmt.on_conflict_do_update(index_elements=["report_id", "part"], set_={"body": stmt.excluded.body, "tsv": stmt.excluded.tsv})


def _bodies(conn, wanted: dict[int, set[str]]) -> list[dict]:
    """Read the current text of the wanted parts ({report_id: {part}}) with at most four queries."""
    from app.models.action import Action
    from app.models.collab import Comment
    from app.models.report import DisciplineEntry, Report

    rows: list[dict] = []

    def want(part_test) -> list[int]:
        return sorted(rid for rid, parts in wanted.items() if any(part_test(p) for p in parts))

    ids = want(lambda p: p == "header")
    if ids:
        r = Report.__table__
        for row in conn.execute(select(r.c.id, *(r.c[c] for c in HEADER_COLUMNS)).where(r.c.id.in_(ids))):
            rows.append({"report_id": row.id, "part": "header", "body": text_of(*(row[i + 1] for i in range(len(HEADER_COLUMNS))))})
    ids = want(lambda p: p.startswith("D"))
    if ids:
        d = DisciplineEntry.__table__
        for row in conn.execute(select(d.c.report_id, d.c.code, d.c["values"]).where(d.c.report_id.in_(ids))):
            if row.code in wanted[row.report_id]:
                rows.append({"report_id": row.report_id, "part": row.code, "body": text_of(row[2])})
    for part, model, columns, live in (("actions", Action, ACTION_COLUMNS, "removed_at"), ("comments", Comment, ("body",), "withdrawn_at")):
        ids = want(lambda p, part=part: p == part)
        if not ids:
            continue
        t = model.__table__
        found: dict[int, list] = {rid: [] for rid in ids}
        query = select(t.c.report_id, *(t.c[c] for c in columns)).where(t.c.report_id.in_(ids), t.c[live].is_(None)).order_by(t.c.id)
        for row in conn.execute(query):
            found[row.report_id].extend(row[1:])
        rows.extend({"report_id": rid, "part": part, "body": text_of(values)} for rid, values in found.items())
    return rows


def refresh(conn, wanted: dict[int, set[str]]) -> None:
    """Rewrite the index rows of these parts from what the transaction holds now."""
    if wanted:
        upsert(conn, _bodies(conn, wanted))


def reindex(conn, report_ids: Iterable[int] | None = None, batch: int = 500) -> int:
    """Rebuild the rows of these reports (all when None); returns how many reports."""
    from app.models.report import Report

    if report_ids is None:
        report_ids = conn.execute(select(Report.__table__.c.id).order_by(Report.__table__.c.id)).scalars().all()
    report_ids = list(report_ids)
    for start in range(0, len(report_ids), batch):
        chunk = report_ids[start:start + batch]
        refresh(conn, {rid: set(PARTS) for rid in chunk})
    return len(report_ids)
