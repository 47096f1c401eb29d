"""Helpers shared by tests: the method's examples as a complete, consistent 8D (values, actions,
evidence files) - as gate facts and walked through the API; whole-database snapshots."""

from __future__ import annotations

import copy
import datetime as dt
import io
import secrets

from sqlalchemy import select

from app.extensions import db as _db
from app.method import CODES, EXAMPLE_ACTION_UPDATES, EXAMPLE_ACTIONS, EXAMPLE_EVIDENCE, EXAMPLES, HEADER_EXAMPLE
from app.method.examples import action_body, replace_evidence


def header(**overrides) -> dict:
    data = copy.deepcopy(HEADER_EXAMPLE)
    data.update(overrides)
    return data


def example(code: str) -> dict:
    return copy.deepcopy(EXAMPLES[code])


# The example team as gate facts: a person id per role of the example actions.
ROLE_IDS = {"leader": 1, "champion": 2, "supplier_member": 3, "customer_member": 4}


def example_action_facts() -> list[dict]:
    """The example actions as the gates read them (app/services/action_queries.action_facts): created,
    taken to verified by someone other than the owner, with D6's implementation and lifting."""
    updates = {u["ref"]: u for items in EXAMPLE_ACTION_UPDATES.values() for u in items}
    facts = []
    for code in CODES:
        for a in EXAMPLE_ACTIONS.get(code, []):
            u = updates.get(a["ref"], {})
            removed = u.get("removed_at")
            facts.append({
                "id": len(facts) + 1, "ref": a["ref"], "kind": a["kind"], "title": a["title"], "description": a.get("description"),
                "status": "verified", "owner_id": ROLE_IDS[a["owner"]], "verified_by_id": ROLE_IDS[a["verifier"]],
                "location": a.get("location"), "cause": a.get("cause"), "causes": list(a.get("causes") or []),
                "removed": removed is not None, "removed_on": dt.date.fromisoformat(removed[:10]) if removed else None,
                "implemented_on": dt.date.fromisoformat(u["implemented_on"]) if u.get("implemented_on") else None,
                "introduced_on": dt.date.fromisoformat(a["introduced_on"]) if a.get("introduced_on") else None,
                "effective_from": dt.date.fromisoformat(a["effective_from"]) if a.get("effective_from") else None,
                "effective_pct": a.get("effective_pct"), "pre_verification": a.get("pre_verification"), "error_proofing": a.get("error_proofing"),
                "target": a.get("target"), "qty_suspect": a.get("qty_suspect"), "qty_checked": a.get("qty_checked"), "qty_nok": a.get("qty_nok"),
                "evidence": list(a.get("evidence") or []), "pre_verification_evidence": list(a.get("pre_verification_evidence") or []),
                "implementation_evidence": list(u.get("implementation_evidence") or []),
            })
    return facts


def multipart(fields: dict) -> dict:
    """Keyword arguments for a test client's post of a multipart form. Werkzeug's own boundaries
    are 63-72 characters long, and about one in 400 breaks RFC 2046's limit of 70 - which the
    app's upload reader refuses (400): a fixed, valid boundary keeps uploads in tests certain."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    values = {k: FileStorage(stream=v[0], filename=v[1]) if isinstance(v, tuple) else v for k, v in fields.items()}
    boundary, body = encode_multipart(values, boundary="----8DWorkbenchTestBoundary" + secrets.token_hex(8))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def example_upload(api_client, report_id: int, placeholder: int) -> int:
    """Upload the file a placeholder of EXAMPLE_EVIDENCE stands for; returns its attachment id."""
    from app.demo import evidence_bytes

    code, name, what = EXAMPLE_EVIDENCE[placeholder]
    r = api_client.post(f"/api/v1/reports/{report_id}/attachments",
                        **multipart({"file": (io.BytesIO(evidence_bytes(name, what)), name), "discipline": code, "description": what}))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


class ExampleWalk:
    """Fill a report from the method's examples through the API, as an integrator would: upload
    the example files, save the values with their ids, create the example actions (owners by
    team role) and take them to verified by someone other than the owner, apply D6's updates."""

    def __init__(self, report_id: int, clients: dict, users: dict):
        self.rid, self.clients, self.users = report_id, clients, users  # role -> Api client / user
        self.files: dict[int, int] = {}
        self.actions: dict[str, dict] = {}

    def upload_for(self, code: str) -> None:
        for placeholder, (discipline, _name, _what) in EXAMPLE_EVIDENCE.items():
            if discipline == code and placeholder not in self.files:
                self.files[placeholder] = example_upload(self.clients["leader"], self.rid, placeholder)

    def values(self, code: str) -> dict:
        self.upload_for(code)
        return replace_evidence(example(code), self.files)

    def create_actions(self, code: str) -> None:
        for a in EXAMPLE_ACTIONS.get(code, []):
            self.upload_for(code)
            owner = self.clients[a["owner"]]
            r = owner.post(f"/api/v1/reports/{self.rid}/actions", json=action_body(a, self.users[a["owner"]].id, self.files))
            assert r.status_code == 201, r.get_json()
            action = r.get_json()
            # corrective actions are implemented in D6 and verified after their validation
            for status in ("in_progress",) if code == "D5" else ("in_progress", "implemented"):
                r = owner.patch(f"/api/v1/actions/{action['id']}", json={"version": action["version"], "status": status})
                assert r.status_code == 200, r.get_json()
                action = r.get_json()
            if code != "D5":
                action = self.verify(a, action)
            self.actions[a["ref"]] = {**action, "example": a}

    def verify(self, a: dict, action: dict) -> dict:
        r = self.clients[a["verifier"]].patch(f"/api/v1/actions/{action['id']}", json={
            "version": action["version"], "status": "verified", "verification": a["verification"]})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def apply_updates(self, code: str) -> None:
        self.upload_for(code)
        for u in EXAMPLE_ACTION_UPDATES.get(code, []):
            action = self.actions[u["ref"]]
            body = replace_evidence({k: v for k, v in u.items() if k != "ref"}, self.files)
            if "implemented_on" in body and action["status"] == "in_progress":
                body["status"] = "implemented"
            r = self.clients["leader"].patch(f"/api/v1/actions/{action['id']}", json={"version": action["version"], **body})
            assert r.status_code == 200, (u, r.get_json())
            self.actions[u["ref"]] = {**r.get_json(), "example": action["example"]}
        if code == "D6":
            for ref, action in list(self.actions.items()):
                if action["kind"] == "corrective" and action["status"] != "verified":
                    self.actions[ref] = {**self.verify(action["example"], action), "example": action["example"]}

    def prepare(self, code: str) -> dict:
        """Everything of `code` but its own field values: files, actions, D6's updates; returns the values to save."""
        values = self.values(code)
        self.create_actions(code)
        self.apply_updates(code)
        return values


# ---------------------------------------------------------------- whole-database snapshots
# For modules that build their data once and put it back before each test (the access matrix,
# the audit trail's tamper tests): every table's rows, dumped and loaded in foreign-key order.
def wipe_tables() -> None:
    for table in reversed(_db.metadata.sorted_tables):
        _db.session.execute(table.delete())


def dump_tables() -> dict[str, list[dict]]:
    return {t.name: [dict(r._mapping) for r in _db.session.execute(select(t))] for t in _db.metadata.sorted_tables}


def load_tables(rows: dict[str, list[dict]]) -> None:
    """Replace every table's content with `rows` (from `dump_tables`) and commit."""
    wipe_tables()
    for table in _db.metadata.sorted_tables:
        if rows[table.name]:
            _db.session.execute(table.insert(), rows[table.name])
    _db.session.commit()


def wipe_after_module(app) -> None:
    """The end of such a module: every table emptied."""
    with app.app_context():
        _db.session.remove()
        wipe_tables()
        _db.session.commit()
        _db.session.remove()
