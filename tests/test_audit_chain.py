"""The audit trail is tamper-evident: `flask audit verify` passes on a real trail (the demo data,
built through the services) and fails - exit code not 0, naming the first broken link - once
anyone edits, deletes, reorders or moves an event behind the application's back (plain SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update

from app.demo import load_demo
from app.extensions import db as _db
from app.models import AuditEvent, Company, Report
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
    assert total > 50 and chains == 4  # the global chain and the three reports
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
