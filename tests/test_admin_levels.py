"""Administration has two levels: a company admin manages the people of their own company and
sees what any member of their company sees - no more; a platform admin (granted on the command
line only) creates companies and their first admins and manages any account, and sees no report
of a company they do not belong to. Played through the demo, as the issue's attacker did."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.demo import load_demo
from app.models import Report, User
from tests.conftest import Api, csrf_from, login

DEMO = "demo-password-8d"


@pytest.fixture
def demo(app, db):
    load_demo()
    db.session.commit()
    return db


def as_(client, email: str) -> Api:
    r = client.post("/api/v1/tokens", json={"email": email, "password": DEMO})
    assert r.status_code == 201, r.get_json()
    return Api(client, r.get_json()["token"])


def _celltech_report(db) -> Report:
    return db.session.scalars(select(Report).where(Report.status == "in_review")).one()  # CellTech's coolant leak, D3 in review


def _user(db, email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def test_a_suppliers_admin_sees_nothing_of_another_suppliers_report(demo, client):
    nordpack_admin = as_(client, "admin@nordpack.example")
    report = _celltech_report(demo)
    for path in (f"/api/v1/reports/{report.id}", f"/api/v1/reports/{report.id}/comments", f"/api/v1/reports/{report.id}/events",
                 f"/api/v1/reports/{report.id}/attachments", f"/api/v1/reports/{report.id}/export", f"/api/v1/reports/{report.id}/team"):
        assert nordpack_admin.get(path).status_code == 404, path
    listed = {r["number"] for r in nordpack_admin.get("/api/v1/reports").get_json()["items"]}
    nordpack = _user(demo, "admin@nordpack.example").company_id
    own = {r.number for r in demo.session.scalars(select(Report).where(Report.supplier_id == nordpack))}
    assert len(own) == 1 and listed == own  # Nordpack's own report, like any Nordpack member
    page = client.application.test_client()
    login(page, "admin@nordpack.example", DEMO)
    assert page.get(f"/reports/{report.id}").status_code == 404
    assert page.get(f"/reports/{report.id}/export.pdf").status_code == 404
    csv = page.get("/actions.csv")
    assert csv.status_code == 200 and report.number not in csv.get_data(as_text=True)


def test_a_suppliers_admin_cannot_make_an_account_of_the_oem_that_signs_its_reviews(demo, client):
    """The issue's attack: create a quality lead at the OEM, then approve CellTech's D3 with it."""
    nordpack_admin = as_(client, "admin@nordpack.example")
    volta = _user(demo, "thomas.richter@volta.example").company_id
    r = nordpack_admin.post("/api/v1/admin/users", json={"email": "mole@volta.example", "name": "Mole", "company_id": volta,
                                                         "role": "quality_lead", "password": "a-long-enough-password"})
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert demo.session.scalars(select(User).where(User.email == "mole@volta.example")).first() is None
    # nor take over an existing one
    thomas = _user(demo, "thomas.richter@volta.example")
    for change in ({"role": "admin"}, {"password": "a-long-enough-password"}, {"active": False}):
        assert nordpack_admin.patch(f"/api/v1/admin/users/{thomas.id}", json=change).status_code == 404
    assert as_(client, "thomas.richter@volta.example").get("/api/v1/me").get_json()["role"] == "quality_lead"
    # nor create companies
    assert nordpack_admin.post("/api/v1/admin/companies", json={"name": "Shell Co", "kind": "oem"}).status_code == 403


def test_a_company_admin_manages_the_people_of_their_own_company(demo, client):
    nordpack_admin = as_(client, "admin@nordpack.example")
    me = nordpack_admin.get("/api/v1/me").get_json()
    assert me["role"] == "admin" and me["platform_admin"] is False
    new = nordpack_admin.post("/api/v1/admin/users", json={"email": "nina@nordpack.example", "name": "Nina", "company_id": me["company"]["id"],
                                                           "role": "engineer", "password": "a-long-enough-password"})
    assert new.status_code == 201 and new.get_json()["company"]["name"] == "Nordpack Systems AB"
    sven = _user(demo, "sven.lind@nordpack.example")
    assert nordpack_admin.patch(f"/api/v1/admin/users/{sven.id}", json={"role": "quality_lead"}).get_json()["role"] == "quality_lead"
    assert nordpack_admin.patch(f"/api/v1/admin/users/{sven.id}", json={"active": False}).get_json()["active"] is False
    # the last admin of a company cannot lock it out
    r = nordpack_admin.patch(f"/api/v1/admin/users/{me['id']}", json={"role": "engineer"})
    assert r.status_code == 422 and r.get_json()["details"]["rule"] == "last_admin"


def test_the_admin_pages_of_a_company_admin_show_their_company_only(demo, client):
    login(client, "admin@celltech.example", DEMO)
    users = client.get("/admin/users").get_data(as_text=True)
    assert "lukas.brandt@celltech.example" in users and "thomas.richter@volta.example" not in users and "sven.lind@nordpack.example" not in users
    companies = client.get("/admin/companies").get_data(as_text=True)
    assert "CellTech Modules GmbH" in companies and "Nordpack Systems AB" not in companies and "Create company" not in companies
    assert client.get(f"/admin/users/{_user(demo, 'thomas.richter@volta.example').id}").status_code == 404
    assert client.get(f"/admin/users/{_user(demo, 'mia.schulz@celltech.example').id}").status_code == 200
    token = csrf_from(companies)
    assert client.post("/admin/companies", data={"name": "Shell Co", "kind": "oem", "csrf_token": token}).status_code == 403
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "mia.schulz@celltech.example" in log and "sven.lind@nordpack.example" not in log


def test_the_platform_admin_creates_companies_and_their_first_admins_but_sees_no_report(demo, client):
    operator = as_(client, "operator@8d-workbench.example")
    assert operator.get("/api/v1/me").get_json()["platform_admin"] is True
    company = operator.post("/api/v1/admin/companies", json={"name": "Baltic Cells OY", "kind": "supplier"})
    assert company.status_code == 201
    first = operator.post("/api/v1/admin/users", json={"email": "admin@baltic.example", "name": "Baltic Admin", "company_id": company.get_json()["id"],
                                                       "role": "admin", "password": "a-long-enough-password"})
    assert first.status_code == 201 and first.get_json()["platform_admin"] is False
    # support: any account
    mia = _user(demo, "mia.schulz@celltech.example")
    assert operator.patch(f"/api/v1/admin/users/{mia.id}", json={"password": "another-long-password"}).status_code == 200
    # no report content
    assert operator.get("/api/v1/reports").get_json()["total"] == 0
    for report in demo.session.scalars(select(Report)):
        assert operator.get(f"/api/v1/reports/{report.id}").status_code == 404
        assert operator.get(f"/api/v1/reports/{report.id}/events").status_code == 404
    login(client, "operator@8d-workbench.example", DEMO)
    numbers = [r.number for r in demo.session.scalars(select(Report))]
    for path in ("/", "/admin/notifications"):
        text = client.get(path).get_data(as_text=True)
        assert not [n for n in numbers if n in text], path
    # platform administration is never handed out through the API
    r = operator.post("/api/v1/admin/users", json={"email": "op2@baltic.example", "name": "Op", "company_id": company.get_json()["id"],
                                                   "role": "admin", "password": "a-long-enough-password", "platform_admin": True})
    assert r.status_code == 403


def test_a_company_admin_cannot_take_over_a_platform_admin_of_their_company(app, make_user, make_company, api):
    operator = make_company("supplier", "8D Workbench Operations")
    platform = make_user("admin", operator, "Platform Operator", platform_admin=True)
    colleague = make_user("admin", operator, "Company Admin")
    admin = api(colleague)
    assert admin.patch(f"/api/v1/admin/users/{platform.id}", json={"password": "a-long-enough-password"}).status_code == 403
    assert admin.patch(f"/api/v1/admin/users/{platform.id}", json={"active": False}).status_code == 403
    assert api(platform).patch(f"/api/v1/admin/users/{colleague.id}", json={"role": "engineer"}).status_code == 200


def test_platform_administration_is_granted_and_revoked_on_the_command_line(app, db, make_company, api):
    runner = app.test_cli_runner()
    make_company("supplier", "8D Workbench Operations")
    r = runner.invoke(args=["user", "create", "ops@8d-workbench.example", "--name", "Ops", "--company", "8D Workbench Operations",
                            "--role", "admin", "--platform-admin"], input="a-long-secret-password\n")
    assert r.exit_code == 0 and "platform admin" in r.output, r.output
    r = runner.invoke(args=["user", "create", "eng@8d-workbench.example", "--name", "Eng", "--company", "8D Workbench Operations",
                            "--role", "admin"], input="a-long-secret-password\n")
    assert r.exit_code == 0
    eng = db.session.scalars(select(User).where(User.email == "eng@8d-workbench.example")).one()
    assert not eng.platform_admin
    assert runner.invoke(args=["user", "platform-admin", eng.email, "--grant"]).exit_code == 0
    token = api(eng, "a-long-secret-password")
    assert token.get("/api/v1/me").get_json()["platform_admin"] is True
    r = runner.invoke(args=["user", "platform-admin", eng.email, "--revoke"])
    assert r.exit_code == 0 and "no longer" in r.output
    assert token.get("/api/v1/me").status_code == 401  # revoking ends sessions and tokens at once
    db.session.expire_all()
    assert db.session.get(User, eng.id).platform_admin is False
    assert runner.invoke(args=["user", "platform-admin", "nobody@x.example", "--grant"]).exit_code != 0
