"""Append-only audit trail with a keyed hash chain per report (and one global chain).

Every event's hash is HMAC-SHA256(AUDIT_KEY, its content + the previous event's hash). The key is
not in the database: someone who can write the database but not read the key can neither edit an
event nor recompute a chain unnoticed. `flask audit anchor` prints the chains' heads so that an
operator can keep them elsewhere; `flask audit verify --anchors FILE` checks that the history up
to those heads was not rewritten - even by someone who later got hold of the key.

Reviews and their electronic signatures are rows of their own (`review`); every change to one
(requested, decided and signed, acceptance withdrawn) writes an event carrying the row's values,
and `verify_chains` compares every review row with its events.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import AuditAnchor, AuditEvent, AuditSeal, Report, Review, User, utcnow
from app.models.audit import GENESIS, seal_mac


def audit_key() -> bytes:
    key = current_app.config.get("AUDIT_KEY")
    if not key:
        raise RuntimeError("AUDIT_KEY is not configured")
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


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
    company_id: int | None = None,
) -> AuditEvent:
    """Append one event to the report's chain (or the global chain) in the current transaction.
    `company_id` names the company an event of the global chain is about (what its admins see).

    The chain's head is read from its anchor, and the event and the anchor are written with plain
    SQL statements (no unit-of-work flush): callers hold the report's write lock, so this is the
    short part of every change that other writers of the report wait for."""
    event, anchored = next_event(action, actor, report, discipline=discipline, changes=changes, comment=comment, company_id=company_id)
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
    company_id: int | None = None,
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
        company_id=company_id if report is None else None,
    )
    event.hash = event.compute_hash(audit_key())
    return event, head is not None


_COLUMNS = ("chain", "seq", "report_id", "at", "actor_id", "actor_name", "actor_company", "action", "discipline", "changes", "comment",
            "prev_hash", "hash", "company_id")


def write_statements(event: AuditEvent, anchored: bool) -> list:
    """INSERT of the event and the move of its chain's anchor."""
    anchors = AuditAnchor.__table__
    move = (update(anchors).where(anchors.c.chain == event.chain).values(seq=event.seq, hash=event.hash) if anchored
            else insert(anchors).values(chain=event.chain, seq=event.seq, hash=event.hash))
    return [insert(AuditEvent.__table__).values({c: getattr(event, c) for c in _COLUMNS}), move]


# ------------------------------------------------------------------------------ reviews, signatures
#: The columns of a review row. The request records all of them (a decision or a withdrawal not
#: made yet is recorded as none), the decision and the withdrawal the ones they set.
REQUEST_COLUMNS = tuple(c.name for c in Review.__table__.columns if c.name != "id")
DECISION_COLUMNS = ("decided_at", "decided_by_id", "decision", "comment", "return_to", "signed_name", "signed_at", "meaning", "content_hash")
WITHDRAWAL_COLUMNS = ("withdrawn_at", "withdrawn_reason")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    return value


def review_snapshot(review: Review, columns: tuple[str, ...]) -> dict:
    """What an event records of a review row: its id and these columns, exactly as stored."""
    if review.id is None:
        db.session.flush()
    return {"id": review.id, **{c: _plain(getattr(review, c)) for c in columns}}


# ------------------------------------------------------------------------------------ verification
@dataclass
class Break:
    chain: str
    seq: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event #{self.event_id} (seq {self.seq})" if self.event_id else f"seq {self.seq}"
        return f"{self.chain}: {where}: {self.problem}"


def verify_chains(anchors: list[tuple[str, int, str]] | None = None) -> tuple[int, list[Break]]:
    """Check every chain; returns (events checked, the first broken link of each broken chain).

    Detects edited events (keyed hash mismatch - recomputing plain hashes does not help),
    deleted events (a gap in seq or a prev_hash that does not match), reordered events, edited
    or deleted review and signature rows, and - with `anchors` (chain, seq, hash) from
    `anchor_lines` kept outside - history rewritten before those anchors.
    """
    key = audit_key()
    seals = {s.chain: s for s in db.session.scalars(select(AuditSeal))}
    checked = 0
    breaks: list[Break] = []
    for chain in sorted(db.session.scalars(select(AuditEvent.chain).distinct()).all()):
        seal = seals.pop(chain, None)
        if seal is not None and not hmac.compare_digest(seal.mac, seal_mac(key, seal.chain, seal.seq, seal.hash)):
            breaks.append(Break(chain, seal.seq, None, "the seal of its pre-AUDIT_KEY events was altered"))
            continue
        walked, broken = _walk_chain(chain, seal, key)
        checked += walked
        if broken is not None:
            breaks.append(broken)
    for chain, seal in seals.items():  # a seal without a chain: the whole chain was deleted
        breaks.append(Break(chain, seal.seq, None, f"the trail should reach its seal at seq {seal.seq}, it has no events"))
    breaks.extend(_check_ends({b.chain for b in breaks}))
    breaks.extend(_check_anchors(anchors or []))
    breaks.extend(verify_reviews(seals_by_chain={s.chain: s for s in db.session.scalars(select(AuditSeal))}))
    return checked, breaks


def _walk_chain(chain: str, seal: AuditSeal | None, key: bytes) -> tuple[int, Break | None]:
    """Events checked in one chain, and its first broken link."""
    expected_prev, expected_seq, last_id, checked = GENESIS, 1, 0, 0
    for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq, AuditEvent.id)):
        checked += 1
        problem = _event_problem(ev, chain, seal, key, expected_seq, expected_prev, last_id)
        if problem:
            return checked, Break(chain, ev.seq, ev.id, problem)
        expected_prev, expected_seq, last_id = ev.hash, ev.seq + 1, ev.id
    if seal is not None and seal.seq >= expected_seq:
        return checked, Break(chain, seal.seq, None, f"the trail should reach its seal at seq {seal.seq}, it ends at {expected_seq - 1}")
    return checked, None


def _event_problem(ev: AuditEvent, chain: str, seal: AuditSeal | None, key: bytes, expected_seq: int, expected_prev: str, last_id: int) -> str | None:
    legacy = seal is not None and ev.seq <= seal.seq
    if ev.seq != expected_seq:
        return f"expected seq {expected_seq}, found {ev.seq} (an event was deleted or inserted)"
    if ev.prev_hash != expected_prev:
        return "does not link to the previous event (deleted, inserted or reordered)"
    if legacy and ev.legacy_hash() != ev.hash:
        return "content does not match its hash (the event was altered)"
    if legacy and ev.seq == seal.seq and ev.hash != seal.hash:
        return "the events before AUDIT_KEY were rewritten (they do not end at their seal)"
    if not legacy and not hmac.compare_digest(ev.compute_hash(key), ev.hash):
        if seal is None and ev.legacy_hash() == ev.hash:
            return ("is not keyed with AUDIT_KEY: written before the key, or forged. After upgrading an existing "
                    "installation run `flask audit seal-legacy` once (see README)")
        return "content does not match its hash (the event was altered)"
    if ev.id < last_id:
        return "events are out of order"
    if (chain.startswith("report:") and ev.report_id != int(chain.split(":")[1])) or (chain == "global" and ev.report_id is not None):
        return "event was moved to another report"
    return None


def _check_ends(broken: set[str]) -> list[Break]:
    """Trails cut off at their end: the anchors kept in the database, and each report's own count."""
    breaks: list[Break] = []
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
        count = heads.get(chain, 0) or 0
        if count != audit_seq:
            breaks.append(Break(chain, count, None, f"the report's trail should end at seq {audit_seq}, it ends at {count} (events were cut off)"))
            broken.add(chain)
    return breaks


def _check_anchors(anchors: list[tuple[str, int, str]]) -> list[Break]:
    """Anchors kept outside the database (`flask audit anchor --out`): the events they name still stand."""
    breaks: list[Break] = []
    for chain, seq, hash_ in anchors:
        found = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.chain == chain, AuditEvent.seq == seq))
        if found is None:
            breaks.append(Break(chain, seq, None, f"the event anchored at seq {seq} is gone (history before an anchor was removed)"))
        elif not hmac.compare_digest(found, hash_):
            breaks.append(Break(chain, seq, None, f"the event at seq {seq} is not the one anchored (history before an anchor was rewritten)"))
    return breaks


def _review_refs(ev: AuditEvent) -> dict | None:
    change = (ev.changes or {}).get("review")
    if isinstance(change, list) and len(change) == 2 and isinstance(change[1], dict) and "id" in change[1]:
        return change[1]
    return None


def verify_reviews(seals_by_chain: dict[str, AuditSeal] | None = None) -> list[Break]:
    """Every review row (a staged submission, its decision and signature, a withdrawn
    acceptance) must hold exactly what its events recorded, and every recorded review must exist."""
    seals_by_chain = seals_by_chain or {}
    recorded: dict[int, tuple[dict, AuditEvent]] = {}
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.report_id.is_not(None), AuditEvent.action.like("review.%") | AuditEvent.action.like("decline.%"))
        .order_by(AuditEvent.chain, AuditEvent.seq))
    legacy_signatures: dict[tuple[int, str], AuditEvent] = {}
    for ev in events:
        refs = _review_refs(ev)
        if refs is None:
            signature = (ev.changes or {}).get("signature")
            if ev.action == "review.approved" and isinstance(signature, list) and len(signature) == 2 and isinstance(signature[1], dict):
                legacy_signatures[(ev.report_id, str(signature[1].get("signed_at")))] = ev
            continue
        expected, first = recorded.get(refs["id"], ({}, ev))
        expected.update({k: v for k, v in refs.items() if k != "id"})
        expected.setdefault("report_id", ev.report_id)
        recorded[refs["id"]] = (expected, first)
    breaks: list[Break] = []
    seen: set[int] = set()
    for row in db.session.scalars(select(Review).order_by(Review.id)):
        seen.add(row.id)
        chain = f"report:{row.report_id}"
        if row.id not in recorded:
            if chain in seals_by_chain and row.requested_at <= _sealed_at(seals_by_chain[chain]):
                problem = _legacy_review_problem(row, legacy_signatures)  # decided before AUDIT_KEY
            else:
                problem = "no event records this review (a review or signature row was inserted)"
            if problem:
                breaks.append(Break(chain, None, None, f"review #{row.id}: {problem}"))
            continue
        expected, _first = recorded[row.id]
        wrong = sorted(c for c, v in expected.items() if _plain(getattr(row, c, None)) != v)
        if wrong:
            breaks.append(Break(chain, None, None, f"review #{row.id}: {', '.join(wrong)} differ from the signed record (a review or signature row was edited)"))
    for review_id, (_expected, first) in recorded.items():
        if review_id not in seen:
            breaks.append(Break(first.chain, first.seq, first.id, f"review #{review_id} that this event records is gone (a review or signature row was deleted)"))
    return breaks


def _sealed_at(seal: AuditSeal) -> dt.datetime:
    at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.chain == seal.chain, AuditEvent.seq == seal.seq))
    return at or dt.datetime.min


def _legacy_review_problem(row: Review, legacy_signatures: dict) -> str | None:
    """Reviews decided before AUDIT_KEY: their events carried the signature alone, so that is
    what can be compared."""
    if not row.signed_at:
        return None
    ev = legacy_signatures.get((row.report_id, row.signed_at.isoformat() + "Z"))
    if ev is None:
        return "no event records this signature (a signature row was inserted or edited)"
    signed = ev.changes["signature"][1]
    if (signed.get("signed_by"), signed.get("meaning"), signed.get("content_hash")) != (row.signed_name, row.meaning, row.content_hash):
        return "the signature differs from the signed record (a signature row was edited)"
    return None


# --------------------------------------------------------------------------------- anchors, seals
_ANCHOR_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\d+)\s+([0-9a-f]{64})$")


def anchor_lines() -> list[str]:
    """`<UTC time> <chain> <seq> <hash>` for the head of every chain, to be kept elsewhere."""
    at = utcnow().replace(microsecond=0).isoformat() + "Z"
    heads = db.session.execute(select(AuditAnchor.chain, AuditAnchor.seq, AuditAnchor.hash).order_by(AuditAnchor.chain)).all()
    return [f"{at} {chain} {seq} {hash_}" for chain, seq, hash_ in heads]


def parse_anchors(text: str) -> list[tuple[str, int, str]]:
    """The (chain, seq, hash) of an anchors file; blank lines and # comments are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _ANCHOR_LINE.match(line)
        if not m:
            raise ValueError(f"line {number} is not '<time> <chain> <seq> <hash>': {line[:80]!r}")
        out.append((m.group(2), int(m.group(3)), m.group(4)))
    return out


def seal_legacy() -> list[tuple[str, int]]:
    """Seal the events each chain has from before AUDIT_KEY (plain SHA-256 links) with a keyed
    MAC of the last one, once, after the upgrade. Refuses chains whose plain links or keyed
    continuation do not verify: a broken trail is not sealed as if it were intact."""
    key = audit_key()
    sealed_chains = set(db.session.scalars(select(AuditSeal.chain)))
    sealed: list[tuple[str, int]] = []
    for chain in sorted(set(db.session.scalars(select(AuditEvent.chain).distinct())) - sealed_chains):
        expected_prev, expected_seq, boundary = GENESIS, 1, None
        for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq, AuditEvent.id)):
            keyed = hmac.compare_digest(ev.compute_hash(key), ev.hash)
            if ev.seq != expected_seq or ev.prev_hash != expected_prev or not (keyed or (boundary is None and ev.legacy_hash() == ev.hash)):
                raise ValueError(f"{chain}: event #{ev.id} (seq {ev.seq}) does not verify; the trail was not sealed")
            if keyed and boundary is None:
                boundary = expected_seq - 1
            expected_prev, expected_seq = ev.hash, ev.seq + 1
        last = expected_seq - 1 if boundary is None else boundary
        if last == 0:
            continue  # keyed from its first event
        head = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.chain == chain, AuditEvent.seq == last))
        db.session.add(AuditSeal(chain=chain, seq=last, hash=head, mac=seal_mac(key, chain, last, head)))
        sealed.append((chain, last))
    return sealed
