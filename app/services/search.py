"""Full-text search across the reports a user may see - one query API over both engines.

SQLite: the FTS5 table (Porter stemming, bm25 rank); PostgreSQL: `tsv @@ plainto_tsquery`
(English stemming, ts_rank_cd). Every query joins the report and is scoped in SQL by
`policy.visible_reports_clause`, the rule of every report list: another supplier's words never
match. One hit per report (its best-ranked part), with a snippet of that part that names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import column, func, literal_column, select, table, text

from app import method, policy
from app.errors import BadRequest
from app.extensions import db
from app.models import Report, Status
from app.models.search import FTS_TABLE, MARK_END, MARK_START, PARTS, PG_CONFIG, SearchDoc

MAX_QUERY = 200
MAX_TERMS = 12
MAX_COUNT = 1_000  # reports counted for `total`, as the report list counts (more: "1,000+")
_WORD = re.compile(r"\w+", re.UNICODE)
_fts = table(FTS_TABLE, column("rowid"), column("body"))


@dataclass
class Filters:
    supplier_id: int | None = None
    status: str | None = None
    part_number: str | None = None
    discipline: str | None = None


@dataclass
class Hit:
    report_id: int
    number: str
    title: str
    status: str
    supplier: str
    part_number: str | None
    discipline: str
    snippet: str  # HTML: the text escaped, the matching words in <mark>

    @property
    def label(self) -> str:
        return part_label(self.discipline)


@dataclass
class Results:
    items: list[Hit] = field(default_factory=list)
    total: int = 0
    capped: bool = False  # more than MAX_COUNT reports match: total is MAX_COUNT
    page: int = 1
    per_page: int = 20


def part_label(part: str) -> str:
    """How a snippet names where it was found: "D4 Root cause", "Header", "Actions", "Comments"."""
    if part in method.BY_CODE:
        return f"{part} {method.BY_CODE[part].title}"
    return {"header": _("Header"), "actions": _("Actions"), "comments": _("Comments")}.get(part, part)


def terms(q: str) -> list[str]:
    return _WORD.findall((q or "")[:MAX_QUERY].lower())[:MAX_TERMS]


def check_filters(supplier_id: Any = None, status: Any = None, part_number: Any = None, discipline: Any = None) -> Filters:
    """Filters from a query string; a wrong value is a 400, never a 5xx."""
    out = Filters()
    if supplier_id not in (None, ""):
        if not str(supplier_id).isdigit() or len(str(supplier_id)) > 9:
            raise BadRequest("'supplier_id' must be an integer.", {"fields": {"supplier_id": "must be an integer"}})
        out.supplier_id = int(supplier_id)
    if status not in (None, ""):
        if status not in {s.value for s in Status}:
            raise BadRequest("'status' must be open, in_review or closed.", {"fields": {"status": "unknown status"}})
        out.status = status
    if discipline not in (None, ""):
        if discipline not in PARTS:
            raise BadRequest("'discipline' must be D0-D8, header, actions or comments.", {"fields": {"discipline": "unknown part"}})
        out.discipline = discipline
    if part_number not in (None, ""):
        out.part_number = str(part_number).strip()[:500] or None
    return out


def _matches(user, words: list[str], filters: Filters):
    """(doc id, report id, part, rank) of every visible matching part; lower rank is better."""
    doc = SearchDoc.__table__
    if db.engine.dialect.name == "postgresql":
        query = func.plainto_tsquery(text(f"'{PG_CONFIG}'::regconfig"), " ".join(words))
        rank = -func.ts_rank_cd(doc.c.tsv, query)
        stmt = select(doc.c.id, doc.c.report_id, doc.c.part, rank.label("rank")).select_from(doc.join(Report, Report.id == doc.c.report_id))
        stmt = stmt.where(doc.c.tsv.op("@@")(query))
    else:
        match = " ".join('"' + w.replace('"', "") + '"' for w in words)  # every word (AND), each as a plain token
        stmt = (select(doc.c.id, doc.c.report_id, doc.c.part, literal_column(f"bm25({FTS_TABLE})").label("rank"))
                .select_from(_fts.join(doc, doc.c.id == _fts.c.rowid).join(Report, Report.id == doc.c.report_id))
                .where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=match)))
    stmt = stmt.where(policy.visible_reports_clause(user))
    if filters.supplier_id is not None:
        stmt = stmt.where(Report.supplier_id == filters.supplier_id)
    if filters.status:
        stmt = stmt.where(Report.status == Status(filters.status))
    if filters.part_number:
        stmt = stmt.where(func.lower(Report.part_number) == filters.part_number.lower())
    if filters.discipline:
        stmt = stmt.where(doc.c.part == filters.discipline)
    return stmt


def _snippets(words: list[str], doc_ids: list[int]) -> dict[int, str]:
    if not doc_ids:
        return {}
    doc = SearchDoc.__table__
    if db.engine.dialect.name == "postgresql":
        query = func.plainto_tsquery(text(f"'{PG_CONFIG}'::regconfig"), " ".join(words))
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \""
        stmt = select(doc.c.id, func.ts_headline(text(f"'{PG_CONFIG}'::regconfig"), doc.c.body, query, options)).where(doc.c.id.in_(doc_ids))
    else:
        match = " ".join('"' + w.replace('"', "") + '"' for w in words)
        stmt = (select(_fts.c.rowid, literal_column(f"snippet({FTS_TABLE}, 0, '{MARK_START}', '{MARK_END}', ' … ', 24)"))
                .where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=match), _fts.c.rowid.in_(doc_ids)))
    return {row[0]: row[1] for row in db.session.execute(stmt)}


def highlight(raw: str) -> str:
    """The engine's snippet as safe HTML: everything escaped, the marked words in <mark>."""
    safe = str(escape(raw or "")).replace("\n", " ")
    return Markup(safe.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def _count(matches) -> tuple[int, bool]:
    """How many reports match, counted up to MAX_COUNT (past it: MAX_COUNT and capped)."""
    sub = matches.with_only_columns(matches.selected_columns.report_id).distinct().limit(MAX_COUNT + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(sub))
    return min(total, MAX_COUNT), total > MAX_COUNT


def _best_per_report(matches, offset: int, limit: int) -> list:
    """The page's hits - each report once, with its best-ranked part - read best first in growing
    batches (the engines pick the best rows of an ORDER BY ... LIMIT without sorting them all)."""
    cols = matches.selected_columns
    batch = (offset + limit) * 3 + 20
    while True:
        rows = db.session.execute(matches.order_by(cols.rank, cols.id).limit(batch)).all()
        best: dict[int, Any] = {}
        for row in rows:
            best.setdefault(row.report_id, row)
        if len(best) >= offset + limit or len(rows) < batch:
            return list(best.values())[offset:offset + limit]
        batch *= 4


def search(user, q: str, filters: Filters | None = None, page: int = 1, per_page: int = 20) -> Results:
    """One page of the visible reports that contain every word of `q`, best first."""
    filters = filters or Filters()
    words = terms(q)
    results = Results(page=page, per_page=per_page)
    if not words:
        return results
    matches = _matches(user, words, filters)
    results.total, results.capped = _count(matches)
    if not results.total:
        return results
    rows = _best_per_report(matches, (page - 1) * per_page, per_page)
    reports = {r.id: r for r in db.session.execute(
        select(Report.id, Report.number, Report.title, Report.status, Report.part_number, Report.supplier_id)
        .where(Report.id.in_([r.report_id for r in rows]))).all()}
    snippets = _snippets(words, [r.id for r in rows])
    names = _company_names({r.supplier_id for r in reports.values()})
    for r in rows:
        rep = reports[r.report_id]
        results.items.append(Hit(report_id=r.report_id, number=rep.number, title=rep.title, status=rep.status.value,
                                 supplier=names.get(rep.supplier_id, ""), part_number=rep.part_number, discipline=r.part,
                                 snippet=highlight(snippets.get(r.id, ""))))
    return results


def _company_names(ids: set[int]) -> dict[int, str]:
    from app.models import Company

    if not ids:
        return {}
    return dict(db.session.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all())



def reports_with_any(user, words: list[str], parts: tuple[str, ...], exclude: int | None = None, limit: int = 50) -> list[int]:
    """Visible reports whose given parts contain any of the words (plain letters only), best first:
    the candidates of "similar past 8Ds"."""
    words = [w for w in words if w.isalpha()][:MAX_TERMS * 2]
    if not words:
        return []
    doc = SearchDoc.__table__
    if db.engine.dialect.name == "postgresql":
        query = func.to_tsquery(text(f"'{PG_CONFIG}'::regconfig"), " | ".join(words))
        stmt = (select(doc.c.report_id, (-func.ts_rank_cd(doc.c.tsv, query)).label("rank"))
                .select_from(doc.join(Report, Report.id == doc.c.report_id)).where(doc.c.tsv.op("@@")(query)))
    else:
        stmt = (select(doc.c.report_id, literal_column(f"bm25({FTS_TABLE})").label("rank"))
                .select_from(_fts.join(doc, doc.c.id == _fts.c.rowid).join(Report, Report.id == doc.c.report_id))
                .where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=" OR ".join(f'"{w}"' for w in words))))
    stmt = stmt.where(policy.visible_reports_clause(user), doc.c.part.in_(parts))
    if exclude is not None:
        stmt = stmt.where(doc.c.report_id != exclude)
    hits = stmt.order_by(stmt.selected_columns.rank).limit(limit * 20).subquery()  # the best rows, then one per report
    return list(db.session.scalars(select(hits.c.report_id).group_by(hits.c.report_id).order_by(func.min(hits.c.rank)).limit(limit)))
