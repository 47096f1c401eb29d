"""The access matrix: every route of the app, called by every kind of person, answers what the
tenancy rule demands (docs/design.md, "Tenancy and access").

`ACCESS` has one entry per (endpoint, method) of `app.url_map` (HEAD, OPTIONS and `static`
aside). The cases are generated from the URL map itself, so a route without an entry fails with
"route X has no access rule" - nobody adds an endpoint without deciding who may call it.

The world: the usual cast (`parties`) and one report of the OEM "Volta Motors" and its supplier
"CellTech" at D1, with an action, a comment, a photo and a withdrawn photo, and this team:

    Lukas Brandt (CellTech engineer)        leader     -> caller `sup_leader`
    Petra Vogel (CellTech quality lead)     champion   -> caller `sup_champion`
    Jana Weber (Volta engineer)             member     -> caller `oem_eng_team`
    Vera Viewer (Volta, account viewer)     member     -> caller `viewer` (a viewer never writes,
                                                           even with a working place on a team)
    Mia Schulz (CellTech engineer)          viewer     -> caller `sup_team_viewer`

Each case calls one route as one caller: `anon`, `admin` (Volta's company admin), `sup_admin`
(CellTech's company admin), `other_admin` (Nordpack's company admin), `platform_party` (a platform
admin who is an admin of Volta), `platform_none` (a platform admin of the operator's company,
party to no report), `oem_ql` (Volta's quality lead, off the team), `oem_eng_off` (a Volta
engineer off the team), `other_supplier` (an engineer of Nordpack, another supplier of Volta) or
one of the five above. Company admins see what their company's people see - no more; platform
admins see no report of a company they do not belong to. Pages are called with a browser
session made by the real login form, the API with a bearer token. The world is built once (ten
people signing in twice for each of ~950 cases would take minutes) and restored row by row
before any case that follows one which changed something.

State-changing requests are *valid* requests (a correct body for the report's state), so that a
2xx answer to someone who may not do it is a broken rule and not a validation error. After every
refused request - and after every read - the whole database must be exactly as before; after an
allowed write it must have changed (which proves the body really was valid).

Adding a route: add `("blueprint.endpoint", "METHOD"): Rule(...)` to `ACCESS`, naming who may
call it (`who=`), the status of success (`ok=`), the report state it needs (`state=`), a valid
body (`body=`) and values for new URL placeholders (`params=`; `<report_id>`, `<code>`,
`<user_id>`, `<action_id>`, `<comment_id>` and `<attachment_id>` are filled by default). Refusals follow from `scope=`: anonymous callers are sent to
/login (pages) or get 401 (API), the other supplier gets 404 for anything about the report, every
other refused caller 403. `expect=` overrides single callers.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import func, select, text, update

from app.extensions import db as _db
from app.models import EffectivenessWatch, OutboxMessage, Report, Review, Status, utcnow
from app.notify import webhooks as hook_events
from app.services import accounts, password_reset
from app.services import actions as action_service
from app.services import comments as comment_service
from app.services import evidence as evidence_service
from app.services import invitations as invitation_service
from app.services import reports as report_service
from app.services import team as team_service
from app.services import webhooks as webhook_service
from tests.conftest import PASSWORD, csrf_from, login
from tests.helpers import dump_tables, load_tables, wipe_after_module, wipe_tables

IN_A_MONTH = (utcnow().date() + dt.timedelta(days=30)).isoformat()

# ------------------------------------------------------------------------------------- callers
ANON = "anon"
ADMIN = "admin"
SUP_ADMIN = "sup_admin"
OTHER_ADMIN = "other_admin"
PLATFORM_PARTY = "platform_party"
PLATFORM_NONE = "platform_none"
OEM_QL = "oem_ql"
OEM_ENG_TEAM = "oem_eng_team"
OEM_ENG_OFF = "oem_eng_off"
SUP_LEADER = "sup_leader"
SUP_CHAMPION = "sup_champion"
SUP_TEAM_VIEWER = "sup_team_viewer"
OTHER = "other_supplier"
VIEWER = "viewer"

#: caller -> attribute of the `parties` fixture
CALLERS: dict[str, str | None] = {
    ANON: None,
    ADMIN: "admin",
    OEM_QL: "oem_lead",
    OEM_ENG_TEAM: "oem_eng",
    OEM_ENG_OFF: "oem_eng2",
    SUP_LEADER: "sup_eng",
    SUP_CHAMPION: "sup_lead",
    SUP_TEAM_VIEWER: "sup_eng2",
    OTHER: "other_eng",
    VIEWER: "oem_viewer",
    SUP_ADMIN: "sup_admin",
    OTHER_ADMIN: "other_admin",
    PLATFORM_PARTY: "platform_party",
    PLATFORM_NONE: "platform_none",
}

SIGNED_IN = frozenset(CALLERS) - {ANON}
EVERYONE = frozenset(CALLERS)
#: belong to neither of the report's companies: the report does not exist for them
OUTSIDERS = frozenset({OTHER, OTHER_ADMIN, PLATFORM_NONE})
#: may see the report: the people of its two companies, their admins included
READERS = SIGNED_IN - OUTSIDERS
COMPANY_ADMINS = frozenset({ADMIN, SUP_ADMIN, OTHER_ADMIN})
PLATFORM_ADMINS = frozenset({PLATFORM_PARTY, PLATFORM_NONE})
ADMINS = COMPANY_ADMINS | PLATFORM_ADMINS
#: admins (account role) of one of the report's two companies
PARTY_ADMINS = frozenset({ADMIN, SUP_ADMIN, PLATFORM_PARTY})
#: who may manage CellTech's accounts (Mia, the edited user; the new user; the reset mail to Mia)
CELLTECH_ADMINS = frozenset({SUP_ADMIN}) | PLATFORM_ADMINS
#: a working place on the team (champion, leader, member) and an account that works reports
EDITORS = frozenset({OEM_ENG_TEAM, SUP_LEADER, SUP_CHAMPION})
#: team leader and champion
STEERING = frozenset({SUP_LEADER, SUP_CHAMPION})
TEAM_MANAGERS = STEERING | PARTY_ADMINS
RETURNERS = STEERING | {OEM_QL}
#: the working team (champion, leader, members; not the read-only team role) and the OEM's
#: quality lead - as policy.can_comment says: commenting is writing
COMMENTERS = frozenset({OEM_ENG_TEAM, SUP_LEADER, SUP_CHAMPION, OEM_QL})
#: account roles engineer and quality lead, whatever their company
WRITER_ACCOUNTS = frozenset({OEM_QL, OEM_ENG_TEAM, OEM_ENG_OFF, SUP_LEADER, SUP_CHAMPION, SUP_TEAM_VIEWER, OTHER})

PUBLIC, USER, REPORT, ADMIN_ONLY = "public", "user", "report", "admin"

ACTION_TITLE = "Add a pull test of every 50th cell tab"
WEBHOOK_URL = "https://93.184.216.34/celltech-erp"


@dataclass(frozen=True)
class Expect:
    status: int
    writes: bool = False
    location: str | None = None  # path a redirect must point to


FORBIDDEN = Expect(403)
NOT_FOUND = Expect(404)
UNAUTHORIZED = Expect(401)
TO_LOGIN = Expect(302, location="/login")


@dataclass(frozen=True)
class Rule:
    """Who may call one route, and how to make a valid request of it."""

    who: frozenset[str]
    scope: str
    ok: int = 200
    state: str = "open"  # open (stage D1) | in_review (D3) | closed | watched (closed, its effectiveness watch ended today)
    body: Callable[[World, str], dict] | None = None
    params: Callable[[World], dict] | None = None
    location: str | None = None  # where a successful redirect goes (path); None: not /login
    writes: bool | None = None  # does success change the database? (default: not a GET)
    expect: dict[str, Expect] = field(default_factory=dict)
    check: Callable[[World, str, Any], None] | None = None  # extra assertions (leaks)
    multipart: bool = False  # API body sent as multipart/form-data (uploads) instead of JSON
    stub: Callable[[pytest.MonkeyPatch], None] | None = None  # replaces slow work that is tested elsewhere
    query: dict | None = None  # a query string for the request (searches)

    def expected(self, caller: str, method: str, page: bool) -> Expect:
        if caller in self.expect:
            return self.expect[caller]
        if caller in self.who:
            writes = (method != "GET") if self.writes is None else self.writes
            return Expect(self.ok, writes, self.location)
        if caller == ANON:
            return TO_LOGIN if page else UNAUTHORIZED
        if self.scope == REPORT and caller not in READERS:
            return NOT_FOUND
        return FORBIDDEN


def _same(expect: Expect, callers) -> dict[str, Expect]:
    return {c: expect for c in callers}


# ------------------------------------------------------------------------------ request bodies
NEW_PASSWORD = "another-long-password-8d"


def _new_report_api(w: World, caller: str) -> dict:
    return {"title": "Leaking coolant inlet", "oem_id": w.oem_id, "supplier_id": w.supplier_of(caller), "part_number": "BM-16S-5520"}


def _new_report_form(w: World, caller: str) -> dict:
    return {"present": "title", "f.title": "Leaking coolant inlet", "oem_id": str(w.oem_id), "supplier_id": str(w.supplier_of(caller))}


def _d2_patch(w: World, caller: str) -> dict:
    return {"base_version": 0, "fields": {"problem_statement": "37 of 4,800 modules with cracked cell-tab welds"}}


def _d2_form(w: World, caller: str) -> dict:
    return {"base_version": "0", "present": "problem_statement", "f.problem_statement": "37 of 4,800 modules with cracked cell-tab welds"}


def _d2_resolve(w: World, caller: str) -> dict:
    return {"base_version": "0", "yours": json.dumps({"problem_statement": "37 modules cracked"}), "theirs": "{}", "pick.problem_statement": "yours"}


def _signature(w: World, caller: str) -> dict:
    return {"decision": "approve", "comment": "Containment accepted.", "password": PASSWORD}


def _review_form(w: World, caller: str) -> dict:
    return {"decision": "approve", "comment": "Containment accepted.", "password": PASSWORD, "return_to": ""}


def _reopen(w: World, caller: str) -> dict:
    return {"comment": "Recurrence at Zwickau, 2 modules", "password": PASSWORD}


def _return(w: World, caller: str) -> dict:
    return {"to": "D0", "comment": "The symptom is not quantified per lot."}


def _advance(w: World, caller: str) -> dict:
    return {"comment": "Team complete."}


def _effective(w: World, caller: str) -> dict:
    return {"decision": "effective", "comment": "0 ppm at Zwickau for 90 days", "password": PASSWORD}


def _decline(w: World, caller: str) -> dict:
    return {"reason": "not_our_part", "comment": "The returned housing carries another supplier's mould mark.", "evidence": [w.attachment_id]}


def _decline_form(w: World, caller: str) -> dict:
    return {**_decline(w, caller), "evidence": str(w.attachment_id), "related_report_id": ""}


def _team_add(w: World, caller: str) -> dict:
    return {"user_id": w.newcomer_id, "role": "member"}


def _team_add_form(w: World, caller: str) -> dict:
    return {"user_id": str(w.newcomer_id), "role": "member", "function": "Logistics"}


def _login_form(w: World, caller: str) -> dict:
    return {"email": w.email_of(caller) or w.email_of(SUP_LEADER), "password": PASSWORD}


def _company(w: World, caller: str) -> dict:
    return {"name": "Batterie Werk Ost", "kind": "supplier"}


def _user(w: World, caller: str) -> dict:
    return {"email": "neu@celltech.example", "name": "Nina Neu", "company_id": w.supplier_id, "role": "engineer", "password": NEW_PASSWORD}


def _user_edit_form(w: World, caller: str) -> dict:
    return {"name": "Mia Schulz-Berg", "role": "engineer", "active": "y"}


def _cascade(w: World, caller: str) -> dict:
    return {"supplier_id": w.sub_id, "title": "Swollen pouch cells, lot C-2611", "discipline": "D4",
            "description": "37 of 4,800 modules with cracked cell-tab welds"}


def _cascade_form(w: World, caller: str) -> dict:
    return {**_cascade(w, caller), "supplier_id": str(w.sub_id), "part_number": ""}


def _invite(w: World, caller: str) -> dict:
    return {"email": "nina.neu@celltech.example", "name": "Nina Neu", "company_id": w.supplier_id, "role": "engineer"}


def _invite_form(w: World, caller: str) -> dict:
    return {**_invite(w, caller), "company_id": str(w.supplier_id)}


def _accept(w: World, caller: str) -> dict:
    return {"name": "Ines Invited", "password": NEW_PASSWORD}


def _accept_form(w: World, caller: str) -> dict:
    return {**_accept(w, caller), "confirm": NEW_PASSWORD}


def _invitation_params(w: World) -> dict:
    return {**_report_params(w), "invitation_id": w.invitation_id}


def _token_params(w: World) -> dict:
    return {"token": w.invitation_token}


def _company_params(w: World) -> dict:
    return {"company_id": w.supplier_id}


def png(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "PNG")
    return buf.getvalue()


def _no_weasyprint(monkeypatch) -> None:
    """Who may export is the question here; the PDF itself is tested in test_export.py."""
    monkeypatch.setattr("app.services.export.render_pdf", lambda report: b"%PDF-1.7 stub")


def _no_kpi_pdf(monkeypatch) -> None:
    """Who may have a supplier's review handout is the question here; the PDF is tested in test_kpis.py."""
    monkeypatch.setattr("app.services.export.render_html_pdf", lambda html: b"%PDF-1.7 stub")


def _supplier_params(w: World) -> dict:
    return {"supplier_id": w.supplier_id}


def _action_api(w: World, caller: str) -> dict:
    return {"kind": "corrective", "title": "Monitor laser power on line 3", "owner_id": w.ids[OEM_ENG_TEAM], "due_date": IN_A_MONTH}


def _action_form(w: World, caller: str) -> dict:
    return {**_action_api(w, caller), "owner_id": str(w.ids[OEM_ENG_TEAM]), "d": "D2"}


def _action_update(w: World, caller: str) -> dict:
    return {"version": 1, "title": "Monitor laser power on lines 3 and 4"}


def _action_update_form(w: World, caller: str) -> dict:
    return {"version": "1", "title": "Monitor laser power on lines 3 and 4"}


def _comment(w: World, caller: str) -> dict:
    return {"discipline": "D2", "body": "Photos of the cracked tabs are attached."}


def _comment_edit(w: World, caller: str) -> dict:
    return {"body": "Cross-sections of lot 2611 follow on Monday."}


def _upload(w: World, caller: str) -> dict:
    return {"file": (io.BytesIO(png((30, 30, 200))), "cracked-tab.png"), "discipline": "D2"}


def _report_params(w: World) -> dict:
    return {"report_id": w.report_id, "code": "D2", "user_id": w.team_target_id, "action_id": w.action_id,
            "comment_id": w.comment_id, "attachment_id": w.attachment_id}


def _withdrawn_evidence_params(w: World) -> dict:
    return {**_report_params(w), "attachment_id": w.withdrawn_attachment_id}


def _admin_user_params(w: World) -> dict:
    return {"user_id": w.admin_target_id}


# ---------------------------------------------------------------------------- leak assertions
def _list_scoped(w: World, caller: str, response) -> None:
    body = response.get_json()
    ids = [item["id"] for item in body["items"]]
    if caller in READERS:
        assert w.report_id in ids
    else:
        assert ids == [] and body["total"] == 0, "another supplier's report was listed"


#: words of the world report's action (ACTION_TITLE) and comment: what a search must find only for its readers
SEARCH_WORDS = {"q": "pull tests cells"}


def _search_api_scoped(w: World, caller: str, response) -> None:
    body = response.get_json()
    ids = [item["report_id"] for item in body["items"]]
    if caller in READERS:
        assert ids == [w.report_id] and body["items"][0]["discipline"] == "actions"
    else:
        assert ids == [] and body["total"] == 0, "another company's words matched a search"


WORLD_LESSON = "Requalify the weld after every fixture change"


def _lessons_api_scoped(w: World, caller: str, response) -> None:
    ids = {item["report_id"] for item in response.get_json()["items"]}
    assert ids == ({w.report_id} if caller in READERS else set()), "a lesson of another company's report was listed"


def _lessons_page_scoped(w: World, caller: str, response) -> None:
    assert (WORLD_LESSON in response.get_data(as_text=True)) == (caller in READERS), "a lesson of another company's report was shown"


def _apply_lesson(w: World, caller: str) -> dict:
    return {"report_id": w.report_id, "target": "Line 3, station W5"}


def _apply_lesson_form(w: World, caller: str) -> dict:
    return {"lesson": f"{w.report_id}:1", "report_id": str(w.report_id), "target": "Line 3, station W5"}


def _lesson_params(w: World) -> dict:
    return {**_report_params(w), "index": 1}


def _search_page_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (w.number in html) == (caller in READERS), "the search page shows a report to someone who may not see it"


def _dashboard_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (w.number in html) == (caller in READERS), "the dashboard shows a report to someone who may not see it"


def _companies_scoped(w: World, caller: str, response) -> None:
    names = {c["name"] for c in response.get_json()["items"]}
    if caller in (OTHER, OTHER_ADMIN):
        assert w.supplier_name not in names, "another supplier learned that a supplier exists"


def _users_scoped(w: World, caller: str, response) -> None:
    companies = {u["company"]["id"] for u in response.get_json()["items"]}
    if caller in (OTHER, OTHER_ADMIN):
        assert w.supplier_id not in companies, "another supplier can list a supplier's people"


def _managed_company(w: World, caller: str) -> str | None:
    """The company whose people a company admin manages (None: a platform admin, all)."""
    return None if caller in PLATFORM_ADMINS else w.company_of[caller]


def _admin_users_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    own = _managed_company(w, caller)
    for email, company in w.user_companies.items():
        shown = email in html
        assert shown == (own is None or company == own), f"{caller}: the user list {'hides' if not shown else 'shows'} {email} of {company}"


def _admin_companies_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    own = _managed_company(w, caller)
    for name in w.company_names:
        assert (name in html) == (own is None or name == own), f"{caller}: the company list is not scoped ({name})"


def _admin_log_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    own = _managed_company(w, caller)
    for email, company in w.user_companies.items():
        if own is not None and company != own:
            assert email not in html, f"{caller}: the administration log shows {email} of {company}"
    assert w.number not in html, "the administration log shows a report"


def _outbox_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (w.number in html) <= (caller in READERS), f"{caller}: the outbox shows a mail about a report the caller may not see"
    assert (w.email_of(SUP_TEAM_VIEWER) in html) == (caller in CELLTECH_ADMINS), f"{caller}: the outbox is not scoped to the caller's company"


def _webhooks_page_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (WEBHOOK_URL in html) == (caller == SUP_ADMIN), f"{caller}: the webhook list shows another company's webhook"


def _webhooks_api_scoped(w: World, caller: str, response) -> None:
    urls = [h["url"] for h in response.get_json()["items"]]
    assert (WEBHOOK_URL in urls) == (caller == SUP_ADMIN), f"{caller}: the API lists another company's webhook"
    assert all("secret" not in h for h in response.get_json()["items"]), "a webhook's secret was shown again"


def _webhook_params(w: World) -> dict:
    return {"webhook_id": w.webhook_id, "delivery_id": w.delivery_row_id}


def _webhook(w: World, caller: str) -> dict:
    return {"url": "https://93.184.216.34/8d-events", "events": ["report.closed"], "secret": "a-shared-secret-of-the-receiver"}


def _actions_page_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (ACTION_TITLE in html) == (caller in READERS), "the list of actions shows an action of a report the caller may not see"


def _my_actions_scoped(w: World, caller: str, response) -> None:
    html = response.get_data(as_text=True)
    assert (ACTION_TITLE in html) == (caller == SUP_LEADER), "'my actions' shows someone else's action"


def _actions_csv_scoped(w: World, caller: str, response) -> None:
    assert (w.number in response.get_data(as_text=True)) == (caller in READERS), "the CSV lists an action of a report the caller may not see"


def _actions_api_scoped(w: World, caller: str, response) -> None:
    ids = [a["id"] for a in response.get_json()["items"]]
    assert (w.action_id in ids) == (caller in READERS), "the API lists an action of a report the caller may not see"


def _kpis_scoped(w: World, caller: str, response) -> None:
    text = response.get_data(as_text=True)
    assert (w.supplier_name in text) == (caller in READERS), f"{caller}: the KPIs show a supplier's figures the caller may not see"


def _kpis_api_scoped(w: World, caller: str, response) -> None:
    ids = [s["supplier"]["id"] for s in response.get_json()["suppliers"]]
    assert (w.supplier_id in ids) == (caller in READERS), f"{caller}: the KPI API shows a supplier's figures the caller may not see"
    opened = sum(m["reports_opened"] for m in response.get_json()["months"])
    assert opened == (1 if caller in READERS else 0), f"{caller}: the monthly KPIs count a report the caller may not see"


# ----------------------------------------------------------------------------------- the table
AFTER_LOGIN = Expect(302, location="/")

ACCESS: dict[tuple[str, str], Rule] = {
    # -- signing in and out (pages)
    ("auth.login", "GET"): Rule(EVERYONE, PUBLIC, expect=_same(AFTER_LOGIN, SIGNED_IN)),
    ("auth.login", "POST"): Rule(EVERYONE, PUBLIC, ok=302, location="/", body=_login_form, expect=_same(AFTER_LOGIN, SIGNED_IN)),
    ("auth.logout", "GET"): Rule(SIGNED_IN, USER),  # asks; a GET never changes state
    ("auth.logout", "POST"): Rule(SIGNED_IN, USER, ok=302, location="/login"),
    ("auth.account", "GET"): Rule(SIGNED_IN, USER),
    ("auth.account", "POST"): Rule(SIGNED_IN, USER, ok=302, location="/account", body=lambda w, c: {"mode.stage": "digest"}),
    ("auth.account_language", "POST"): Rule(SIGNED_IN, USER, ok=302, location="/account", body=lambda w, c: {"language": "de"}),
    ("auth.forgot_password", "GET"): Rule(EVERYONE, PUBLIC),
    ("auth.forgot_password", "POST"): Rule(EVERYONE, PUBLIC, body=lambda w, c: {"email": w.email_of(c) or w.email_of(SUP_LEADER)}),
    # the link from the e-mail is the key: whoever holds it may use it, signed in or not
    ("auth.reset_password", "GET"): Rule(EVERYONE, PUBLIC),
    ("auth.reset_password", "POST"): Rule(EVERYONE, PUBLIC, ok=302, location="/login",
                                          body=lambda w, c: {"token": w.reset_token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("health.healthz", "GET"): Rule(EVERYONE, PUBLIC),
    # -- report pages. A page refuses what the policy forbids with 403, like the API and like
    # save_discipline/save_header do. The workflow, team, comment, evidence and action forms
    # catch the Forbidden, flash it and redirect (302) - actions.detail shows the form again
    # (200) - so their refused cases fail until those handlers let Forbidden reach the error
    # handler (nothing is changed by them: the database check passes).
    ("reports.dashboard", "GET"): Rule(SIGNED_IN, USER, check=_dashboard_scoped),
    ("reports.new_report", "GET"): Rule(WRITER_ACCOUNTS, USER),
    ("reports.new_report", "POST"): Rule(WRITER_ACCOUNTS, USER, ok=302, body=_new_report_form),
    ("reports.import_complaint", "POST"): Rule(WRITER_ACCOUNTS, USER, writes=False,
                                               body=lambda w, c: {"file": (io.BytesIO(b'{"Complaint No.": "QN-1", "Title": "Leak"}'), "qn.json")}),
    ("reports.detail", "GET"): Rule(READERS, REPORT),
    ("reports.history", "GET"): Rule(READERS, REPORT),
    ("reports.save_header", "POST"): Rule(EDITORS, REPORT, ok=302, body=lambda w, c: {"present": "title", "f.title": "Cracked welds, lot 2611"}),
    ("reports.save_discipline", "POST"): Rule(EDITORS, REPORT, ok=302, body=_d2_form),
    ("reports.resolve_conflict", "POST"): Rule(EDITORS, REPORT, ok=302, body=_d2_resolve),
    ("reports.advance", "POST"): Rule(STEERING, REPORT, ok=302, body=_advance),
    ("reports.return_report", "POST"): Rule(RETURNERS, REPORT, ok=302, body=_return),
    ("reports.decline", "POST"): Rule(STEERING, REPORT, ok=302, body=_decline_form),
    ("reports.review", "POST"): Rule(frozenset({OEM_QL}), REPORT, ok=302, state="in_review", body=_review_form),
    ("reports.reopen", "POST"): Rule(frozenset({OEM_QL}), REPORT, ok=302, state="closed", body=_reopen),
    ("learning.decide_effectiveness", "POST"): Rule(frozenset({OEM_QL}), REPORT, ok=302, state="watched", body=_effective),
    ("reports.team_add", "POST"): Rule(TEAM_MANAGERS, REPORT, ok=302, body=_team_add_form),
    ("reports.team_change", "POST"): Rule(TEAM_MANAGERS, REPORT, ok=302, body=lambda w, c: {"role": "viewer"}),
    ("reports.team_remove", "POST"): Rule(TEAM_MANAGERS, REPORT, ok=302, body=lambda w, c: {}),
    ("reports.export_pdf", "GET"): Rule(READERS, REPORT, stub=_no_weasyprint),
    ("reports.export_xlsx", "GET"): Rule(READERS, REPORT),
    ("reports.live", "GET"): Rule(READERS, REPORT),
    ("reports.presence_beat", "POST"): Rule(READERS, REPORT, ok=204, body=lambda w, c: {}),
    ("reports.comment_add", "POST"): Rule(COMMENTERS, REPORT, ok=302, body=_comment),
    ("reports.comment_edit", "POST"): Rule(frozenset({SUP_LEADER}), REPORT, ok=302, body=_comment_edit),
    # the author (the supplier's leader) or an admin of the author's company
    ("reports.comment_withdraw", "POST"): Rule(frozenset({SUP_LEADER, SUP_ADMIN}), REPORT, ok=302, body=lambda w, c: {}),
    ("reports.evidence_upload", "POST"): Rule(EDITORS, REPORT, ok=302, body=_upload),
    ("reports.evidence_withdraw", "POST"): Rule(EDITORS, REPORT, ok=302, body=lambda w, c: {"reason": "Wrong lot photographed"}),
    ("reports.evidence_thumb", "GET"): Rule(READERS, REPORT),
    ("reports.evidence_preview", "GET"): Rule(READERS, REPORT),
    # an admin of the uploader's company (the supplier's leader uploaded it)
    ("reports.evidence_purge", "POST"): Rule(frozenset({SUP_ADMIN}), REPORT, ok=302, params=_withdrawn_evidence_params),
    # -- tiers and invitations (pages): the supplier's leader or champion cascades; leader and
    # champion invite; those who manage the team revoke; the link is the key (public)
    ("reports.cascade", "POST"): Rule(STEERING, REPORT, ok=302, body=_cascade_form),
    ("reports.invite", "POST"): Rule(STEERING, REPORT, ok=302, body=_invite_form),
    ("reports.invitation_revoke", "POST"): Rule(TEAM_MANAGERS, REPORT, ok=302, params=_invitation_params, body=lambda w, c: {}),
    ("auth.invitation", "GET"): Rule(EVERYONE, PUBLIC, params=_token_params),
    ("auth.invitation", "POST"): Rule(EVERYONE, PUBLIC, ok=302, params=_token_params, body=_accept_form),
    # -- action pages
    ("actions.index", "GET"): Rule(SIGNED_IN, USER, check=_actions_page_scoped),
    ("actions.mine", "GET"): Rule(SIGNED_IN, USER, check=_my_actions_scoped),
    ("learning.search", "GET"): Rule(SIGNED_IN, USER, query=SEARCH_WORDS, check=_search_page_scoped),
    ("learning.lessons", "GET"): Rule(SIGNED_IN, USER, check=_lessons_page_scoped),
    ("learning.apply_lesson", "POST"): Rule(EDITORS, REPORT, ok=302, body=_apply_lesson_form),
    ("actions.export_csv", "GET"): Rule(SIGNED_IN, USER, check=_actions_csv_scoped),
    # -- KPIs: everyone signed in has figures, of the reports they may see; a supplier's handout
    # only for its own people and its customers
    ("kpis.index", "GET"): Rule(SIGNED_IN, USER, check=_kpis_scoped),
    ("kpis.export_csv", "GET"): Rule(SIGNED_IN, USER, check=_kpis_scoped),
    ("kpis.review_pdf", "GET"): Rule(READERS, REPORT, params=_supplier_params, stub=_no_kpi_pdf),
    ("actions.report_actions", "GET"): Rule(READERS, REPORT),
    ("actions.create", "POST"): Rule(EDITORS, REPORT, ok=302, body=_action_form),
    ("actions.detail", "GET"): Rule(READERS, REPORT),
    ("actions.detail", "POST"): Rule(EDITORS, REPORT, ok=302, body=_action_update_form),
    # -- administration pages: company admins their own company's people, platform admins all;
    # another company's account or mail does not exist for a company admin (404)
    ("admin.index", "GET"): Rule(ADMINS, ADMIN_ONLY, ok=302, location="/admin/users"),
    ("admin.audit_log", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_admin_log_scoped),
    ("admin.notifications", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_outbox_scoped),
    ("admin.notification_resend", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=302, params=lambda w: {"message_id": w.message_id},
                                                expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("admin.companies", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_admin_companies_scoped),
    ("admin.companies", "POST"): Rule(PLATFORM_ADMINS, ADMIN_ONLY, ok=302, body=_company),
    ("admin.company_settings", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=302, location="/admin/companies", params=_company_params,
                                             body=lambda w, c: {"allow_invitations": "0"}, expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("admin.supplier_link", "POST"): Rule(PLATFORM_ADMINS, ADMIN_ONLY, ok=302, location="/admin/companies",
                                          body=lambda w, c: {"customer_id": str(w.oem_id), "supplier_id": str(w.other_id)}),
    ("admin.users", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_admin_users_scoped),
    ("admin.users", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=302, body=lambda w, c: {**_user(w, c), "company_id": str(w.supplier_id)},
                                  expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("admin.user_edit", "GET"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, params=_admin_user_params, expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("admin.user_edit", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=302, params=_admin_user_params, body=_user_edit_form,
                                      expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("admin.user_password", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=302, params=_admin_user_params, body=lambda w, c: {"pw-password": NEW_PASSWORD},
                                          expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    # -- webhooks: a company admin registers them for their own company; another company's
    # webhook does not exist (404). The world has one of CellTech's, with one delivery.
    ("admin.webhooks_page", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_webhooks_page_scoped),
    ("admin.webhooks_page", "POST"): Rule(ADMINS, ADMIN_ONLY, writes=True, body=_webhook),
    ("admin.webhook_detail", "GET"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, params=_webhook_params, expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    ("admin.webhook_delete", "POST"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, ok=302, location="/admin/webhooks", params=_webhook_params,
                                          expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    ("admin.webhook_resend", "POST"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, ok=302, params=_webhook_params,
                                          expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    ("api.create_webhook", "POST"): Rule(ADMINS, ADMIN_ONLY, ok=201, body=_webhook),
    ("api.list_webhooks", "GET"): Rule(ADMINS, ADMIN_ONLY, check=_webhooks_api_scoped),
    ("api.delete_webhook", "DELETE"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, ok=204, params=_webhook_params,
                                           expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    ("api.list_webhook_deliveries", "GET"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, params=_webhook_params,
                                                 expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    ("api.resend_webhook_delivery", "POST"): Rule(frozenset({SUP_ADMIN}), ADMIN_ONLY, params=_webhook_params,
                                                  expect=_same(NOT_FOUND, ADMINS - {SUP_ADMIN})),
    # -- API: tokens, who am I, the method, pickable companies and people
    ("api.create_token", "POST"): Rule(EVERYONE, PUBLIC, ok=201, body=_login_form),
    ("api.revoke_token", "DELETE"): Rule(SIGNED_IN, USER, ok=204),
    ("api.me", "GET"): Rule(SIGNED_IN, USER),
    ("api.update_me", "PATCH"): Rule(SIGNED_IN, USER, body=lambda w, c: {"language": "zh"}),
    ("api.get_kpis", "GET"): Rule(SIGNED_IN, USER, check=_kpis_api_scoped),
    ("api.method_definition", "GET"): Rule(EVERYONE, PUBLIC),
    ("api.openapi_spec", "GET"): Rule(EVERYONE, PUBLIC),
    ("api.companies", "GET"): Rule(SIGNED_IN, USER, check=_companies_scoped),
    ("api.users", "GET"): Rule(SIGNED_IN, USER, check=_users_scoped),
    # -- API: reports
    ("api.list_reports", "GET"): Rule(SIGNED_IN, USER, check=_list_scoped),
    ("api.search", "GET"): Rule(SIGNED_IN, USER, query=SEARCH_WORDS, check=_search_api_scoped),
    ("api.similar_reports", "GET"): Rule(READERS, REPORT),
    ("api.lessons", "GET"): Rule(SIGNED_IN, USER, check=_lessons_api_scoped),
    ("api.apply_lesson", "POST"): Rule(EDITORS, REPORT, ok=201, body=_apply_lesson, params=_lesson_params),
    ("api.create_report", "POST"): Rule(WRITER_ACCOUNTS, USER, ok=201, body=_new_report_api),
    ("api.get_report", "GET"): Rule(READERS, REPORT),
    ("api.update_report_header", "PATCH"): Rule(EDITORS, REPORT, body=lambda w, c: {"title": "Cracked welds, lot 2611"}),
    ("api.get_discipline", "GET"): Rule(READERS, REPORT),
    ("api.patch_discipline", "PATCH"): Rule(EDITORS, REPORT, body=_d2_patch),
    ("api.gate", "GET"): Rule(READERS, REPORT),
    ("api.advance", "POST"): Rule(STEERING, REPORT, body=_advance),
    ("api.return_report", "POST"): Rule(RETURNERS, REPORT, body=_return),
    ("api.decline", "POST"): Rule(STEERING, REPORT, body=_decline),
    ("api.review", "POST"): Rule(frozenset({OEM_QL}), REPORT, state="in_review", body=_signature),
    ("api.reopen", "POST"): Rule(frozenset({OEM_QL}), REPORT, state="closed", body=_reopen),
    ("api.decide_effectiveness", "POST"): Rule(frozenset({OEM_QL}), REPORT, state="watched", body=_effective),
    ("api.list_team", "GET"): Rule(READERS, REPORT),
    ("api.add_team_member", "POST"): Rule(TEAM_MANAGERS, REPORT, ok=201, body=_team_add),
    ("api.change_team_member", "PATCH"): Rule(TEAM_MANAGERS, REPORT, body=lambda w, c: {"role": "viewer"}),
    ("api.remove_team_member", "DELETE"): Rule(TEAM_MANAGERS, REPORT, ok=204),
    ("api.eligible_users", "GET"): Rule(TEAM_MANAGERS, REPORT),
    ("api.events", "GET"): Rule(READERS, REPORT),
    ("api.export", "GET"): Rule(READERS, REPORT),
    # -- API: tiers and invitations
    ("api.cascade", "POST"): Rule(STEERING, REPORT, ok=201, body=_cascade),
    ("api.create_invitation", "POST"): Rule(STEERING, REPORT, ok=201, body=_invite),
    ("api.list_invitations", "GET"): Rule(TEAM_MANAGERS, REPORT),
    ("api.revoke_invitation", "DELETE"): Rule(TEAM_MANAGERS, REPORT, ok=204, params=_invitation_params),
    ("api.accept_invitation", "POST"): Rule(EVERYONE, PUBLIC, ok=201, params=_token_params, body=_accept),
    ("api.admin_company_settings", "PATCH"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, params=_company_params, body=lambda w, c: {"allow_invitations": False},
                                                  expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    # -- API: actions
    ("api.report_actions", "GET"): Rule(READERS, REPORT),
    ("api.create_action", "POST"): Rule(EDITORS, REPORT, ok=201, body=_action_api),
    ("api.list_actions", "GET"): Rule(SIGNED_IN, USER, check=_actions_api_scoped),
    ("api.get_action", "GET"): Rule(READERS, REPORT),
    ("api.update_action", "PATCH"): Rule(EDITORS, REPORT, body=_action_update),
    # -- API: comments
    ("api.list_comments", "GET"): Rule(READERS, REPORT),
    ("api.add_comment", "POST"): Rule(COMMENTERS, REPORT, ok=201, body=_comment),
    ("api.edit_comment", "PATCH"): Rule(frozenset({SUP_LEADER}), REPORT, body=_comment_edit),
    ("api.withdraw_comment", "DELETE"): Rule(frozenset({SUP_LEADER, SUP_ADMIN}), REPORT, ok=204),
    # -- API: evidence
    ("api.list_attachments", "GET"): Rule(READERS, REPORT),
    ("api.upload_attachment", "POST"): Rule(EDITORS, REPORT, ok=201, body=_upload, multipart=True),
    ("api.get_attachment", "GET"): Rule(READERS, REPORT),
    ("api.attachment_content", "GET"): Rule(READERS, REPORT),
    ("api.withdraw_attachment", "DELETE"): Rule(EDITORS, REPORT, ok=204),
    # -- API: administration
    ("api.admin_create_company", "POST"): Rule(PLATFORM_ADMINS, ADMIN_ONLY, ok=201, body=_company),
    ("api.admin_create_user", "POST"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, ok=201, body=_user, expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
    ("api.admin_update_user", "PATCH"): Rule(CELLTECH_ADMINS, ADMIN_ONLY, params=_admin_user_params, body=lambda w, c: {"name": "Mia Schulz-Berg"},
                                             expect=_same(NOT_FOUND, ADMINS - CELLTECH_ADMINS)),
}


# ------------------------------------------------------------------------------- the URL map
def _routes_of(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route of the app, static files aside."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out)


def _collect_routes() -> list[tuple[str, str, str]]:
    """The URL map at collection time, from an app that never touches the test database."""
    from app import create_app
    from config import TestingConfig

    with tempfile.TemporaryDirectory(prefix="8dw-routes-") as tmp:
        return _routes_of(create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_PATH=tmp))


ROUTES = _collect_routes()


def _cases():
    for endpoint, method, path in ROUTES:
        if (endpoint, method) not in ACCESS:
            yield pytest.param(endpoint, method, path, None, id=f"{endpoint}-{method}-NO-RULE")
            continue
        for caller in CALLERS:
            yield pytest.param(endpoint, method, path, caller, id=f"{endpoint}-{method}-{caller}")


# ------------------------------------------------------------------------------------ the world
class World:
    """Plain values of the cast and the report (no ORM objects: requests share the session)."""

    def __init__(self, parties, report: Report):
        p = parties
        users = {caller: getattr(p, attr) for caller, attr in CALLERS.items() if attr}
        self.ids = {caller: u.id for caller, u in users.items()}
        self.emails = {caller: u.email for caller, u in users.items()}
        self.oem_id, self.supplier_id, self.other_id = p.oem.id, p.supplier.id, p.other.id
        self.company_of = {caller: u.company.name for caller, u in users.items()}
        self.company_names = [c.name for c in (p.oem, p.supplier, p.other, p.operator)]
        self.user_companies = {u.email: u.company.name for u in users.values()}
        self.supplier_name = p.supplier.name
        self.report_id, self.number = report.id, report.number
        self.team_target_id = p.oem_eng.id  # whose team role is changed, who is removed
        self.newcomer_id = p.oem_eng2.id  # who joins the team
        self.admin_target_id = p.sup_eng2.id  # whom the administrator edits
        self.action_id = self.comment_id = self.attachment_id = self.withdrawn_attachment_id = self.message_id = 0
        self.webhook_id = self.delivery_row_id = 0
        self.reset_token = ""  # Mia's password reset link
        self.sub_id = p.sub.id  # CellTech's own supplier (a cascade's target)
        self.invitation_id, self.invitation_token = 0, ""  # a pending invitation to CellTech and its link's token
        self.cookies: dict[str, tuple[str, str]] = {}  # caller -> (session cookie, CSRF token)
        self.tokens: dict[str, str] = {}  # caller -> bearer token
        self.rows: dict[str, list[dict]] = {}  # every table, as built: what each case starts from

    def email_of(self, caller: str) -> str | None:
        return self.emails.get(caller)

    def supplier_of(self, caller: str) -> int:
        """A supplier the caller may open a report with: their own company, or CellTech."""
        return self.other_id if caller == OTHER else self.supplier_id


def _build_world(request, app) -> World:
    """The cast (`parties`), the report and its team; every caller signed in once through the
    login form (pages) and once for a token (API)."""
    p = request.getfixturevalue("parties")
    api = request.getfixturevalue("api")
    make_user, make_company = request.getfixturevalue("make_user"), request.getfixturevalue("make_company")
    # the administrators: one per company, a platform admin of the OEM and one of the operator
    p.sup_admin = make_user("admin", p.supplier, "Jonas Keller")
    p.other_admin = make_user("admin", p.other, "Ingrid Berg")
    p.platform_party = make_user("admin", p.oem, "Paula Plattform", platform_admin=True)
    p.operator = make_company("supplier", "8D Workbench Operations")
    p.platform_none = make_user("admin", p.operator, "Oskar Operator", platform_admin=True)
    report = report_service.create_report(
        p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "BM-12S-4471"}
    )
    team_service.add_member(p.oem_eng, report, p.sup_eng.id, "leader")
    team_service.change_member(p.oem_eng, report, p.oem_eng.id, {"role": "member"})
    team_service.add_member(p.sup_eng, report, p.sup_lead.id, "champion")
    team_service.add_member(p.sup_eng, report, p.oem_viewer.id, "member")
    team_service.add_member(p.sup_eng, report, p.sup_eng2.id, "viewer")
    report.stage = "D1"  # D0 done; the D1 gate (a complete team) holds, so the leader can advance
    report.discipline("D7").values = {"lessons": [{"text": WORLD_LESSON, "category": "Laser welding"}]}  # for the lessons library
    # an action owned by the leader, his comment, his photo and a withdrawn one (for the purge)
    action = action_service.create_action(p.sup_eng, report, {"kind": "corrective", "title": ACTION_TITLE, "owner_id": p.sup_eng.id, "due_date": IN_A_MONTH})
    comment, _ = comment_service.add_comment(p.sup_eng, report, "D2", "Cross-sections of lot 2611 are on their way.")
    photo = evidence_service.upload(p.sup_eng, report, io.BytesIO(png()), "weld.png", "D2")
    old = evidence_service.upload(p.sup_eng, report, io.BytesIO(png((30, 200, 30))), "old-weld.png", "D2")
    evidence_service.withdraw(p.sup_eng, old, report, "Wrong lot")
    p.sub = make_company("supplier", "Hanse Cell GmbH")  # CellTech buys its cells there: a cascade's target
    accounts.link_supplier(None, p.supplier, p.sub)
    invitation, _ = invitation_service.invite(p.sup_eng, report, {"email": "ines.invited@celltech.example", "name": "Ines Invited",
                                                                   "company_id": p.supplier.id, "role": "engineer"})
    invitation_token = _invitation_token()
    password_reset.request_reset(p.sup_eng2.email)  # an e-mail in the outbox, for the admin's resend
    hook, _secret = webhook_service.create(p.sup_admin, WEBHOOK_URL, ["report.stage_changed", "report.closed"])
    delivery = hook_events.stage_changed(report, p.sup_eng, "D0", "D1", "advanced")[0]
    _db.session.commit()
    w = World(p, report)
    w.action_id, w.comment_id, w.attachment_id, w.withdrawn_attachment_id = action.id, comment.id, photo.id, old.id
    w.message_id = _db.session.scalar(select(func.max(OutboxMessage.id)))
    w.webhook_id, w.delivery_row_id = hook.id, delivery.id
    w.reset_token = password_reset.make_token(p.sup_eng2)
    w.invitation_id, w.invitation_token = invitation.id, invitation_token
    for caller, attr in CALLERS.items():
        client = app.test_client()
        if attr is None:
            csrf = csrf_from(client.get("/login").get_data(as_text=True))
        else:
            user = getattr(p, attr)
            login(client, user)
            csrf = csrf_from(client.get("/account").get_data(as_text=True))
            w.tokens[caller] = api(user).headers["Authorization"]
        w.cookies[caller] = (client.get_cookie("session").value, csrf)
    _db.session.rollback()
    w.rows = dump_tables()
    _db.session.rollback()
    return w


def _invitation_token() -> str:
    """The token of the newest invitation link in the outbox."""
    row = _db.session.scalars(select(OutboxMessage).where(OutboxMessage.event == "invitation.created").order_by(OutboxMessage.id.desc())).first()
    return row.link.rsplit("/invitations/", 1)[1]


_WORLDS: dict[int, World] = {}
_DIRTY: dict[int, bool] = {}
_BASE: dict[int, dict] = {}  # the snapshot of the world as built


@pytest.fixture
def _clean_tables():
    """Overrides the conftest clean-up for this module: the world is built once and restored
    before each case; the tables are emptied when the module is done."""
    yield


@pytest.fixture(scope="module", autouse=True)
def _clean_tables_after_module(app):
    yield
    wipe_after_module(app)
    _WORLDS.pop(id(app), None)
    _BASE.pop(id(app), None)


@pytest.fixture
def world(request, app, db) -> World:
    w = _WORLDS.get(id(app))
    if w is None:
        wipe_tables()
        _db.session.commit()
        w = _WORLDS[id(app)] = _build_world(request, app)
        _BASE[id(app)] = snapshot()
    elif _DIRTY.get(id(app), True):
        _db.session.rollback()
        load_tables(w.rows)
    _DIRTY[id(app)] = True  # until a case proves it left everything as it found it
    _db.session.rollback()
    return w


def _put_in_state(w: World, state: str) -> None:
    if state == "in_review":
        _db.session.execute(update(Report).where(Report.id == w.report_id).values(stage="D3", status=Status.in_review))
        _db.session.add(Review(report_id=w.report_id, stage="D3", revision=0, requested_by_id=w.ids[SUP_LEADER], request_comment="D3 ready"))
    elif state in ("closed", "watched"):
        _db.session.execute(update(Report).where(Report.id == w.report_id).values(stage="D8", status=Status.closed, closed_at=utcnow()))
        if state == "watched":
            _db.session.add(EffectivenessWatch(report_id=w.report_id, until=utcnow().date(), criterion="No recurrence", status="watching", recurrences=[]))
    else:
        assert state == "open", state
    _db.session.commit()


def snapshot() -> dict[str, list]:
    """Every row of every table, as committed, in a comparable form - in one query, as this runs
    for every case."""
    tables = _db.metadata.sorted_tables
    if _db.engine.dialect.name == "postgresql":
        row = lambda t: "row_to_json(x)::text"  # noqa: E731
    else:
        row = lambda t: "json_array(" + ", ".join(f'x."{c.name}"' for c in t.columns) + ")"  # noqa: E731
    sql = " UNION ALL ".join(f"SELECT '{t.name}' AS t, {row(t)} AS r FROM \"{t.name}\" x" for t in tables)
    _db.session.rollback()
    out: dict[str, list] = {t.name: [] for t in tables}
    for name, value in _db.session.execute(text(sql)):
        out[name].append(value)
    _db.session.rollback()
    return {name: sorted(rows) for name, rows in out.items()}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def fill(path: str, values: dict) -> str:
    def one(m):
        name = m.group(1)
        assert name in values, f"no value for <{name}> in {path}: give the rule `params=`"
        return str(values[name])

    return _PLACEHOLDER.sub(one, path)


def caller_client(app, w: World, rule: Rule, method: str, path: str, caller: str):
    """The caller's signed-in client; returns a function that makes the request."""
    client = app.test_client()
    body = rule.body(w, caller) if rule.body else None
    if not path.startswith("/api/"):
        cookie, csrf = w.cookies[caller]
        client.set_cookie("session", cookie)
        data = {**(body or {}), "csrf_token": csrf} if method != "GET" else None
        return lambda: client.open(path, method=method, data=data)
    headers = {"Authorization": w.tokens[caller]} if caller != ANON else {}
    if rule.multipart:
        return lambda: client.open(path, method=method, data=body, headers=headers, content_type="multipart/form-data")
    return lambda: client.open(path, method=method, json=body, headers=headers)


def call(app, w: World, rule: Rule, method: str, path: str, caller: str):
    return caller_client(app, w, rule, method, path, caller)()


def _describe(response) -> str:
    text = response.get_data(as_text=True)
    if response.is_json:
        return text[:300]
    m = re.search(r"<main.*?</main>", text, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(0) if m else text))[:300]


# ------------------------------------------------------------------------------------ the tests
def test_every_route_has_an_access_rule(app):
    routes = {(endpoint, method) for endpoint, method, _ in _routes_of(app)}
    missing = sorted(routes - set(ACCESS))
    assert not missing, "routes without an access rule in tests/test_access_matrix.py ACCESS: " + ", ".join(f"{e} {m}" for e, m in missing)


def test_no_rule_for_a_route_that_does_not_exist(app):
    routes = {(endpoint, method) for endpoint, method, _ in _routes_of(app)}
    stale = sorted(set(ACCESS) - routes)
    assert not stale, "access rules for routes that do not exist: " + ", ".join(f"{e} {m}" for e, m in stale)


@pytest.mark.parametrize("endpoint, method, path, caller", list(_cases()))
def test_access(app, world, monkeypatch, endpoint, method, path, caller):
    if caller is None:
        pytest.fail(f"route {method} {path} ({endpoint}) has no access rule: add it to ACCESS in tests/test_access_matrix.py")
    rule = ACCESS[(endpoint, method)]
    page = not path.startswith("/api/")
    expected = rule.expected(caller, method, page)
    _put_in_state(world, rule.state)
    url = fill(path, (rule.params or _report_params)(world))
    if rule.query:
        url += "?" + urlencode(rule.query)
    if rule.stub:
        rule.stub(monkeypatch)

    request = caller_client(app, world, rule, method, url, caller)
    before = _BASE[id(app)] if rule.state == "open" else snapshot()  # the world fixture restored it
    response = request()
    after = snapshot()
    if after == before and rule.state == "open":
        _DIRTY[id(app)] = False

    got = response.status_code
    assert got < 500, f"{caller}: {method} {url} -> {got} (server error): {_describe(response)}"
    assert got == expected.status, f"{caller}: {method} {url} -> {got}, expected {expected.status}: {_describe(response)}"
    if expected.location is not None:
        location = urlsplit(response.headers.get("Location", "")).path
        assert location == expected.location, f"{caller}: {method} {url} redirects to {location!r}, expected {expected.location!r}"
    elif got in (301, 302, 303):
        location = urlsplit(response.headers.get("Location", "")).path
        assert location != "/login", f"{caller}: {method} {url} sent a signed-in caller to the login page"
    changed = changed_tables(before, after)
    if expected.writes:
        assert changed, f"{caller}: {method} {url} -> {got} but changed nothing: the request body of the rule is not a valid request"
    else:
        assert not changed, f"{caller}: {method} {url} -> {got} and changed {changed}: a refused request or a read must change nothing"
    if rule.check and got == expected.status and 200 <= got < 300:
        rule.check(world, caller, response)


def _report_routes() -> list:
    return [
        pytest.param(endpoint, method, path, id=f"{endpoint}-{method}")
        for endpoint, method, path in ROUTES
        if (endpoint, method) in ACCESS and ACCESS[(endpoint, method)].scope == REPORT
    ]


_VOLATILE = re.compile(r'(nonce-[^\'"; ]+|nonce="[^"]*"|name="csrf_token"[^>]*value="[^"]*"|name="csrf-token" content="[^"]*")')


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
@pytest.mark.parametrize("endpoint, method, path", _report_routes())
def test_another_suppliers_report_answers_exactly_like_a_missing_one(app, world, monkeypatch, endpoint, method, path, outsider):
    """The 404 tells nothing - to another supplier's engineer or admin, or to a platform admin of
    neither company: the same answer as for a report that does not exist."""
    rule = ACCESS[(endpoint, method)]
    if rule.stub:
        rule.stub(monkeypatch)
    _put_in_state(world, rule.state)
    values = (rule.params or _report_params)(world)
    existing = call(app, world, rule, method, fill(path, values), outsider)
    missing_ids = {k: v + 1000 for k, v in values.items() if k.endswith("_id") and isinstance(v, int)}
    missing = call(app, world, rule, method, fill(path, {**values, **missing_ids}), outsider)
    assert existing.status_code == missing.status_code == 404
    if path.startswith("/api/"):
        assert existing.get_json() == missing.get_json()
    else:
        strip = lambda r: _VOLATILE.sub("", r.get_data(as_text=True))  # noqa: E731
        assert strip(existing) == strip(missing)


def _statements(request) -> tuple[Any, list[str]]:
    """The response and every SQL statement the request sent (text only: ids differ)."""
    from sqlalchemy import event

    sent: list[str] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    event.listen(_db.engine, "before_cursor_execute", hook)
    try:
        response = request()
    finally:
        event.remove(_db.engine, "before_cursor_execute", hook)
    return response, sent


_CHILD_TABLES = ("discipline_entry", "discipline_revision", "team_member", "review", "comment", "attachment", "action", "audit_event", "presence")


@pytest.mark.parametrize("outsider", [OTHER, PLATFORM_NONE])
@pytest.mark.parametrize("endpoint, method, path", _report_routes())
def test_another_companys_report_costs_the_same_work_as_a_missing_one(app, world, monkeypatch, endpoint, method, path, outsider):
    """A report's existence does not show in the time its 404 takes: who may see it is decided
    before anything of its content is read, so the database does exactly the same statements as
    for a report that does not exist (and none that reads the report's disciplines, team,
    reviews, comments, evidence, actions or history)."""
    rule = ACCESS[(endpoint, method)]
    if rule.stub:
        rule.stub(monkeypatch)
    _put_in_state(world, rule.state)
    values = (rule.params or _report_params)(world)
    missing_ids = {k: v + 1000 for k, v in values.items() if k.endswith("_id") and isinstance(v, int)}
    def existing_request():
        return caller_client(app, world, rule, method, fill(path, values), outsider)()

    def missing_request():
        return caller_client(app, world, rule, method, fill(path, {**values, **missing_ids}), outsider)()

    existing_request(), missing_request()  # warm the caches (templates, statements) alike
    _db.session.remove()  # each request starts with an empty session, as it does in a server
    existing, existing_sql = _statements(existing_request)
    _db.session.remove()
    missing, missing_sql = _statements(missing_request)
    assert existing.status_code == missing.status_code == 404
    assert existing_sql == missing_sql, "the invisible report cost other statements than a missing one:\n" + "\n".join(
        s for s in existing_sql if s not in missing_sql)
    children = [s for s in existing_sql if re.search(r"\bFROM (?:" + "|".join(_CHILD_TABLES) + r")\b", s) and "JOIN report" not in s]
    assert not children, f"content of an invisible report was read: {children}"
