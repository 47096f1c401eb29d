"""Invitations (issue 21): a report's leader or champion invites a person of one of the report's
two companies by e-mail; the signed link works once, for 7 days (the app's clock); the invitee
sets a name and a password and joins the company and the team - and edits. Everything audited;
only a hash of the link's key is stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import Company, Invitation, OutboxMessage, User, utcnow
from app.services import reports as report_service
from app.services import team as team_service

NEW_PASSWORD = "pouch-cells-swell-at-60C"


@pytest.fixture
def report(parties):
    p = parties
    r = report_service.create_report(p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team_service.add_member(p.oem_eng, r, p.sup_eng.id, "leader")
    team_service.change_member(p.oem_eng, r, p.oem_eng.id, {"role": "member"})
    _db.session.commit()
    return r.id


def _invite(api, user, report_id, **extra):
    body = {"email": "nina.neu@celltech.example", "name": "Nina Neu", "company_id": None, "role": "engineer", **extra}
    return api(user).post(f"/api/v1/reports/{report_id}/invitations", json=body)


def _link(email: str) -> str:
    row = _db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_email == email).order_by(OutboxMessage.id.desc())).first()
    assert row is not None, "no invitation mail in the outbox"
    m = re.search(r"/invitations/([A-Za-z0-9_.\-]+)", row.body_text)
    assert m and m.group(0) in row.link
    return m.group(1)


def test_an_invited_engineer_joins_and_edits(api, parties, report):
    p = parties
    r = _invite(api, p.sup_eng, report, company_id=p.supplier.id)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["email"] == "nina.neu@celltech.example" and body["state"] == "pending"
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).replace(tzinfo=None)
    assert abs((expires - utcnow()) - dt.timedelta(days=7)) < dt.timedelta(minutes=5)
    token = _link("nina.neu@celltech.example")
    mail = _db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_email == "nina.neu@celltech.example"))
    assert mail.recipient_id is None and mail.report_id == report and "Accept the invitation" in mail.body_text
    # only a hash of the key is stored
    inv = _db.session.get(Invitation, body["id"])
    assert token not in (inv.token_hash,) and len(inv.token_hash) == 64

    accepted = api().post(f"/api/v1/invitations/{token}", json={"name": "Nina Neu", "password": NEW_PASSWORD})
    assert accepted.status_code == 201, accepted.get_json()
    user = accepted.get_json()
    assert user["company"]["id"] == p.supplier.id and user["role"] == "engineer"
    team = api(p.sup_eng).get(f"/api/v1/reports/{report}/team").get_json()["items"]
    assert {"user_id": user["id"], "role": "member"}.items() <= next(m for m in team if m["user_id"] == user["id"]).items()
    # she signs in and edits
    nina = _db.session.get(User, user["id"])
    r = api(nina, NEW_PASSWORD).patch(f"/api/v1/reports/{report}/disciplines/D2", json={"base_version": 0, "fields": {"problem_statement": "37 modules"}})
    assert r.status_code == 200, r.get_json()
    actions = [e["action"] for e in api(p.sup_eng).get(f"/api/v1/reports/{report}/events").get_json()["items"]]
    assert {"invitation.created", "invitation.accepted", "team.added"} <= set(actions)

    # the link works once
    again = api().post(f"/api/v1/invitations/{token}", json={"name": "Nina Neu", "password": NEW_PASSWORD})
    assert again.status_code == 410 and again.get_json()["error"] == "gone"
    listed = api(p.sup_eng).get(f"/api/v1/reports/{report}/invitations").get_json()["items"]
    assert [i["state"] for i in listed] == ["used"]


def test_an_expired_or_revoked_link_is_refused(api, parties, report, monkeypatch):
    p = parties
    _invite(api, p.sup_eng, report, company_id=p.supplier.id, email="late@celltech.example")
    late = _link("late@celltech.example")
    # seven days and a minute later, by the app's clock
    later = utcnow() + dt.timedelta(days=7, minutes=1)
    monkeypatch.setattr("app.models.invitation.utcnow", lambda: later)
    r = api().post(f"/api/v1/invitations/{late}", json={"name": "Late Comer", "password": NEW_PASSWORD})
    assert r.status_code == 410 and r.get_json()["details"]["state"] == "expired"
    monkeypatch.undo()

    inv = _invite(api, p.sup_eng, report, company_id=p.supplier.id, email="gone@celltech.example").get_json()
    token = _link("gone@celltech.example")
    assert api(p.sup_eng).delete(f"/api/v1/invitations/{inv['id']}").status_code == 204
    assert api(p.sup_eng).delete(f"/api/v1/invitations/{inv['id']}").status_code == 409
    assert api().post(f"/api/v1/invitations/{token}", json={"name": "Gone", "password": NEW_PASSWORD}).status_code == 410
    # forged or altered links do not exist
    assert api().post(f"/api/v1/invitations/{token[:-2]}xx", json={"name": "X", "password": NEW_PASSWORD}).status_code == 404
    assert api().post("/api/v1/invitations/nonsense", json={"name": "X", "password": NEW_PASSWORD}).status_code == 404
    assert _db.session.scalar(select(User).where(User.email.in_(["late@celltech.example", "gone@celltech.example"]))) is None
    events = [e["action"] for e in api(p.sup_eng).get(f"/api/v1/reports/{report}/events").get_json()["items"]]
    assert "invitation.revoked" in events


def test_the_password_policy_applies(api, parties, report):
    p = parties
    _invite(api, p.sup_eng, report, company_id=p.supplier.id)
    token = _link("nina.neu@celltech.example")
    r = api().post(f"/api/v1/invitations/{token}", json={"name": "Nina Neu", "password": "short"})
    assert r.status_code == 422 and "password" in r.get_json()["details"]["fields"]
    assert api().post(f"/api/v1/invitations/{token}", json={"name": "Nina Neu", "password": NEW_PASSWORD}).status_code == 201


def test_an_existing_account_just_joins_the_team(api, parties, report):
    p = parties
    r = _invite(api, p.sup_eng, report, company_id=p.supplier.id, email=p.sup_eng2.email, role="viewer")
    assert r.status_code == 201 and r.get_json()["joined"] is True
    team = api(p.sup_eng).get(f"/api/v1/reports/{report}/team").get_json()["items"]
    assert next(m for m in team if m["user_id"] == p.sup_eng2.id)["role"] == "viewer"
    assert not _db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_email == p.sup_eng2.email, OutboxMessage.event == "invitation.created"))
    # an account of another company cannot be invited into this one
    r = _invite(api, p.sup_eng, report, company_id=p.supplier.id, email=p.other_eng.email)
    assert r.status_code == 422


def test_who_may_invite_and_into_which_company(api, parties, report, make_user):
    p = parties
    assert _invite(api, p.oem_eng, report, company_id=p.oem.id).status_code == 403  # a member, not leader or champion
    assert _invite(api, p.other_eng, report, company_id=p.other.id).status_code == 404
    assert _invite(api, p.sup_eng, report, company_id=p.other.id).status_code == 422  # not a company of the report
    assert _invite(api, p.sup_eng, report, company_id=p.oem.id, email="lena@volta.example").status_code == 201  # the customer's people too
    assert _invite(api, p.sup_eng, report, company_id=p.supplier.id, role="admin").status_code == 422
    # the company's admin switches invitations off
    sup_admin = make_user("admin", p.supplier, "Jonas Keller")
    assert api(sup_admin).patch(f"/api/v1/admin/companies/{p.supplier.id}", json={"allow_invitations": False}).status_code == 200
    assert api(sup_admin).patch(f"/api/v1/admin/companies/{p.oem.id}", json={"allow_invitations": False}).status_code == 404
    assert api(p.sup_eng).patch(f"/api/v1/admin/companies/{p.supplier.id}", json={"allow_invitations": True}).status_code == 403
    r = _invite(api, p.sup_eng, report, company_id=p.supplier.id)
    assert r.status_code == 403 and "does not allow invitations" in r.get_json()["message"]
    assert _db.session.get(Company, p.supplier.id).allow_invitations is False


def test_listing_and_revoking_are_for_the_team_managers(api, parties, report):
    p = parties
    inv = _invite(api, p.sup_eng, report, company_id=p.supplier.id).get_json()
    assert api(p.oem_eng).get(f"/api/v1/reports/{report}/invitations").status_code == 403
    assert api(p.oem_eng).delete(f"/api/v1/invitations/{inv['id']}").status_code == 403
    assert api(p.other_eng).delete(f"/api/v1/invitations/{inv['id']}").status_code == 404
    assert api(p.admin).get(f"/api/v1/reports/{report}/invitations").status_code == 200  # an admin of one of its companies
    assert api(p.admin).delete(f"/api/v1/invitations/{inv['id']}").status_code == 204
    assert _db.session.get(Invitation, inv["id"]).revoked_at is not None


def test_the_invitation_mail_goes_out_through_the_outbox_to_the_address(app, api, parties, report, tmp_path):
    """The invitee has no account yet: the mail is written to the address and the worker sends it
    (here as an .eml file) with the link to /invitations/<token>."""
    import email
    import email.policy

    from app import notify

    p = parties
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "NOTIFY_MAIL_DIR")}
    app.config.update(SMTP_HOST="", NOTIFY_MAIL_DIR=str(tmp_path / "mail"))
    try:
        _invite(api, p.sup_eng, report, company_id=p.supplier.id)
        _db.session.commit()
        assert notify.deliver_due(app) >= 1  # with the "added to the team" mails of building the team
    finally:
        app.config.update(saved)
    mails = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in sorted((tmp_path / "mail").glob("*.eml"))]
    [mail] = [m for m in mails if m["To"].addresses[0].addr_spec == "nina.neu@celltech.example"]
    assert _db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.to_email == "nina.neu@celltech.example")).value == "sent"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Nina Neu" in body and f"/invitations/{_link('nina.neu@celltech.example')}" in body
