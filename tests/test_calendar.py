"""Nothing depends on today's date by accident: the demo is placed relative to the day it is
loaded (any day: next year, just after midnight, across a new year), and neither the app nor the
tests read the machine's clock instead of the app's one clock (app.models.base.utcnow)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app import method
from app.demo import load_demo, shift_dates
from app.models import Action, Report, Status, utcnow
from app.services import audit
from app.services.action_queries import is_overdue

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("now", [
    utcnow(),  # today
    utcnow() + dt.timedelta(days=400),  # a year and a month from now
    dt.datetime.combine(utcnow().date() + dt.timedelta(days=37), dt.time(0, 4)),  # four minutes after midnight
    dt.datetime(utcnow().year + 1, 1, 2, 10, 0),  # early in a new year: the stories span two years
], ids=["today", "in-400-days", "after-midnight", "new-year"])
def test_the_demo_lives_on_the_day_it_is_loaded(db, now):
    load_demo(now=now)
    today = now.date()
    closed, in_review, opened = db.session.scalars(select(Report).where(Report.parent_id.is_(None)).order_by(Report.id)).all()
    # the coolant leak's cascade to the nitrogen supplier, opened after its containment was submitted
    [cascade] = db.session.scalars(select(Report).where(Report.parent_id.is_not(None))).all()

    # 8D-...-0001: closed a few days ago after some weeks of work, every gate passed on the way
    assert closed.status == Status.closed and 2 <= (today - closed.closed_at.date()).days <= 7
    assert (closed.closed_at - closed.created_at).days >= 40
    # 8D-...-0002: submitted for the customer's D3 review yesterday; D4 due in a few days; one action overdue
    assert in_review.status == Status.in_review and in_review.stage == "D3"
    assert in_review.pending_review.requested_at.date() == today - dt.timedelta(days=1)
    assert 1 <= (dt.date.fromisoformat(in_review.due["D4"]) - today).days <= 6
    overdue = [a for a in db.session.scalars(select(Action)) if a.due_date < today and a.status.value not in ("verified", "cancelled")]
    assert [a.report_id for a in overdue] == [in_review.id]
    # 8D-...-0003: opened today, at D1
    assert opened.status == Status.open and opened.stage == "D1" and opened.created_at.date() == today
    # nothing lies ahead of the day the demo was loaded, and each number carries its own year
    assert cascade.parent_id == in_review.id and cascade.oem_id == in_review.supplier_id and cascade.stage == "D0"
    assert in_review.pending_review.requested_at < cascade.created_at <= now
    for r in (closed, in_review, opened, cascade):
        assert r.created_at <= now and r.updated_at <= now
        assert r.number == f"8D-{r.created_at.year}-{r.seq:04d}"
        assert all(v.requested_at <= now and (v.decided_at or now) <= now for v in r.reviews)
    assert audit.verify_chains()[1] == []


def test_the_demo_is_consistent_with_the_app_clock_on_any_day(db):
    """Loaded with the app's clock itself moved ahead, the overdue marks are the ones a person expects."""
    load_demo(now=utcnow())
    marks = {a.title: is_overdue(a) for a in db.session.scalars(select(Action))}
    # many actions (the closed story's all verified), one of them late: the sorting at the customer
    assert len(marks) > 1 and [title for title, late in marks.items() if late] == [
        "Helium-test the 612 blocked modules at the Volta warehouse before release"]


def test_shifting_moves_every_iso_date_and_nothing_else():
    moved = shift_dates({"on": "2026-09-02", "text": "agreed on 2026-09-03 at 14:00, ref VM-QN-2026-09873, lot 2609-05-1201",
                         "rows": [{"d": "2026-12-31"}], "n": 3, "none": None, "not_a_date": "2026-02-30"}, 2)
    assert moved == {"on": "2026-09-04", "text": "agreed on 2026-09-05 at 14:00, ref VM-QN-2026-09873, lot 2609-05-1201",
                     "rows": [{"d": "2027-01-02"}], "n": 3, "none": None, "not_a_date": "2026-02-30"}


def test_the_method_examples_pass_their_gates_whatever_the_date(ctx):
    """The examples are documentation with fixed dates; they stay valid on any later day."""
    from app.method.rules import GateContext, check_discipline
    from tests.helpers import example_action_facts

    for code in ("D2", "D3", "D4", "D5", "D6", "D7", "D8"):
        values = {c: method.EXAMPLES[c] for c in method.CODES}
        context = GateContext(header=method.HEADER_EXAMPLE, values=values, today=utcnow().date() + dt.timedelta(days=800),
                              actions=example_action_facts(), live_attachments=set(method.EXAMPLE_EVIDENCE))
        blocks = [f.message for f in check_discipline(context, code) if f.level == method.BLOCK]
        assert not blocks, (code, blocks)


WALL_CLOCK = re.compile(r"\b(date\.today\(\)|datetime\.now\(\)|datetime\.utcnow\(\)|datetime\.today\(\))")


def test_no_code_reads_the_machine_clock_for_a_date():
    """Every date of the app comes from its one clock (utcnow), which demo loading and the
    calendar tests can move; a bare call of the machine's clock elsewhere would be a time bomb nobody sees."""
    offenders = []
    for folder in ("app", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if WALL_CLOCK.search(line) and "machine-clock: intended" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_the_demo_story_keeps_its_own_order(db):
    """Parts come back before they are analysed, the fixes are implemented before the validation
    starts, the validation ends before containment is lifted and before D6 passes - on the day
    the demo is loaded, whatever day that is."""
    from app.models import AuditEvent

    load_demo(now=utcnow())
    weld = db.session.scalars(select(Report).order_by(Report.id)).first()
    values = {d.code: d.values for d in weld.disciplines}
    verified = [dt.date.fromisoformat(c["verified_on"]) for c in values["D4"]["causes"]]
    assert weld.part_return_date < min(verified) and weld.detected_on < weld.part_return_date
    actions = db.session.scalars(select(Action).where(Action.report_id == weld.id)).all()
    implemented = [a.implemented_on for a in actions if a.kind.value == "corrective"]
    period_from, period_to = (dt.date.fromisoformat(values["D6"][k]) for k in ("period_from", "period_to"))
    assert max(implemented) <= period_from and (period_to - period_from).days >= 27
    lifted = [a.removed_at for a in actions if a.kind.value == "containment"]
    d6_passed = db.session.scalars(select(AuditEvent.at).where(AuditEvent.report_id == weld.id, AuditEvent.action == "stage.advanced",
                                                               AuditEvent.discipline == "D6")).one()
    assert period_to < min(lifted).date() and max(lifted) <= d6_passed
    assert all(a.verified_by_id not in (None, a.owner_id) for a in actions)
    assert d6_passed.date() <= dt.date.fromisoformat(weld.due["D6"])  # four weeks of validation fit the 45 days
