"""A report's three views - the API's JSON, the workspace page and the PDF - are kept under one
version (app/services/documents.py) and validated by it: every kind of change to the report, its
parts, the people and companies shown in it, and the day, changes all three ETags at once; a
client holding the latest copy gets 304 with no body and no new Content-Security-Policy."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine

from app.extensions import db
from app.models import Company, Report, User, utcnow
from app.services import accounts, actions, comments, disciplines, evidence, reports, team
from tests.conftest import login

VIEWS = ("json", "page", "pdf")


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


@pytest.fixture
def views(app, parties, report, api):
    """Fetches the three views as the OEM engineer (a team member) and returns their ETags."""
    held = {}
    paths = {"json": f"/api/v1/reports/{report.id}", "page": f"/reports/{report.id}?d=D0", "pdf": f"/reports/{report.id}/export.pdf"}

    def sign_in() -> None:
        held["page"] = page_client = app.test_client()  # a new browser: whatever the clock, not signed in yet
        assert login(page_client, parties.oem_eng).status_code in (200, 302)
        page_client.get("/")  # the welcome message is shown (pages with a message are never kept)
        held["token"] = api(parties.oem_eng)

    def fetch(name: str, **headers):
        if name == "json":
            return held["token"].get(paths[name], headers=headers)
        return held["page"].get(paths[name], headers=headers)

    def etags() -> dict[str, str]:
        db.session.expire_all()  # what a new request sees
        tags = {}
        for name in VIEWS:
            response = fetch(name)
            assert response.status_code == 200, (name, response.status_code)
            tags[name] = response.headers["ETag"]
        return tags

    sign_in()
    etags.fetch, etags.sign_in = fetch, sign_in
    return etags


def _change(change):
    db.session.expire_all()
    change()
    db.session.commit()


def test_every_kind_of_change_changes_every_view_at_once(parties, report, views):
    p = parties
    in_a_week = (utcnow().date() + dt.timedelta(days=7)).isoformat()
    rid = report.id
    held = {}

    def r() -> Report:
        return db.session.get(Report, rid)

    kinds = {
        "header": lambda: reports.update_header(p.sup_eng, r(), {"part_number": "BM-12S-4471"}),
        "discipline": lambda: disciplines.save_discipline(p.sup_eng, r(), "D0", 0, {"symptom": "37 of 4,800 modules"}),
        "team added": lambda: team.add_member(p.sup_eng, r(), p.sup_eng2.id, "member"),
        "team changed": lambda: team.change_member(p.sup_eng, r(), p.sup_eng2.id, {"function": "Laser welding"}),
        "comment": lambda: comments.add_comment(p.sup_eng, r(), "D0", "Looks like the W3 fixture."),
        "action": lambda: held.setdefault("action", actions.create_action(
            p.sup_eng, r(), {"kind": "containment", "title": "Sort stock", "owner_id": p.oem_eng.id, "due_date": in_a_week,
                             "location": "supplier_stock"})),
        "evidence": lambda: evidence.upload(p.sup_eng, r(), io.BytesIO(b"lot;nok\n2609-03;12\n"), "sorting.csv", "D3"),
        "person renamed": lambda: accounts.update_user(p.admin, db.session.get(User, p.oem_eng.id), name="Jana Weber-Lang"),
        "company renamed": lambda: setattr(db.session.get(Company, p.supplier.id), "name", "CellTech Modules SE"),
    }
    before = views()
    for kind, change in kinds.items():
        _change(change)
        after = views()
        assert {v: after[v] != before[v] for v in VIEWS} == dict.fromkeys(VIEWS, True), kind
        before = after


def test_the_next_day_changes_every_view(parties, report, views):
    """Overdue marks follow the calendar: at midnight every view is a new version."""
    from app.models import base

    late = dt.datetime.combine(utcnow().date(), dt.time(23, 58), tzinfo=dt.UTC) - base._clock_offset
    with time_machine.travel(late, tick=False) as clock:
        views.sign_in()
        before = views()
        assert views() == before  # nothing changed, nothing moves
        clock.shift(dt.timedelta(minutes=4))
        assert {v: t != before[v] for v, t in views().items()} == dict.fromkeys(VIEWS, True)


def test_the_latest_copy_is_answered_304_without_body_or_new_policy(parties, report, views):
    tags = views()
    for name in VIEWS:
        response = views.fetch(name, **{"If-None-Match": tags[name]})
        assert response.status_code == 304, name
        assert response.get_data() == b"" and response.headers["ETag"] == tags[name]
        assert "Content-Security-Policy" not in response.headers, name
        stale = views.fetch(name, **{"If-None-Match": '"not-this-one"'})
        assert stale.status_code == 200 and stale.headers["ETag"] == tags[name]
        assert stale.headers["Cache-Control"] == "private, no-cache" and stale.headers.get("Last-Modified")
    _change(lambda: reports.update_header(parties.sup_eng, db.session.get(Report, report.id), {"part_number": "BM-1"}))
    for name in VIEWS:
        assert views.fetch(name, **{"If-None-Match": tags[name]}).status_code == 200, name


def test_a_view_shows_its_change_at_once_and_never_another_companys_copy(app, parties, report, views, api):
    tags = views()
    _change(lambda: reports.update_header(parties.sup_eng, db.session.get(Report, report.id), {"part_number": "BM-99"}))
    db.session.expire_all()
    assert views.fetch("json").get_json()["part_number"] == "BM-99"
    assert "BM-99" in views.fetch("page").get_data(as_text=True)
    # Another supplier's engineer holding the ETag learns nothing: 404, like a report that does not exist.
    outsider = api(parties.other_eng)
    assert outsider.get(f"/api/v1/reports/{report.id}", headers={"If-None-Match": tags["json"]}).status_code == 404


def test_a_comment_edit_window_that_closes_changes_the_page(app, parties, report, views):
    """The page of one's own comment offers "Save edit" for 15 minutes; a page kept from then must
    not offer it afterwards."""
    _change(lambda: comments.add_comment(parties.oem_eng, db.session.get(Report, report.id), "D0", "Checked the W3 fixture."))
    page = views.fetch("page")
    assert "Save edit" in page.get_data(as_text=True)
    from app.models import base

    with time_machine.travel(utcnow() - base._clock_offset + dt.timedelta(minutes=16), tick=False):  # the machine's clock
        later = views.fetch("page", **{"If-None-Match": page.headers["ETag"]})
        assert later.status_code == 200
        assert "Save edit" not in later.get_data(as_text=True)
        assert "The 15-minute edit window has passed." in later.get_data(as_text=True)
