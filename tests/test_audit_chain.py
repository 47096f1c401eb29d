"""The audit trail is tamper-evident: `flask audit verify` passes on a real trail (the demo data,
built through the services) and fails - exit code not 0, naming the first broken link - once
anyone edits, deletes, reorders or moves an event behind the application's back (plain SQL),
recomputes the hashes without the key, edits a review or signature row, or - with the key -
rewrites history before the anchors kept outside."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update

from app.demo import load_demo
from app.extensions import db as _db
from app.models import AuditAnchor, AuditEvent, AuditSeal, Company, Report, Review
from app.models.audit import GENESIS
from app.services.audit import verify_chains
from tests.helpers import dump_tables, load_tables, wipe_after_module, wipe_tables

EVENTS = AuditEvent.__table__


_DEMO: dict[int, dict[str, list[dict]]] = {}


@pytest.fixture
def _clean_tables():
    """Overrides the conftest clean-up: the demo is loaded once and restored before each test
    (loading it takes most of a second)."""
    yield


@pytest.fixture(scope="module", autouse=True)
def _clean_tables_after_module(app):
    yield
    wipe_after_module(app)
    _DEMO.pop(id(app), None)


@pytest.fixture
def demo(app, db):
    """The demo data, built through the services (so its audit trail is real)."""
    rows = _DEMO.get(id(app))
    db.session.rollback()
    if rows is None:
        wipe_tables()
        db.session.commit()
        load_demo()
        db.session.commit()
        _DEMO[id(app)] = dump_tables()
    else:
        load_tables(rows)
    db.session.expire_all()
    return db


@pytest.fixture
def empty(app, db):
    db.session.rollback()
    wipe_tables()
    db.session.commit()
    return db


@pytest.fixture
def verify(app):
    """Run `flask audit verify`; returns (exit code, everything it printed)."""

    def run():
        _db.session.expire_all()  # the command must read what the tampering left, not the identity map
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        return result.exit_code, result.output

    return run


@dataclass(frozen=True)
class Event:
    """An event as it was before the tampering (ORM objects would reload the forged values)."""

    id: int
    seq: int
    chain: str
    actor_id: int | None
    at: dt.datetime
    discipline: str | None
    changes: dict
    comment: str | None


def _chain(db, report_id: int) -> list[Event]:
    rows = db.session.execute(select(EVENTS).where(EVENTS.c.chain == f"report:{report_id}").order_by(EVENTS.c.seq)).all()
    return [Event(r.id, r.seq, r.chain, r.actor_id, r.at, r.discipline, r.changes, r.comment) for r in rows]


def _longest_report_chain(db) -> tuple[int, list[Event]]:
    """The report with the most events (the demo's signed closure): its id and events."""
    report_id = db.session.scalar(
        select(AuditEvent.report_id).where(AuditEvent.report_id.is_not(None)).group_by(AuditEvent.report_id).order_by(func.count().desc()).limit(1)
    )
    return report_id, _chain(db, report_id)


def _middle(events: list[Event]) -> Event:
    return events[len(events) // 2]


def _names(output: str, event: Event) -> bool:
    """Whether the output names this event as the first broken link of its chain."""
    return f"{event.chain}: event #{event.id} (seq {event.seq})" in output


def _tamper(db, *statements) -> None:
    for statement in statements:
        db.session.execute(statement)
    db.session.commit()
    db.session.expire_all()


# ------------------------------------------------------------------------------- the real trail
def test_verify_passes_on_the_demo_trail(demo, verify):
    total = demo.session.scalar(select(func.count()).select_from(AuditEvent))
    chains = demo.session.scalar(select(func.count(func.distinct(AuditEvent.chain))))
    assert total > 50 and chains == 5  # the global chain, the three reports and the cascade
    code, output = verify()
    assert code == 0, output
    assert f"Audit trail intact: {total} events verified." in output
    checked, breaks = verify_chains()
    assert checked == total and breaks == []


def test_verify_passes_on_an_empty_database(empty, verify):
    code, output = verify()
    assert code == 0 and "0 events verified" in output, output


def test_verify_passes_when_work_goes_on_after_the_demo(demo, verify):
    from app.services import comments

    report = demo.session.scalars(select(Report).where(Report.status != "closed").order_by(Report.id)).first()
    leader = next(m.user for m in report.team if m.role.value == "leader")
    comment, _ = comments.add_comment(leader, report, report.stage, "Sorting at Zwickau finished.")
    comments.withdraw_comment(leader, comment, report)
    demo.session.commit()
    code, output = verify()
    assert code == 0, output
    assert report.audit_seq == _chain(demo, report.id)[-1].seq


def test_the_demo_anchors_every_report_at_its_last_event(demo):
    for report_id, audit_seq in demo.session.execute(select(Report.id, Report.audit_seq)):
        assert audit_seq == _chain(demo, report_id)[-1].seq


# ------------------------------------------------------------------------------ edited events
def _edits(event: Event, other_actor_id: int, other_company_id: int) -> dict[str, dict]:
    """A plausible forgery of each column an event has (the surrogate key `id` aside)."""
    return {
        "action": {"action": "discipline.viewed"},
        "changes": {"changes": {**(event.changes or {}), "forged": ["old", "new"]}},
        "comment": {"comment": (event.comment or "") + " (all fine)"},
        "actor_id": {"actor_id": other_actor_id},
        "actor_name": {"actor_name": "Somebody Else"},
        "actor_company": {"actor_company": "Nordpack Systems AB"},
        "at": {"at": event.at - dt.timedelta(days=3)},
        "discipline": {"discipline": "D7" if event.discipline != "D7" else "D6"},
        "report_id": {"report_id": None},
        "chain": {"chain": "global-forged"},
        "prev_hash": {"prev_hash": "f" * 64},
        "hash": {"hash": "e" * 64},
        "company_id": {"company_id": other_company_id},
    }


COLUMNS = ["action", "changes", "comment", "actor_id", "actor_name", "actor_company", "at", "discipline", "report_id", "chain", "prev_hash", "hash",
           "company_id"]


def test_every_column_of_an_event_is_covered_by_the_edits_below():
    assert set(COLUMNS) == {c.name for c in EVENTS.columns} - {"id", "seq"}, "a new column of audit_event needs a tampering case"


@pytest.mark.parametrize("column", COLUMNS)
def test_editing_any_column_of_an_event_is_detected(demo, verify, column):
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    other_actor = demo.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None), AuditEvent.actor_id != victim.actor_id).limit(1))
    company = demo.session.scalar(select(func.min(Company.id)))
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == victim.id).values(**_edits(victim, other_actor, company)[column]))

    code, output = verify()
    assert code != 0, f"editing {column} went unnoticed: {output}"
    assert "BROKEN" in output
    # the first broken link is the edited event itself - or, when the event left its chain, the
    # event that now follows the gap
    first_broken = events[len(events) // 2 + 1] if column == "chain" else victim
    assert _names(output, first_broken), output


def test_editing_the_seq_of_an_event_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == victim.id).values(seq=10_000))
    code, output = verify()
    follower = events[len(events) // 2 + 1]
    assert code != 0 and _names(output, follower), output


# ----------------------------------------------------------------------------- deleted events
def test_deleting_an_event_in_the_middle_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    follower = events[len(events) // 2 + 1]
    _tamper(demo, delete(EVENTS).where(EVENTS.c.id == victim.id))
    code, output = verify()
    assert code != 0 and _names(output, follower), output
    assert f"expected seq {victim.seq}" in output


def test_deleting_the_first_event_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, delete(EVENTS).where(EVENTS.c.id == events[0].id))
    code, output = verify()
    assert code != 0 and _names(output, events[1]), output


def test_deleting_the_last_event_of_a_report_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    last = events[-1]
    _tamper(demo, delete(EVENTS).where(EVENTS.c.id == last.id))
    code, output = verify()
    assert code != 0, output
    assert f"report:{report_id}: seq {last.seq - 1}:" in output and f"should end at seq {last.seq}" in output, output


def test_deleting_every_event_of_a_report_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, delete(EVENTS).where(EVENTS.c.report_id == report_id))
    code, output = verify()
    assert code != 0 and f"report:{report_id}:" in output, output


def test_deleting_the_last_event_of_the_global_trail_is_detected(demo, verify):
    """The global chain holds who created, changed, deactivated users and companies; cutting
    its newest event off must be noticed as much as for a report."""
    last = demo.session.execute(select(EVENTS.c.id).where(EVENTS.c.chain == "global").order_by(EVENTS.c.seq.desc()).limit(1)).one()
    _tamper(demo, delete(EVENTS).where(EVENTS.c.id == last.id))
    code, output = verify()
    assert code != 0 and "global:" in output, f"cutting the global chain's newest event went unnoticed: {output}"


# --------------------------------------------------------------------------- reordered, moved
def test_swapping_two_events_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    i = len(events) // 2
    a, b = events[i], events[i + 2]
    _tamper(
        demo,
        update(EVENTS).where(EVENTS.c.id == a.id).values(seq=-1),
        update(EVENTS).where(EVENTS.c.id == b.id).values(seq=a.seq),
        update(EVENTS).where(EVENTS.c.id == a.id).values(seq=b.seq),
    )
    code, output = verify()
    assert code != 0, output
    assert f"report:{report_id}: event #{b.id} (seq {a.seq})" in output, output


def test_swapping_two_neighbours_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    i = len(events) // 2
    a, b = events[i], events[i + 1]
    _tamper(
        demo,
        update(EVENTS).where(EVENTS.c.id == a.id).values(seq=-1),
        update(EVENTS).where(EVENTS.c.id == b.id).values(seq=a.seq),
        update(EVENTS).where(EVENTS.c.id == a.id).values(seq=b.seq),
    )
    code, output = verify()
    assert code != 0 and f"report:{report_id}: event #{b.id} (seq {a.seq})" in output, output


def test_moving_an_event_to_another_report_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    target = demo.session.scalar(select(Report.id).where(Report.id != report_id).limit(1))
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == victim.id).values(report_id=target))
    code, output = verify()
    assert code != 0 and _names(output, victim), output


def test_moving_an_event_into_another_reports_chain_is_detected(demo, verify):
    """Moved completely: report, chain and a seq at the end of the other report's chain."""
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    follower = events[len(events) // 2 + 1]
    target = demo.session.scalar(select(Report.id).where(Report.id != report_id).limit(1))
    target_last = _chain(demo, target)[-1].seq
    _tamper(
        demo,
        update(EVENTS).where(EVENTS.c.id == victim.id).values(report_id=target, chain=f"report:{target}", seq=target_last + 1),
        update(Report.__table__).where(Report.id == target).values(audit_seq=target_last + 1),
    )
    code, output = verify()
    assert code != 0, output
    assert _names(output, follower), output  # the gap it left behind
    assert f"report:{target}: event #{victim.id} (seq {target_last + 1})" in output, output  # the stranger it became


def test_verify_names_the_first_broken_link_of_each_chain_only(demo, verify):
    report_id, events = _longest_report_chain(demo)
    first, later = events[3], events[-3]
    _tamper(
        demo,
        update(EVENTS).where(EVENTS.c.id == first.id).values(comment="rewritten"),
        update(EVENTS).where(EVENTS.c.id == later.id).values(comment="rewritten too"),
    )
    code, output = verify()
    assert code != 0 and _names(output, first), output
    assert f"event #{later.id} " not in output
    assert output.count(f"report:{report_id}:") == 1


# ------------------------------------------------------------- keyed: the key is not in the database
ANCHORS = AuditAnchor.__table__
REVIEWS = Review.__table__


def _plain_hash(payload: dict) -> str:
    """How an unkeyed chain is hashed (and how this project hashed it before AUDIT_KEY)."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _rechain(db, chain: str, hasher) -> None:
    """Recompute every hash of a chain and move its anchor, as someone who can write the database
    would to cover an edit: `hasher(event)` gives an event's new hash."""
    db.session.expire_all()
    prev, seq = GENESIS, 0
    for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)).all():
        ev.prev_hash = prev
        ev.hash = hasher(ev)
        prev, seq = ev.hash, ev.seq
    db.session.flush()
    db.session.execute(update(ANCHORS).where(ANCHORS.c.chain == chain).values(seq=seq, hash=prev))
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("payload", ["payload", "legacy_payload"])
def test_an_edit_covered_by_recomputed_plain_hashes_is_detected(demo, verify, payload):
    """Edit an event, then recompute SHA-256 over the payload of every event of the chain (the
    new payload, or the one hashed before the key), relink and move the anchor: the keyed chain
    still breaks at the first event, since nobody without AUDIT_KEY can compute its hash."""
    report_id, events = _longest_report_chain(demo)
    victim = _middle(events)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == victim.id).values(comment="All fine, nothing to report."))
    _rechain(demo, f"report:{report_id}", lambda ev: _plain_hash(getattr(ev, payload)()))
    code, output = verify()
    assert code != 0 and _names(output, events[0]), output


def test_an_edit_covered_by_hashes_keyed_with_another_key_is_detected(demo, verify):
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == _middle(events).id).values(actor_name="Somebody Else"))
    _rechain(demo, f"report:{report_id}", lambda ev: ev.compute_hash(b"a guessed key"))
    code, output = verify()
    assert code != 0 and _names(output, events[0]), output


def test_the_chain_verifies_only_with_the_key_it_was_written_with(app, demo, verify):
    code, output = verify()
    assert code == 0, output
    right = app.config["AUDIT_KEY"]
    app.config["AUDIT_KEY"] = "another-key-another-key-another-key"
    try:
        code, output = verify()
    finally:
        app.config["AUDIT_KEY"] = right
    assert code != 0 and "BROKEN" in output


# ----------------------------------------------------------------------------------- anchors
_ANCHOR_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (global|report:\d+) \d+ [0-9a-f]{64}$")


def test_anchor_prints_every_chains_head_and_appends_to_a_file(app, demo, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "anchors.txt"
    first = runner.invoke(args=["audit", "anchor", "--out", str(out)])
    assert first.exit_code == 0, first.output
    lines = first.output.strip().splitlines()
    heads = demo.session.execute(select(ANCHORS.c.chain, ANCHORS.c.seq, ANCHORS.c.hash)).all()
    assert len(lines) == len(heads) == 5 and all(_ANCHOR_LINE.match(line) for line in lines), lines
    assert {tuple(line.split()[1:]) for line in lines} == {(c, str(s), h) for c, s, h in heads}
    assert runner.invoke(args=["audit", "anchor", "--out", str(out)]).exit_code == 0
    # appended, not overwritten (the second run's time may lie a second later)
    assert [line.split(" ", 1)[1] for line in out.read_text().splitlines()] == [line.split(" ", 1)[1] for line in lines] * 2
    verified = runner.invoke(args=["audit", "verify", "--anchors", str(out)])
    assert verified.exit_code == 0 and "10 anchors match" in verified.output, verified.output


def test_anchor_refuses_a_broken_trail(app, demo):
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == _middle(events).id).values(comment="rewritten"))
    result = app.test_cli_runner().invoke(args=["audit", "anchor"])
    assert result.exit_code != 0 and "nothing was anchored" in result.output


def test_history_rewritten_with_the_key_is_caught_by_the_anchors_kept_outside(app, demo, verify, tmp_path):
    """Someone who has the database AND the key can recompute a whole chain - `verify` alone
    passes - but not the heads the operator kept elsewhere."""
    anchors = tmp_path / "anchors.txt"
    assert app.test_cli_runner().invoke(args=["audit", "anchor", "--out", str(anchors)]).exit_code == 0
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == _middle(events).id).values(comment="We always said so."))
    key = app.config["AUDIT_KEY"].encode()
    _rechain(demo, f"report:{report_id}", lambda ev: ev.compute_hash(key))
    code, output = verify()
    assert code == 0, output  # with the key, the chain itself is consistent again
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert result.exit_code != 0, result.output
    assert f"report:{report_id}: seq {events[-1].seq}: the event at seq {events[-1].seq} is not the one anchored" in result.output


def test_an_anchor_whose_event_was_cut_off_is_reported(app, demo, tmp_path):
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("2026-11-25T19:00:00Z report:1 99999 " + "a" * 64 + "\n")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert result.exit_code != 0 and "is gone" in result.output


def test_a_malformed_anchors_file_is_refused(app, demo, tmp_path):
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("not an anchor\n")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert result.exit_code != 0 and "line 1" in result.output


# -------------------------------------------------------------------- reviews and signatures
def _signed_review(db) -> Review:
    return db.session.scalars(select(Review).where(Review.signed_at.is_not(None)).order_by(Review.id)).first()


def _review_edits(row: Review, other_user_id: int, other_report_id: int) -> dict[str, dict]:
    later = dt.timedelta(days=1)
    return {
        "report_id": {"report_id": other_report_id},
        "stage": {"stage": "D7" if row.stage != "D7" else "D6"},
        "revision": {"revision": row.revision + 1},
        "requested_at": {"requested_at": row.requested_at - later},
        "requested_by_id": {"requested_by_id": other_user_id},
        "request_comment": {"request_comment": "Ready, as agreed on the phone."},
        "decided_at": {"decided_at": row.decided_at - later},
        "decided_by_id": {"decided_by_id": other_user_id},
        "decision": {"decision": "reject"},
        "comment": {"comment": "Accepted without remarks."},
        "return_to": {"return_to": "D1"},
        "signed_name": {"signed_name": "Somebody Else"},
        "signed_at": {"signed_at": row.signed_at - later},
        "meaning": {"meaning": "closure approved"},
        "content_hash": {"content_hash": "0" * 64},
        "withdrawn_at": {"withdrawn_at": row.decided_at + later},
        "withdrawn_reason": {"withdrawn_reason": "withdrawn"},
        "kind": {"kind": "decline" if row.kind != "decline" else "stage"},
        "decline_reason": {"decline_reason": "not_our_part"},
        "related_report_id": {"related_report_id": other_report_id},
        "evidence": {"evidence": [1]},
    }


REVIEW_COLUMNS = [c.name for c in REVIEWS.columns if c.name != "id"]


def test_every_column_of_a_review_is_covered_by_the_edits_below(demo):
    row = _signed_review(demo)
    assert set(_review_edits(row, 1, 1)) == set(REVIEW_COLUMNS), "a new column of review needs a tampering case"


@pytest.mark.parametrize("column", REVIEW_COLUMNS)
def test_editing_any_column_of_a_signed_review_is_detected(demo, verify, column):
    row = _signed_review(demo)
    other_user = demo.session.scalar(select(func.max(AuditEvent.actor_id)).where(AuditEvent.actor_id != row.decided_by_id))
    other_report = demo.session.scalar(select(Report.id).where(Report.id != row.report_id).limit(1))
    review_id = row.id
    _tamper(demo, update(REVIEWS).where(REVIEWS.c.id == review_id).values(**_review_edits(row, other_user, other_report)[column]))
    code, output = verify()
    assert code != 0, f"editing review.{column} went unnoticed: {output}"
    assert f"review #{review_id}: " in output and column in output, output


def test_deleting_a_review_row_is_detected(demo, verify):
    review_id = _signed_review(demo).id
    _tamper(demo, delete(REVIEWS).where(REVIEWS.c.id == review_id))
    code, output = verify()
    assert code != 0 and f"review #{review_id} that this event records is gone" in output, output


def test_inserting_a_signature_row_is_detected(demo, verify):
    row = _signed_review(demo)
    values = {c: getattr(row, c) for c in REVIEW_COLUMNS}
    _tamper(demo, REVIEWS.insert().values(**{**values, "stage": "D5", "signed_name": "Forged Signer"}))
    code, output = verify()
    assert code != 0 and "no event records this review" in output, output


def test_a_forged_signature_with_its_event_and_recomputed_plain_hashes_is_detected(demo, verify):
    """The signature row and the event that recorded it both rewritten, the chain recomputed
    with plain SHA-256: still detected, by the key."""
    row = _signed_review(demo)
    chain = f"report:{row.report_id}"
    ev = demo.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.action == "review.approved")
                              .order_by(AuditEvent.seq)).first()
    changes = copy.deepcopy(ev.changes)
    changes["signature"][1]["signed_by"] = changes["review"][1]["signed_name"] = "Somebody Else"
    _tamper(demo, update(REVIEWS).where(REVIEWS.c.id == row.id).values(signed_name="Somebody Else"),
            update(EVENTS).where(EVENTS.c.id == ev.id).values(changes=changes))
    _rechain(demo, chain, lambda e: _plain_hash(e.payload()))
    code, output = verify()
    assert code != 0 and f"{chain}: event #" in output, output


def test_each_decision_event_carries_the_signed_review(demo):
    for row in demo.session.scalars(select(Review).where(Review.decided_at.is_not(None))):
        action = {"approve": "review.approved", "reject": "review.rejected"}[row.decision]
        ev = demo.session.scalars(select(AuditEvent).where(AuditEvent.report_id == row.report_id, AuditEvent.action == action)).all()
        recorded = [e.changes["review"][1] for e in ev if e.changes["review"][1]["id"] == row.id]
        assert len(recorded) == 1
        signed = recorded[0]
        assert signed["decision"] == row.decision and signed["content_hash"] == row.content_hash
        assert (signed["signed_name"], signed["meaning"]) == (row.signed_name, row.meaning)
        assert signed["signed_at"] == row.signed_at.isoformat(timespec="microseconds")


# --------------------------------------------------------- a trail written before AUDIT_KEY
def _as_before_the_key(db) -> None:
    """The demo's trail as an installation that predates AUDIT_KEY has it: plain SHA-256."""
    for chain in db.session.scalars(select(AuditEvent.chain).distinct()).all():
        _rechain(db, chain, lambda ev: ev.legacy_hash())


def test_a_trail_from_before_the_key_must_be_sealed_once_and_then_verifies(app, demo, verify):
    _as_before_the_key(demo)
    code, output = verify()
    assert code != 0 and "flask audit seal-legacy" in output, output
    runner = app.test_cli_runner()
    sealed = runner.invoke(args=["audit", "seal-legacy"])
    assert sealed.exit_code == 0 and "Sealed 5 chains." in sealed.output, sealed.output
    assert runner.invoke(args=["audit", "seal-legacy"]).output.startswith("Nothing to seal")
    code, output = verify()
    assert code == 0, output
    # work goes on, keyed, after the seal
    from app.services import comments

    report = demo.session.scalars(select(Report).where(Report.status != "closed").order_by(Report.id)).first()
    leader = next(m.user for m in report.team if m.role.value == "leader")
    comments.add_comment(leader, report, report.stage, "Sorting at Zwickau finished.")
    demo.session.commit()
    code, output = verify()
    assert code == 0, output
    last = demo.session.scalars(select(AuditEvent).where(AuditEvent.report_id == report.id).order_by(AuditEvent.seq.desc())).first()
    assert last.hash == last.compute_hash(app.config["AUDIT_KEY"].encode()) != last.legacy_hash()


def test_rewriting_sealed_events_and_their_plain_chain_is_detected(app, demo, verify):
    _as_before_the_key(demo)
    assert app.test_cli_runner().invoke(args=["audit", "seal-legacy"]).exit_code == 0
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == _middle(events).id).values(comment="rewritten"))
    _rechain(demo, f"report:{report_id}", lambda ev: ev.legacy_hash())
    code, output = verify()
    assert code != 0 and f"report:{report_id}: event #{events[-1].id}" in output and "seal" in output, output


def test_deleting_or_forging_a_seal_is_detected(app, demo, verify):
    _as_before_the_key(demo)
    assert app.test_cli_runner().invoke(args=["audit", "seal-legacy"]).exit_code == 0
    seals = AuditSeal.__table__
    _tamper(demo, update(seals).where(seals.c.chain == "global").values(seq=1))
    code, output = verify()
    assert code != 0 and "global: seq 1: the seal of its pre-AUDIT_KEY events was altered" in output, output
    _tamper(demo, delete(seals).where(seals.c.chain == "global"))
    code, output = verify()
    assert code != 0 and "global: event #" in output and "not keyed" in output, output


def test_a_broken_trail_is_not_sealed(app, demo):
    _as_before_the_key(demo)
    report_id, events = _longest_report_chain(demo)
    _tamper(demo, update(EVENTS).where(EVENTS.c.id == _middle(events).id).values(comment="rewritten"))
    result = app.test_cli_runner().invoke(args=["audit", "seal-legacy"])
    assert result.exit_code != 0 and "was not sealed" in result.output
    assert demo.session.scalar(select(func.count()).select_from(AuditSeal)) == 0
