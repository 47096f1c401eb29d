"""Multi-tier 8Ds and invitations through the pages (issue 21): the supplier's leader cascades
with the form; each of the three companies sees on the report page exactly what is described;
the leader invites by e-mail, the invitee accepts on /invitations/<token>, lands on the report
and edits; a used or expired link is refused; the company admin switches invitations off."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.extensions import db as _db
from app.models import Company, OutboxMessage, Report, User, utcnow
from app.services import team as team_service
from tests.conftest import csrf_from, login, logout
from tests.test_tiers import DESCRIPTION, tiers  # noqa: F401  (the fixture)

NEW_PASSWORD = "pouch-cells-swell-at-60C"


def _post(client, page_url: str, action: str, data: dict):
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _cascade_by_form(client, p):
    r = _post(client, f"/reports/{p.report_id}", f"/reports/{p.report_id}/cascade",
              {"supplier_id": str(p.cellmaker.id), "title": "Swollen pouch cells, lot C-2611", "discipline": "D4", "description": DESCRIPTION})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    child = _db.session.scalar(select(Report).where(Report.parent_id == p.report_id))
    assert r.headers["Location"].startswith(f"/reports/{child.id}")
    return child


def test_cascade_form_and_what_each_company_sees_on_the_pages(client, tiers):  # noqa: F811
    p = tiers
    login(client, p.sup_eng)
    page = client.get(f"/reports/{p.report_id}").get_data(as_text=True)
    assert 'id="cascade-form"' in page and "Hanse Cell GmbH" in page
    child = _cascade_by_form(client, p)
    number, child_id = child.number, child.id
    team_service.add_member(p.sup_eng, _db.session.get(Report, child_id), p.cell_eng.id, "leader")
    _db.session.commit()
    parent = client.get(f"/reports/{p.report_id}").get_data(as_text=True)
    assert number in parent and "Swollen pouch cells" in parent and f'href="/reports/{child_id}"' in parent  # in full, linked
    mine = client.get(f"/reports/{child_id}?d=D2").get_data(as_text=True)
    assert "Cascaded from" in mine and p.number in mine and DESCRIPTION.split(";")[0] in mine
    logout(client)

    login(client, p.oem_eng)  # the parent's customer: that it exists, stage and status - no content, no link
    parent = client.get(f"/reports/{p.report_id}").get_data(as_text=True)
    assert number in parent and "Hanse Cell GmbH" in parent
    assert "Swollen pouch cells" not in parent and f'href="/reports/{child_id}"' not in parent and 'id="cascade-form"' not in parent
    assert client.get(f"/reports/{child_id}").status_code == 404
    logout(client)

    login(client, p.cell_eng)  # the sub-supplier: its report, no trace of the parent
    mine = client.get(f"/reports/{child_id}").get_data(as_text=True)
    assert p.number not in mine and "Cascaded from" not in mine and "Volta" not in mine
    assert client.get(f"/reports/{p.report_id}").status_code == 404
    dashboard = client.get("/").get_data(as_text=True)
    assert number in dashboard and p.number not in dashboard


def _link(email: str) -> str:
    row = _db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_email == email).order_by(OutboxMessage.id.desc())).first()
    return re.search(r"/invitations/[A-Za-z0-9_.\-]+", row.link).group(0)


def test_invite_accept_and_edit_through_the_pages(client, tiers, monkeypatch):  # noqa: F811
    p = tiers
    login(client, p.sup_eng)
    child = _cascade_by_form(client, p)
    child_id = child.id
    d1 = f"/reports/{child_id}?d=D1"
    page = client.get(d1).get_data(as_text=True)
    assert 'id="invite-form"' in page
    r = _post(client, d1, f"/reports/{child_id}/invitations",
              {"email": "ole.hansen@hansecell.example", "name": "Ole Hansen", "company_id": str(p.cellmaker.id), "role": "engineer"})
    assert r.status_code == 302
    page = client.get(d1).get_data(as_text=True)
    assert "ole.hansen@hansecell.example" in page and "waiting" in page
    link = _link("ole.hansen@hansecell.example")
    logout(client)

    page = client.get(link)
    assert page.status_code == 200 and "Ole Hansen" in page.get_data(as_text=True)
    bad = client.post(link, data={"name": "Ole Hansen", "password": "short", "confirm": "short", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert bad.status_code == 422
    page = client.get(link)
    r = client.post(link, data={"name": "Ole Hansen", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert r.status_code == 302 and r.headers["Location"] == f"/reports/{child_id}"
    ole = _db.session.scalar(select(User).where(User.email == "ole.hansen@hansecell.example"))
    assert ole.company_id == p.cellmaker.id
    # signed in; he edits D2 of his company's report
    work = client.get(f"/reports/{child_id}?d=D2")
    assert work.status_code == 200
    saved = client.post(f"/reports/{child_id}/disciplines/D2", data={
        "base_version": "1", "present": "supplier_description", "f.supplier_description": "Weld parameters of line 4 drifted after maintenance",
        "csrf_token": csrf_from(work.get_data(as_text=True))})
    assert saved.status_code == 302
    assert "Weld parameters of line 4" in client.get(f"/reports/{child_id}?d=D2").get_data(as_text=True)
    logout(client)
    # the link worked once
    assert client.get(link).status_code == 410

    # an expired link (the app's clock, seven days on) is refused too
    login(client, p.sup_eng)
    _post(client, d1, f"/reports/{child_id}/invitations",
          {"email": "greta.sommer@hansecell.example", "name": "Greta Sommer", "company_id": str(p.cellmaker.id), "role": "viewer"})
    late = _link("greta.sommer@hansecell.example")
    logout(client)
    later = utcnow() + dt.timedelta(days=7, seconds=1)
    monkeypatch.setattr("app.models.invitation.utcnow", lambda: later)
    assert client.get(late).status_code == 410
    assert client.get("/invitations/not-a-link").status_code == 404


def test_the_company_admin_switches_invitations_off(client, tiers, make_user):  # noqa: F811
    p = tiers
    admin = make_user("admin", p.supplier, "Jonas Keller")
    login(client, admin)
    r = _post(client, "/admin/companies", f"/admin/companies/{p.supplier.id}/settings", {"allow_invitations": "0"})
    assert r.status_code == 302
    assert _db.session.get(Company, p.supplier.id).allow_invitations is False
    assert _post(client, "/admin/companies", f"/admin/companies/{p.oem.id}/settings", {"allow_invitations": "0"}).status_code == 404
    logout(client)
    login(client, p.sup_eng)
    page = client.get(f"/reports/{p.report_id}?d=D1").get_data(as_text=True)
    assert "does not allow invitations" in page
