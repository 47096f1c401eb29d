"""What makes two reports alike: the failure-mode words of a title (shared by the recurrence
check of the effectiveness watch, the similar past 8Ds and the duplicate warning), the part
number and its family, the words of the D4 causes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import policy
from app.extensions import db
from app.models import Action, ActionKind, DisciplineEntry, Report, Status

# Words that say nothing about how a part failed.
STOPWORDS = frozenset("""a an and are as at be by for from in into is it of on or the to with without was were not no
after before during per via its this that these those than then over under new old part parts module modules unit units lot lots
customer supplier complaint report issue problem defect defective found detected nok""".split())
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def failure_words(text: str | None) -> set[str]:
    """The failure-mode words of a title or symptom: lower case, crude stems, no stop words or numbers."""
    return {_stem(w) for w in _WORD.findall((text or "").lower()) if w not in STOPWORDS}


# ------------------------------------------------------------------------ similar past 8Ds
MAX_SIMILAR = 10


@dataclass
class Similar:
    report: Report
    score: float
    reasons: list[str]
    causes: list[str] = field(default_factory=list)
    corrective_actions: list[str] = field(default_factory=list)


def part_family(part_number: str | None) -> str | None:
    """The family of a part number: all but its last segment ("BM-12S-4471" -> "BM-12S")."""
    pn = (part_number or "").strip().upper()
    head, sep, _tail = pn.rpartition("-")
    return head if sep and len(head) >= 3 else None


def _causes(report_ids: set[int]) -> dict[int, list[str]]:
    """The D4 cause statements of these reports (one query)."""
    rows = db.session.execute(select(DisciplineEntry.report_id, DisciplineEntry.values).where(
        DisciplineEntry.report_id.in_(report_ids), DisciplineEntry.code == "D4")).all()
    return {rid: [c["statement"].strip() for c in (values or {}).get("causes") or []
                  if isinstance(c, dict) and isinstance(c.get("statement"), str) and c["statement"].strip()] for rid, values in rows}


def _score(report: Report, other: Report, words: set[str], cause_words: set[str], other_causes: str) -> tuple[float, list[str]]:
    score, reasons = 0.0, []
    if report.part_number and other.part_number and report.part_number.strip().lower() == other.part_number.strip().lower():
        score += 3
        reasons.append(_("same part number %(pn)s", pn=other.part_number))
    elif part_family(report.part_number) and part_family(report.part_number) == part_family(other.part_number):
        score += 1.5
        reasons.append(_("same part family %(f)s", f=part_family(other.part_number)))
    shared = sorted(words & failure_words(other.title))
    if shared:
        score += min(3, len(shared))
        reasons.append(_("same failure mode words: %(w)s", w=", ".join(shared[:5])))
    shared_causes = sorted(cause_words & failure_words(other_causes))
    if cause_words and len(shared_causes) >= 2:
        score += round(3 * len(shared_causes) / len(cause_words | failure_words(other_causes)), 2) + 1
        reasons.append(_("similar cause: %(w)s", w=", ".join(shared_causes[:5])))
    return score, reasons


def similar_reports(user, report: Report, limit: int = MAX_SIMILAR) -> list[Similar]:
    """Visible reports like this one - same part number or family, same failure-mode words,
    similar cause text - best first, each with why it is listed and how it ended."""
    from app.services.search import reports_with_any

    words = failure_words(report.title)
    cause_words = failure_words(" ".join(_causes({report.id}).get(report.id, [])))
    ids = set(reports_with_any(user, sorted(words | cause_words), ("header", "D2", "D4"), exclude=report.id))
    family = part_family(report.part_number)
    if family:
        ids |= set(db.session.scalars(select(Report.id).where(
            policy.visible_reports_clause(user), Report.id != report.id, func.upper(Report.part_number).like(family + "%")).limit(100)))
    found = []
    causes = _causes(ids)
    for other in db.session.scalars(select(Report).where(Report.id.in_(ids), policy.visible_reports_clause(user))).unique():
        score, reasons = _score(report, other, words, cause_words, " ".join(causes.get(other.id, [])))
        if reasons and score >= 2:
            found.append(Similar(other, round(score, 2), reasons, causes=causes.get(other.id, [])[:3]))
    found.sort(key=lambda s: (-s.score, -s.report.id))
    for item in found[:limit]:
        item.corrective_actions = list(db.session.scalars(select(Action.title).where(
            Action.report_id == item.report.id, Action.kind == ActionKind.corrective, Action.removed_at.is_(None)).order_by(Action.id).limit(5)))
    return found[:limit]


def open_like(user, oem_id: int, supplier_id: int, part_number: str | None, title: str | None, exclude: int | None = None) -> list[Report]:
    """OPEN reports of the same two companies that look like the one being opened: same part
    number and a failure-mode word of the title in common (the duplicate warning)."""
    words = failure_words(title)
    if not (part_number or "").strip() or not words:
        return []
    stmt = select(Report).where(policy.visible_reports_clause(user), Report.oem_id == oem_id, Report.supplier_id == supplier_id,
                                Report.status != Status.closed, func.lower(Report.part_number) == part_number.strip().lower())
    if exclude is not None:
        stmt = stmt.where(Report.id != exclude)
    return [r for r in db.session.scalars(stmt.order_by(Report.id.desc()).limit(50)).unique() if words & failure_words(r.title)][:10]
