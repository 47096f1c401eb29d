"""The same 8D through the pages (forms with CSRF), as a user in the browser would submit them."""

from __future__ import annotations

import io
import re

from app.demo import evidence_bytes
from app.method import BY_CODE, EXAMPLE_ACTION_UPDATES, EXAMPLE_ACTIONS, EXAMPLE_EVIDENCE
from app.method.examples import replace_evidence
from tests.conftest import PASSWORD, csrf_from, login
from tests.helpers import example, header, multipart


def form_fields(code: str, values: dict, prefix: str = "f") -> dict:
    """What the discipline form submits for these values (f.<field>, t.<table>.<i>.<col>)."""
    from app.method.definition import HEADER_FIELDS

    fields = HEADER_FIELDS if code == "header" else BY_CODE[code].fields
    data = {"present": [f.name for f in fields]}
    for f in fields:
        value = values.get(f.name)
        if f.type == "table":
            for i, row in enumerate(value or []):
                for col, cell in row.items():
                    data[f"t.{f.name}.{i}.{col}"] = _cell(cell)
        elif value is not None:
            data[f"f.{f.name}"] = _cell(value)
    return data


def _cell(value):
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):  # an evidence field: the picked files
        return [str(v) for v in value]
    return str(value)


class PageWalk:
    """The method's example through the pages: files uploaded with the evidence form (attached to
    an action or an evidence field at once), actions added with the discipline page's form and
    taken through their steps with the inline forms - by their owners, verified by someone else."""

    def __init__(self, rid: int, clients: dict, users: dict):
        self.rid, self.clients, self.users = rid, clients, users
        self.files: dict[int, int] = {}
        self.actions: dict[str, int] = {}

    def _newest(self, client, path: str) -> dict:
        return max(client.get(path + "?per_page=200").get_json()["items"], key=lambda x: x["id"])

    def upload(self, placeholder: int, action_id: int | None = None, claim: str | None = None) -> int:
        code, name, what = EXAMPLE_EVIDENCE[placeholder]
        client = self.clients["leader"]
        data = {"csrf_token": csrf_from(page(client, f"/reports/{self.rid}?d={code}")), "discipline": code, "description": what,
                "file": (io.BytesIO(evidence_bytes(name, what)), name)}
        if action_id:
            data.update(action_id=str(action_id), claim=claim or "")
        r = client.post(f"/reports/{self.rid}/evidence", **multipart(data))
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        self.files[placeholder] = self._newest(client, f"/api/v1/reports/{self.rid}/attachments")["id"]
        return self.files[placeholder]

    def action(self, ref: str) -> dict:
        return self.clients["leader"].get(f"/api/v1/actions/{self.actions[ref]}").get_json()

    def step(self, ref: str, role: str, **form) -> None:
        code = self.action(ref)["discipline"]
        client = self.clients[role]
        data = {"csrf_token": csrf_from(page(client, f"/reports/{self.rid}?d={code}")), "version": str(self.action(ref)["version"]),
                "back": f"/reports/{self.rid}?d={code}", **form}
        r = client.post(f"/actions/{self.actions[ref]}", data=data)
        assert r.status_code == 302 and "/reports/" in r.headers["Location"], r.get_data(as_text=True)[:500]
        shown = client.get(r.headers["Location"]).get_data(as_text=True)
        assert f"Action {ref} saved." in shown, re.findall(r'role="status"[^>]*>(.*?)<', shown)

    def prepare(self, code: str) -> dict:
        for placeholder, (discipline, _n, _w) in EXAMPLE_EVIDENCE.items():
            if discipline == code and placeholder not in {i for a in EXAMPLE_ACTIONS.get(code, []) for k in ("evidence", "pre_verification_evidence")
                                                          for i in a.get(k, [])} and placeholder not in self.files:
                if not any(placeholder in u.get("implementation_evidence", []) for u in EXAMPLE_ACTION_UPDATES.get(code, [])):
                    self.upload(placeholder)
        for a in EXAMPLE_ACTIONS.get(code, []):
            client = self.clients["leader"]
            form = {k: v for k, v in a.items() if k not in ("owner", "verifier", "verification", "evidence", "pre_verification_evidence", "causes")}
            form = {k: str(v) for k, v in form.items()}
            if a.get("causes"):
                form.update(causes=a["causes"], causes_present="1")
            form.update(owner_id=str(self.users[a["owner"]].id), d=code, csrf_token=csrf_from(page(client, f"/reports/{self.rid}?d={code}")))
            r = client.post(f"/reports/{self.rid}/actions", data=form)
            assert r.status_code == 302
            assert f"Action added and assigned to {self.users[a['owner']].name}." in client.get(r.headers["Location"]).get_data(as_text=True)
            self.actions[a["ref"]] = self._newest(client, f"/api/v1/reports/{self.rid}/actions")["id"]
            for claim in ("evidence", "pre_verification_evidence"):
                for placeholder in a.get(claim, []):
                    self.upload(placeholder, self.actions[a["ref"]], claim)
            self.step(a["ref"], a["owner"], status="in_progress")
            if code != "D5":
                self.step(a["ref"], a["owner"], status="implemented")
                self.step(a["ref"], a["verifier"], status="verified", verification=a["verification"])
        for u in EXAMPLE_ACTION_UPDATES.get(code, []):
            if "implemented_on" in u:
                self.step(u["ref"], "leader", status="implemented", implemented_on=u["implemented_on"])
                for placeholder in u.get("implementation_evidence", []):
                    self.upload(placeholder, self.actions[u["ref"]], "implementation_evidence")
        for u in EXAMPLE_ACTION_UPDATES.get(code, []):
            if "removed_at" in u:
                self.step(u["ref"], "leader", lift="now")
        if code == "D6":
            for a in EXAMPLE_ACTIONS["D5"]:
                self.step(a["ref"], a["verifier"], status="verified", verification=a["verification"])
        return replace_evidence(example(code), self.files)


def page(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.get_data(as_text=True)


def post_form(client, url, data, from_url):
    data = dict(data)
    data["csrf_token"] = csrf_from(page(client, from_url))
    return client.post(url, data=data)


def test_login_form_rejects_wrong_password_without_saying_which_part_is_wrong(client, parties):
    html = page(client, "/login")
    r = client.post("/login", data={"email": parties.sup_eng.email, "password": "nope-nope-nope", "csrf_token": csrf_from(html)})
    assert r.status_code == 401 and "not correct" in r.get_data(as_text=True)
    r = client.post("/login", data={"email": "ghost@nowhere.example", "password": "nope-nope-nope", "csrf_token": csrf_from(html)})
    assert r.status_code == 401 and "not correct" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, parties):
    r = client.post("/login", data={"email": parties.sup_eng.email, "password": PASSWORD})
    assert r.status_code in (200, 400, 401)
    assert client.get("/").status_code == 302


def test_next_redirect_stays_on_this_site(client, parties):
    html = page(client, "/login")
    r = client.post("/login?next=https://evil.example/x", data={"email": parties.sup_eng.email, "password": PASSWORD, "csrf_token": csrf_from(html)})
    assert r.status_code == 302 and r.headers["Location"] in ("/", "http://localhost/")


def test_walk_a_report_to_closure_through_the_pages(app, parties):
    p = parties
    oem_c, lead_c, ql_c, champion_c, member_c = (app.test_client() for _ in range(5))
    login(oem_c, p.oem_eng)
    login(lead_c, p.sup_eng)
    login(ql_c, p.oem_lead)
    login(champion_c, p.sup_lead)
    login(member_c, p.sup_eng2)

    # The OEM engineer opens the complaint.
    new = {"oem_id": str(p.oem.id), "supplier_id": str(p.supplier.id), **form_fields("header", header())}
    r = post_form(oem_c, "/reports/new", new, "/reports/new")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    url = r.headers["Location"]
    rid = int(re.search(r"/reports/(\d+)", url).group(1))

    # ... and builds the team of both companies.
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member")):
        r = post_form(oem_c, f"/reports/{rid}/team", {"user_id": user.id, "role": role, "function": "Quality"}, f"/reports/{rid}?d=D1")
        assert r.status_code == 302
    r = post_form(oem_c, f"/reports/{rid}/team/{p.oem_eng.id}", {"role": "member"}, f"/reports/{rid}?d=D1")
    assert r.status_code == 302
    r = post_form(lead_c, f"/reports/{rid}/team", {"user_id": p.sup_lead.id, "role": "champion"}, f"/reports/{rid}?d=D1")
    team_page = page(lead_c, f"/reports/{rid}?d=D1")
    assert p.sup_lead.name in team_page and p.oem_eng.name in team_page
    walk = PageWalk(rid, {"leader": lead_c, "champion": champion_c, "supplier_member": member_c, "customer_member": oem_c},
                    {"leader": p.sup_eng, "champion": p.sup_lead, "supplier_member": p.sup_eng2, "customer_member": p.oem_eng})

    for code in ["D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]:
        # Advancing an incomplete discipline shows what is missing.
        if code not in ("D0", "D1"):
            r = post_form(lead_c, f"/reports/{rid}/advance", {"comment": ""}, f"/reports/{rid}")
            assert r.status_code == 302 and "gate=1" in r.headers["Location"]
            shown = lead_c.get(r.headers["Location"]).get_data(as_text=True)
            assert "What is missing" in shown and "cannot be completed yet" in shown
        if code != "D1":
            values = walk.prepare(code)
            version = re.search(r'name="base_version" value="(\d+)"', page(lead_c, f"/reports/{rid}?d={code}")).group(1)
            r = post_form(lead_c, f"/reports/{rid}/disciplines/{code}", {"base_version": version, **form_fields(code, values)}, f"/reports/{rid}?d={code}")
            assert r.status_code == 302, (code, r.get_data(as_text=True)[:3000])
        r = post_form(lead_c, f"/reports/{rid}/advance", {"comment": "done"}, f"/reports/{rid}")
        assert r.status_code == 302, (code, r.get_data(as_text=True)[:3000])
        if code in ("D3", "D5", "D8"):
            detail = page(ql_c, f"/reports/{rid}")
            assert "Your review of" in detail
            if code == "D5":
                r = post_form(ql_c, f"/reports/{rid}/review", {"decision": "reject", "comment": "", "return_to": "D5"}, f"/reports/{rid}")
                assert "A comment is required" in page(ql_c, f"/reports/{rid}")
                r = post_form(ql_c, f"/reports/{rid}/review", {"decision": "reject", "comment": "PCA2 needs a gauge R&R", "return_to": "D5"}, f"/reports/{rid}")
                assert r.status_code == 302 and "open" in page(lead_c, f"/api/v1/reports/{rid}")
                post_form(lead_c, f"/reports/{rid}/advance", {"comment": "R&R added"}, f"/reports/{rid}")
            r = post_form(ql_c, f"/reports/{rid}/review", {"decision": "approve", "comment": "ok", "password": "wrong-password-x"}, f"/reports/{rid}")
            assert r.status_code == 302
            assert "The password is not correct" in ql_c.get(r.headers["Location"]).get_data(as_text=True)
            r = post_form(ql_c, f"/reports/{rid}/review", {"decision": "approve", "comment": "ok", "password": PASSWORD}, f"/reports/{rid}")
            assert r.status_code == 302

    final = page(lead_c, f"/reports/{rid}")
    assert "Closed" in final and "closure approved" in final and p.oem_lead.name in final
    assert 'name="base_version"' not in final  # nothing editable any more


def test_discipline_form_shows_errors_and_keeps_the_typing(app, parties, client):
    from app.services import reports

    p = parties
    report = reports.create_report(p.sup_eng, {"title": "t", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    from app.extensions import db

    db.session.commit()
    login(client, p.sup_eng)
    data = {"base_version": "0", "present": ["problem_statement", "first_occurrence"], "f.problem_statement": "My careful text with 37 parts", "f.first_occurrence": "2026-13-45"}
    r = post_form(client, f"/reports/{report.id}/disciplines/D2", data, f"/reports/{report.id}?d=D2")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "My careful text with 37 parts" in html and "valid date" in html


def test_conflict_page_shows_both_values_and_saves_the_choice(app, parties):
    from app.extensions import db
    from app.services import reports, team

    p = parties
    report = reports.create_report(p.sup_eng, {"title": "t", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, report, p.oem_eng.id, "member")
    db.session.commit()
    a, b = app.test_client(), app.test_client()
    login(a, p.sup_eng)
    login(b, p.oem_eng)
    url = f"/reports/{report.id}/disciplines/D2"
    ra = post_form(a, url, {"base_version": "0", "present": ["problem_statement"], "f.problem_statement": "Supplier: 37 cracked welds"}, f"/reports/{report.id}?d=D2")
    assert ra.status_code == 302
    rb = post_form(b, url, {"base_version": "0", "present": ["problem_statement", "trend"], "f.problem_statement": "OEM: 37 NOK at EOL", "f.trend": "rising"}, f"/reports/{report.id}?d=D2")
    html = rb.get_data(as_text=True)
    assert rb.status_code == 409 and "Supplier: 37 cracked welds" in html and "OEM: 37 NOK at EOL" in html
    yours = re.search(r'name="yours" value="([^"]+)"', html).group(1)
    import html as h

    r = b.post(f"/reports/{report.id}/disciplines/D2/resolve", data={
        "csrf_token": csrf_from(html), "base_version": "1", "yours": h.unescape(yours),
        "pick.problem_statement": "custom", "custom.problem_statement": "37 cracked welds (both views)"})
    assert r.status_code == 302
    db.session.expire_all()
    values = reports.get_visible_report(p.sup_eng, report.id).discipline("D2").values
    assert values["problem_statement"] == "37 cracked welds (both views)" and values["trend"] == "rising"


def test_pages_of_another_suppliers_report_are_not_found(app, parties, client):
    from app.extensions import db
    from app.services import reports

    p = parties
    report = reports.create_report(p.sup_eng, {"title": "secret", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    db.session.commit()
    login(client, p.other_eng)
    assert client.get(f"/reports/{report.id}").status_code == 404
    assert client.get(f"/reports/{report.id}/history").status_code == 404
    assert "secret" not in page(client, "/")
    assert "No reports match" in page(client, "/?q=secret")
