"""Helpers of the browser journeys: the cast (demo users), signing in through the real form,
and a small JSON API client (stdlib only) to arrange a report's state before the browser
takes over. Nothing here imports Playwright, so collection works without it."""

from __future__ import annotations

import copy
import json
import re
import secrets
import urllib.error
import urllib.request
from typing import Any

from app.method import CODES, EXAMPLE_ACTION_UPDATES, EXAMPLE_ACTIONS, EXAMPLE_EVIDENCE, EXAMPLES, HEADER_EXAMPLE
from app.method.examples import action_body, replace_evidence

DEMO_PASSWORD = "demo-password-8d"  # app/demo.py, README "Demo logins"

# The demo cast (app/demo.py).
JANA = "jana.weber@volta.example"  # OEM engineer (SQE)
THOMAS = "thomas.richter@volta.example"  # OEM quality lead: reviews and signs
LUKAS = "lukas.brandt@celltech.example"  # supplier engineer, team leader
MIA = "mia.schulz@celltech.example"  # supplier engineer
PETRA = "petra.vogel@celltech.example"  # supplier quality lead
VOLTA = "Volta Motors AG"
CELLTECH = "CellTech Modules GmbH"


def _escape(text: str) -> str:
    # Playwright writes a pattern into its selector as /source/: a "/" must be escaped there.
    return re.escape(text).replace("\\ ", " ").replace("/", "\\/")


def starts(text: str) -> re.Pattern:
    """Labels of required fields end in "*" and a visually hidden "(required)"; match their start."""
    return re.compile(r"^\s*" + _escape(text))


# The sign-in form's words in each language the browser may ask for (Accept-Language).
LOGIN_WORDS = {
    "en": ("E-mail", "Password", "Sign in", r"^Welcome, "),
    "de": ("E-Mail", "Passwort", "Anmelden", r"^Willkommen, "),
    "zh": ("电子邮箱", "密码", "登录", r"^欢迎，"),
}


def login(page, email: str, password: str = DEMO_PASSWORD, language: str = "en") -> None:
    """Sign in through the real form at /login, like a person would (in the browser's language)."""
    from playwright.sync_api import expect

    email_label, password_label, button, welcome = LOGIN_WORDS[language]
    page.goto("/login")
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password_label).fill(password)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_text(re.compile(welcome))).to_be_visible()


class ApiError(AssertionError):
    pass


class Api:
    """A token-authenticated client of the JSON API v1 (docs/api.md) for one user."""

    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy

    def __init__(self, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.token: str | None = None
        self.token = self.call("POST", "/api/v1/tokens", {"email": email, "password": password}, expect=201)["token"]
        self.me = self.call("GET", "/api/v1/me")

    @property
    def id(self) -> int:
        return self.me["id"]

    def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = (200, 201), raw: tuple[bytes, str] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if raw is not None:
            data, headers["Content-Type"] = raw
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        result = json.loads(payload) if payload else None
        expected = (expect,) if isinstance(expect, int) else expect
        if status not in expected:
            raise ApiError(f"{self.email}: {method} {path} -> {status}, expected {expected}: {result}")
        return result

    # -- the calls the journeys arrange their reports with --------------------------------------
    def company_id(self, name: str) -> int:
        items = self.call("GET", "/api/v1/companies?per_page=200")["items"]
        return next(c["id"] for c in items if c["name"] == name)

    def open_report(self, title: str, supplier: str = CELLTECH, oem: str = VOLTA, **header: Any) -> dict:
        body = {"title": title, "oem_id": self.company_id(oem), "supplier_id": self.company_id(supplier), **header}
        return self.call("POST", "/api/v1/reports", body, expect=201)

    def report(self, rid: int) -> dict:
        return self.call("GET", f"/api/v1/reports/{rid}")

    def add_member(self, rid: int, user_id: int, role: str, function: str | None = None) -> dict:
        return self.call("POST", f"/api/v1/reports/{rid}/team", {"user_id": user_id, "role": role, "function": function}, expect=201)

    def change_member(self, rid: int, user_id: int, **changes: Any) -> dict:
        return self.call("PATCH", f"/api/v1/reports/{rid}/team/{user_id}", changes)

    def save(self, rid: int, code: str, fields: dict) -> dict:
        version = self.report(rid)["disciplines"][code]["version"]
        return self.call("PATCH", f"/api/v1/reports/{rid}/disciplines/{code}", {"base_version": version, "fields": fields})

    def advance(self, rid: int, comment: str | None = None) -> dict:
        return self.call("POST", f"/api/v1/reports/{rid}/advance", {"comment": comment} if comment else {})

    def review(self, rid: int, decision: str, comment: str | None = None, password: str | None = DEMO_PASSWORD) -> dict:
        return self.call("POST", f"/api/v1/reports/{rid}/review", {"decision": decision, "comment": comment, "password": password})

    def gate_missing(self, rid: int) -> list[str]:
        return self.call("GET", f"/api/v1/reports/{rid}/gate")["missing"]

    def upload(self, rid: int, discipline: str, filename: str, content: bytes, **fields: str) -> dict:
        """POST .../attachments as multipart/form-data (file, discipline and any other field)."""
        boundary = "----8DWorkbenchJourney" + secrets.token_hex(8)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in {"discipline": discipline, **fields}.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.call("POST", f"/api/v1/reports/{rid}/attachments", expect=201, raw=(body, f"multipart/form-data; boundary={boundary}"))

    def decline(self, rid: int, reason: str, comment: str, evidence: list[int], related_report_id: int | None = None) -> dict:
        return self.call("POST", f"/api/v1/reports/{rid}/decline", {"reason": reason, "comment": comment, "evidence": evidence,
                                                                    "related_report_id": related_report_id})


def header(**overrides: Any) -> dict:
    """A complete complaint header (the method's example) without the title."""
    data = {k: v for k, v in copy.deepcopy(HEADER_EXAMPLE).items() if k != "title"}
    data.update(overrides)
    return data


def example(code: str) -> dict:
    return copy.deepcopy(EXAMPLES.get(code, {}))


class ExampleWalk:
    """The method's example through the API: its files uploaded, its actions created by their
    owners' team roles (team: role -> Api) and verified by someone else, D6's updates applied."""

    def __init__(self, rid: int, team: dict[str, Api]):
        self.rid, self.team = rid, team
        self.files: dict[int, int] = {}
        self.actions: dict[str, dict] = {}

    def _upload(self, code: str) -> None:
        from app.demo import evidence_bytes

        for placeholder, (discipline, name, what) in EXAMPLE_EVIDENCE.items():
            if discipline == code and placeholder not in self.files:
                self.files[placeholder] = self.team["leader"].upload(self.rid, code, name, evidence_bytes(name, what), description=what)["id"]

    def _patch(self, who: Api, action: dict, **change) -> dict:
        return who.call("PATCH", f"/api/v1/actions/{action['id']}", {"version": action["version"], **change})

    def prepare(self, code: str) -> dict:
        self._upload(code)
        for a in EXAMPLE_ACTIONS.get(code, []):
            owner = self.team[a["owner"]]
            action = owner.call("POST", f"/api/v1/reports/{self.rid}/actions", action_body(a, owner.id, self.files), expect=201)
            for status in ("in_progress",) if code == "D5" else ("in_progress", "implemented"):
                action = self._patch(owner, action, status=status)
            if code != "D5":
                action = self._patch(self.team[a["verifier"]], action, status="verified", verification=a["verification"])
            self.actions[a["ref"]] = {**action, "example": a}
        for u in EXAMPLE_ACTION_UPDATES.get(code, []):
            action = self.actions[u["ref"]]
            change = replace_evidence({k: v for k, v in u.items() if k != "ref"}, self.files)
            if "implemented_on" in change:
                change["status"] = "implemented"
            self.actions[u["ref"]] = {**self._patch(self.team["leader"], action, **change), "example": action["example"]}
        if code == "D6":
            for ref, action in self.actions.items():
                if action["kind"] == "corrective":
                    a = action["example"]
                    self.actions[ref] = {**self._patch(self.team[a["verifier"]], action, status="verified", verification=a["verification"]), "example": a}
        return replace_evidence(example(code), self.files)


def walk_to_review_of(leader: Api, quality_lead: Api, rid: int, until: str, team: dict[str, Api] | None = None) -> dict:
    """Fill every discipline with the method's example - its files and actions included (`team`:
    the Api of each role of the example's actions) - and advance (approving the customer reviews
    on the way) until `until` is submitted for the customer's review."""
    walk = ExampleWalk(rid, team or {"leader": leader})
    report = leader.report(rid)
    for code in CODES[CODES.index(report["stage"]) :]:
        if example(code):
            leader.save(rid, code, walk.prepare(code))
        report = leader.advance(rid, f"{code} ready.")
        if code == until:
            assert report["status"] == "in_review" and report["stage"] == until, report
            return report
        if report["status"] == "in_review":
            report = quality_lead.review(rid, "approve", f"{code} accepted.")
    raise AssertionError(f"never reached the review of {until}")
