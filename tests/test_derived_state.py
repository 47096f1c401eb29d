"""Derived state has one owner (app/models/changes.py): every change to a report or one of its
parts moves the report's change counter, every change to what views show of people and companies
moves the accounts generation - without any service asking for it - and nothing else does."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Presence, Report, User, accounts_generation, utcnow
from app.services import accounts, actions, comments, disciplines, evidence, reports, team


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


def counter(report_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Report.change_counter).where(Report.id == report_id))


def changes(report_id: int, change) -> int:
    """How far one committed change moves the report's counter."""
    before = counter(report_id)
    change(db.session.get(Report, report_id))
    db.session.commit()
    return counter(report_id) - before


def test_every_kind_of_change_to_a_report_moves_its_counter(parties, report):
    p = parties
    in_a_week = (utcnow().date() + dt.timedelta(days=7)).isoformat()
    moves = {
        "header": changes(report.id, lambda r: reports.update_header(p.sup_eng, r, {"part_number": "BM-12S-4471"})),
        "discipline": changes(report.id, lambda r: disciplines.save_discipline(p.sup_eng, r, "D0", 0, {"symptom": "37 of 4,800 modules"})),
        "team added": changes(report.id, lambda r: team.add_member(p.sup_eng, r, p.sup_eng2.id, "member")),
        "team changed": changes(report.id, lambda r: team.change_member(p.sup_eng, r, p.sup_eng2.id, {"function": "Laser welding"})),
        "team removed": changes(report.id, lambda r: team.remove_member(p.sup_eng, r, p.sup_eng2.id)),
        "comment": changes(report.id, lambda r: comments.add_comment(p.sup_eng, r, "D0", "Looks like the W3 fixture.")),
    }
    action = {}
    moves["action created"] = changes(report.id, lambda r: action.setdefault("a", actions.create_action(
        p.sup_eng, r, {"kind": "containment", "title": "Sort stock", "owner_id": p.oem_eng.id, "due_date": in_a_week, "location": "supplier_stock"})))
    moves["action updated"] = changes(report.id, lambda r: actions.update_action(
        p.sup_eng, db.session.get(type(action["a"]), action["a"].id), {"version": 1, "status": "in_progress"}))
    upload = {}
    moves["evidence uploaded"] = changes(report.id, lambda r: upload.setdefault("a", evidence.upload(
        p.sup_eng, r, io.BytesIO(b"lot;nok\n2609-03;12\n"), "sorting.csv", "D3")))
    moves["evidence withdrawn"] = changes(report.id, lambda r: evidence.withdraw(
        p.sup_eng, db.session.get(type(upload["a"]), upload["a"].id), r, "Wrong lot"))
    assert {kind: moved > 0 for kind, moved in moves.items()} == {kind: True for kind in moves}


def test_a_change_made_by_sql_alone_to_an_unloaded_report_is_counted_too(parties, report):
    """The report need not be in the session: the owner bumps it by its id."""
    from app.models import Comment

    comment, _ = comments.add_comment(parties.sup_eng, report, "D0", "First")
    db.session.commit()
    comment_id, report_id = comment.id, report.id
    before = counter(report_id)
    db.session.remove()
    loaded = db.session.get(Comment, comment_id)
    loaded.body = "First, edited"
    db.session.commit()
    assert counter(report_id) == before + 1


def test_presence_heartbeats_and_reads_move_nothing(parties, report):
    before = counter(report.id)
    db.session.add(Presence(report_id=report.id, user_id=parties.sup_eng.id, discipline="D0", editing=False, seen_at=utcnow()))
    db.session.commit()
    db.session.get(Report, report.id).discipline("D0")
    db.session.commit()
    assert counter(report.id) == before


def test_people_and_companies_move_the_accounts_generation_only_where_views_show_them(parties):
    p = parties
    start = accounts_generation()
    p.sup_eng.last_login_at = utcnow()  # not shown anywhere a cache keeps
    p.sup_eng.failed_signatures = 1
    db.session.commit()
    assert accounts_generation() == start
    accounts.update_user(None, p.sup_eng, name="Lukas Brandt-Weber")
    db.session.commit()
    assert accounts_generation() == start + 1
    db.session.execute(update(User).where(User.id == p.sup_eng.id).values(name="Lukas"))  # bulk SQL bypasses the ORM: not used by services
    db.session.commit()
    p.supplier.name = "CellTech Modules SE"
    db.session.commit()
    assert accounts_generation() == start + 2
