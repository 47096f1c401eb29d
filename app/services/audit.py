"""Append-only audit trail with a hash chain per report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import AuditAnchor, AuditEvent, Report, User, utcnow
from app.models.audit import GENESIS


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def chain_of(report: Report | None) -> str:
    return f"report:{report.id}" if report is not None else "global"


def record(
    action: str,
    actor: User | None,
    report: Report | None = None,
    *,
    discipline: str | None = None,
    changes: dict | None = None,
    comment: str | None = None,
) -> AuditEvent:
    """Append one event to the report's chain (or the global chain) in the current transaction.

    The chain's head is read from its anchor, and the event and the anchor are written with plain
    SQL statements (no unit-of-work flush): callers hold the report's write lock, so this is the
    short part of every change that other writers of the report wait for."""
    event, anchored = next_event(action, actor, report, discipline=discipline, changes=changes, comment=comment)
    for statement in write_statements(event, anchored):
        db.session.execute(statement)
    if report is not None:
        report.audit_seq = event.seq
    return event


def next_event(
    action: str,
    actor: User | None,
    report: Report | None = None,
    *,
    discipline: str | None = None,
    changes: dict | None = None,
    comment: str | None = None,
    head: tuple[int, str] | None = None,
) -> tuple[AuditEvent, bool]:
    """The chain's next event, hashed but not written, and whether the chain has an anchor yet.
    `head` (seq, hash) is the anchor when the caller already read it under the report's lock."""
    chain = chain_of(report)
    if report is not None and report.id is None:
        db.session.flush()
        chain = chain_of(report)
    anchors = AuditAnchor.__table__
    if head is None:
        head = db.session.execute(select(anchors.c.seq, anchors.c.hash).where(anchors.c.chain == chain)).first()
    last = SimpleNamespace(seq=head[0], hash=head[1]) if head is not None else None
    if last is None:  # a chain without an anchor yet (its first event, or a trail from before anchors)
        last = db.session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    event = AuditEvent(
        chain=chain,
        seq=(last.seq + 1) if last else 1,
        report_id=report.id if report is not None else None,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.name if actor is not None else "system",
        actor_company=actor.company.name if actor is not None else None,
        action=action,
        discipline=discipline,
        changes=_json_safe(changes or {}),
        comment=comment,
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = event.compute_hash()
    return event, head is not None


_COLUMNS = ("chain", "seq", "report_id", "at", "actor_id", "actor_name", "actor_company", "action", "discipline", "changes", "comment",
            "prev_hash", "hash")


def write_statements(event: AuditEvent, anchored: bool) -> list:
    """INSERT of the event and the move of its chain's anchor."""
    anchors = AuditAnchor.__table__
    move = (update(anchors).where(anchors.c.chain == event.chain).values(seq=event.seq, hash=event.hash) if anchored
            else insert(anchors).values(chain=event.chain, seq=event.seq, hash=event.hash))
    return [insert(AuditEvent.__table__).values({c: getattr(event, c) for c in _COLUMNS}), move]


@dataclass
class Break:
    chain: str
    seq: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event #{self.event_id} (seq {self.seq})" if self.event_id else f"seq {self.seq}"
        return f"{self.chain}: {where}: {self.problem}"


def verify_chains() -> tuple[int, list[Break]]:
    """Check every chain; returns (events checked, the first broken link of each broken chain).

    Detects edited events (hash mismatch), deleted events (a gap in seq or a prev_hash that does not
    match), and reordered events (seq/prev_hash order broken).
    """
    checked = 0
    breaks: list[Break] = []
    chains = db.session.scalars(select(AuditEvent.chain).distinct()).all()
    for chain in sorted(chains):
        expected_prev, expected_seq = GENESIS, 1
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq, AuditEvent.id))
        last_id = 0
        for ev in rows:
            checked += 1
            problem = None
            if ev.seq != expected_seq:
                problem = f"expected seq {expected_seq}, found {ev.seq} (an event was deleted or inserted)"
            elif ev.prev_hash != expected_prev:
                problem = "does not link to the previous event (deleted, inserted or reordered)"
            elif ev.compute_hash() != ev.hash:
                problem = "content does not match its hash (the event was altered)"
            elif ev.id < last_id:
                problem = "events are out of order"
            elif chain.startswith("report:") and ev.report_id != int(chain.split(":")[1]):
                problem = "event was moved to another report"
            if problem:
                breaks.append(Break(chain, ev.seq, ev.id, problem))
                break
            expected_prev, expected_seq, last_id = ev.hash, ev.seq + 1, ev.id
    broken = {b.chain for b in breaks}
    heads = dict(db.session.execute(select(AuditEvent.chain, db.func.max(AuditEvent.seq)).group_by(AuditEvent.chain)).all())
    tails = {e.chain: e.hash for e in db.session.scalars(
        select(AuditEvent).join(AuditAnchor, (AuditAnchor.chain == AuditEvent.chain) & (AuditAnchor.seq == AuditEvent.seq)))}
    for anchor in db.session.scalars(select(AuditAnchor)):
        if anchor.chain in broken:
            continue
        if heads.get(anchor.chain, 0) != anchor.seq or tails.get(anchor.chain) != anchor.hash:
            breaks.append(Break(anchor.chain, heads.get(anchor.chain, 0), None,
                                f"the trail should end at seq {anchor.seq}, it ends at {heads.get(anchor.chain, 0)} (events were cut off or replaced)"))
            broken.add(anchor.chain)
    for report_id, audit_seq in db.session.execute(select(Report.id, Report.audit_seq)):
        chain = f"report:{report_id}"
        if chain in broken:
            continue
        count = db.session.scalar(select(db.func.max(AuditEvent.seq)).where(AuditEvent.chain == chain)) or 0
        if count != audit_seq:
            breaks.append(Break(chain, count, None, f"the report's trail should end at seq {audit_seq}, it ends at {count} (events were cut off)"))
    return checked, breaks
