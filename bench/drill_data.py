"""The drill's database side, run with the stack's environment (the production app, its PostgreSQL
and its S3 store):

    python bench/drill_data.py seed USERS              -> JSON: the accounts and their reports
    python bench/drill_data.py check RECORDS SINK      -> JSON: saves, files, mails as stored

`seed` adds the drill's people to the demo companies (quality leads of the OEM; engineers of both
companies) and opens reports whose teams mix them, each engineer on two reports. `check` compares
what the load client was told (RECORDS, written by bench/drill.py) with what the database, the
audit trail, the evidence store and the SMTP sink (SINK, one JSON line per mail) hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.method import HEADER_EXAMPLE  # noqa: E402
from app.models import (  # noqa: E402
    Attachment,
    AuditEvent,
    Company,
    DisciplineEntry,
    DisciplineRevision,
    MailStatus,
    OutboxMessage,
    utcnow,
)
from app.services import accounts, reports, team  # noqa: E402
from app.storage import StorageError, get_store  # noqa: E402

PASSWORD = "drill-password-8d-2026"


def seed(users: int) -> dict:
    oem = db.session.scalar(select(Company).where(Company.name == "Volta Motors AG"))
    supplier = db.session.scalar(select(Company).where(Company.name == "CellTech Modules GmbH"))
    n_ql = max(1, users // 40)
    n_eng = max(4, users - n_ql)
    n_oem = max(2, round(n_eng * 0.45))
    people: list[dict] = []
    for i in range(n_ql):
        u = accounts.create_user(None, f"drill-ql-{i:03d}@volta.example", f"Drill Quality Lead {i:03d}", oem.id, "quality_lead", PASSWORD)
        people.append({"id": u.id, "email": u.email, "role": "quality_lead", "side": "oem", "reports": [], "steers": []})
    engineers = {"oem": [], "supplier": []}
    for i in range(n_eng):
        side = "oem" if i < n_oem else "supplier"
        company = oem if side == "oem" else supplier
        domain = "volta.example" if side == "oem" else "celltech.example"
        u = accounts.create_user(None, f"drill-eng-{i:03d}@{domain}", f"Drill Engineer {i:03d}", company.id, "engineer", PASSWORD)
        person = {"id": u.id, "email": u.email, "role": "engineer", "side": side, "reports": [], "steers": []}
        people.append(person)
        engineers[side].append(person)
    db.session.commit()

    n_reports = max(4, users // 5)
    teams: list[list[dict]] = [[] for _ in range(n_reports)]
    for side in ("oem", "supplier"):  # every engineer on two reports; every report has both sides
        for k, person in enumerate(engineers[side]):
            for j in {k % n_reports, (k * 7 + 3) % n_reports}:
                teams[j].append(person)
    by_id = {p["id"]: p for p in people}
    detected = (utcnow() - dt.timedelta(days=2)).date().isoformat()
    out_reports = []
    for j, members in enumerate(teams):
        oem_side = [p for p in members if p["side"] == "oem"]
        sup_side = [p for p in members if p["side"] == "supplier"]
        champion, leader = oem_side[0], sup_side[0]
        champion_user = accounts.get_user(champion["id"])
        r = reports.create_report(champion_user, {**HEADER_EXAMPLE, "title": f"Drill {j:03d}: cell-tab weld resistance, lot {2600 + j}",
                                                  "detected_on": detected, "oem_id": oem.id, "supplier_id": supplier.id,
                                                  "complaint_ref": f"VM-QN-DRILL-{j:04d}"})
        team.add_member(champion_user, r, leader["id"], "leader")
        for p in members:
            if p["id"] not in (champion["id"], leader["id"]):
                team.add_member(champion_user, r, p["id"], "member")
        db.session.commit()
        for p in members:
            by_id[p["id"]]["reports"].append(r.id)
        for p in (champion, leader):
            by_id[p["id"]]["steers"].append(r.id)
        out_reports.append({"id": r.id, "number": r.number})
    for p in people:
        if p["role"] == "quality_lead":
            p["reports"] = [r["id"] for r in out_reports]
    return {"password": PASSWORD, "people": people, "reports": out_reports,
            "first_new_attachment_id": (db.session.scalar(select(func.max(Attachment.id))) or 0) + 1}


def _norm(value):
    """Table rows get an `id` from the server; compare what the client wrote."""
    if isinstance(value, list):
        return [{k: v for k, v in row.items() if k != "id"} if isinstance(row, dict) else row for row in value]
    return value


def check(records_path: str, sink_path: str) -> dict:
    records = json.loads(Path(records_path).read_text())
    out: dict = {}

    # -- saves: every save the client was answered 200 for ---------------------------------------
    events = defaultdict(list)  # (report, code) -> [(seq, changes)]
    for ev in db.session.execute(select(AuditEvent.report_id, AuditEvent.discipline, AuditEvent.seq, AuditEvent.changes)
                                 .where(AuditEvent.action == "discipline.updated").order_by(AuditEvent.report_id, AuditEvent.seq)):
        events[(ev.report_id, ev.discipline)].append((ev.seq, ev.changes or {}))
    finals = {(e.report_id, e.code): e.values or {} for e in db.session.scalars(select(DisciplineEntry))}
    revisions = {(r.report_id, r.code, r.version): r.values or {} for r in db.session.scalars(select(DisciplineRevision))}
    lost, superseded, current, in_revision, written_twice = [], 0, 0, 0, 0
    for s in records["saves"]:
        key, name = (s["report_id"], s["code"]), s["field"]
        value = _norm(s["value"])
        touching = [(seq, _norm(changes[name][1])) for seq, changes in events[key] if name in changes]
        writes = [seq for seq, new in touching if new == value]
        final = _norm(finals.get(key, {}).get(name))
        if not writes:
            lost.append({**s, "why": "no audit event wrote this value"})
            continue
        if s.get("unique") and len(writes) > 1:
            written_twice += 1
        later = [new for seq, new in touching if seq > writes[-1]]
        if not later and final == value:
            current += 1
        elif later and final == later[-1]:
            superseded += 1
        else:
            lost.append({**s, "why": f"final value {str(final)[:60]!r} is not the last recorded write"})
            continue
        if _norm(revisions.get((s["report_id"], s["code"], s["version"]), {}).get(name)) == value:
            in_revision += 1
    out["saves"] = {"acknowledged": len(records["saves"]), "lost": len(lost), "lost_examples": lost[:10], "still_current": current,
                    "superseded_by_a_later_recorded_write": superseded, "found_in_the_revision_answered": in_revision, "unique_values_written_twice": written_twice,
                    "audit_events_discipline_updated": sum(len(v) for v in events.values())}

    # -- files: every attachment row the drill produced, and every one the client was told of -----
    store = get_store()
    first = records["first_new_attachment_id"]
    rows = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id >= first))}
    told = {u["id"]: u for u in records["uploads"]}
    missing_rows = [i for i in told if i not in rows]
    wrong_hash_rows = [i for i, u in told.items() if i in rows and rows[i].sha256 != u["sha256"]]
    unreadable, corrupt = [], []
    for att in rows.values():
        try:
            with store.open_verified(att.storage_key, att.sha256) as reader:
                digest = hashlib.sha256()
                for chunk in reader:
                    digest.update(chunk)
            if digest.hexdigest() != att.sha256:
                corrupt.append(att.id)
        except StorageError as exc:
            (corrupt if "corrupt" in type(exc).__name__.lower() else unreadable).append(att.id)
    out["files"] = {"rows_created": len(rows), "client_told_201": len(told), "rows_missing_for_a_201": len(missing_rows),
                    "rows_with_another_sha256": len(wrong_hash_rows), "rows_whose_blob_is_missing": len(unreadable),
                    "rows_whose_blob_is_corrupt": len(corrupt), "rows_not_told_to_the_client": len(set(rows) - set(told))}

    # -- mails: every outbox row sent exactly once, by Message-ID at the sink ---------------------
    outbox = db.session.execute(select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.status)).all()
    statuses = Counter(row.status.value for row in outbox)
    message_id = OutboxMessage.message_id.fget  # the same Message-ID the worker put on the mail
    sent_ids = [message_id(row) for row in outbox if row.status == MailStatus.sent]
    all_ids = {message_id(row) for row in outbox}
    arrived = Counter()
    for line in Path(sink_path).read_text().splitlines():
        if line.strip():
            arrived[json.loads(line)["message_id"]] += 1
    out["mails"] = {"outbox_rows": sum(statuses.values()), "by_status": dict(statuses), "sent": len(sent_ids),
                    "arrived_at_the_sink": sum(arrived.values()),
                    "lost": sum(1 for m in sent_ids if arrived[m] == 0),
                    "duplicated": sum(1 for m in sent_ids if arrived[m] > 1),
                    "arrived_without_an_outbox_row": sum(1 for m in arrived if m not in all_ids),
                    "arrived_but_not_marked_sent": len(set(arrived) & all_ids - set(sent_ids))}
    return out


def main() -> None:
    app = create_app()
    with app.app_context():
        if sys.argv[1] == "seed":
            result = seed(int(sys.argv[2]))
        elif sys.argv[1] == "check":
            result = check(sys.argv[2], sys.argv[3])
        else:
            raise SystemExit(__doc__)
        db.session.commit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
