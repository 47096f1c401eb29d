"""Evidence: files stored content-addressed (app/storage) and described by Attachment rows.

Order: the blob is ingested (streamed, hashed, fsynced, atomically published) BEFORE the row is
added, and the row is committed by the request edge - a crash leaves no row without its file."""

from __future__ import annotations

from typing import Any, BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, TooLarge, Unavailable, UnsupportedMediaType
from app.extensions import db
from app.models import Action, Attachment, Report, Status, User, is_id, utcnow
from app.services import audit
from app.services.reports import get_visible_child
from app.storage import errors as stored
from app.storage import filetypes, get_store
from app.storage.base import StagedBlob
from app.storage.names import safe_display_name


class CorruptEvidence(Conflict):
    """The stored bytes no longer match their SHA-256: refused, never sent."""


def max_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def _discipline(value: Any) -> str:
    if not isinstance(value, str) or value not in method.CODES:
        raise Invalid(_("Choose the discipline the evidence belongs to."), fields={"discipline": "must be one of D0-D8"})
    return value


def _optional_int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    raise BadRequest(_("'%(name)s' must be an integer.", name=name), {"fields": {name: "must be an integer"}})


def _of_report(report: Report, model, value: Any, name: str, message: str, field_message: str):
    """The optional `model` row named by `value` (an id), which must belong to `report`."""
    child_id = _optional_int(value, name)
    if child_id is None:
        return None
    child = db.session.get(model, child_id) if is_id(child_id) else None
    if child is None or child.report_id != report.id:
        raise Invalid(message, fields={name: field_message})
    return child


def check_can_upload(actor: User, report: Report, forbidden: str | None = None) -> None:
    """403/409 before a byte of the file is read (and before evidence is withdrawn)."""
    if not policy.can_upload(actor, report):
        raise Forbidden(forbidden or _("Only members of the report's team can add evidence."))
    if report.status == Status.closed:
        raise Conflict(_("The report is closed."), {"rule": "closed"})


def _publish(report: Report, source: BinaryIO | StagedBlob, name: str):
    """The file in the store (published before any row refers to it), or the refusal as users read it."""
    try:
        store = get_store(current_app)
        if isinstance(source, StagedBlob):
            return store.publish(source, filename=name)
        else:
            return store.ingest(source, max_bytes(), filename=name)
    except stored.TooLarge:
        raise TooLarge(_("The file is too large (at most %(mb)s MB).", mb=current_app.config["MAX_UPLOAD_MB"])) from None
    except stored.EmptyFile:
        raise Invalid(_("The file is empty."), fields={"file": "is empty"}) from None
    except stored.OversizedImage as exc:
        raise UnsupportedMediaType(_("This image is not accepted as evidence: %(reason)s", reason=str(exc)),
                                   {"content_type": exc.mime, "rule": "image_too_large"}) from None
    except stored.DisallowedType as exc:
        raise UnsupportedMediaType(
            _("This type of file is not accepted as evidence: %(reason)s Accepted: PDF, PNG, JPEG, WebP, CSV, text, Office documents, ZIP.", reason=str(exc)),
            {"content_type": getattr(exc, "mime", None)},
        ) from None
    except stored.StorageError as exc:  # the store's trouble, not the file's: nothing was stored
        current_app.logger.error("evidence upload to report %s: the store failed: %s", report.id, exc)
        raise store_unavailable() from None


def upload(actor: User, report: Report, source: BinaryIO | StagedBlob, filename: Any, discipline: Any, action_id: Any = None,
           description: Any = None, replaces_id: Any = None, claim: Any = None) -> Attachment:
    """`source` is a binary stream, or a file the request reader already staged in the store
    (app/uploads.py); either way the blob is published before the row is added.

    `claim` attaches the file at once to what it proves: an evidence field or table cell of the
    discipline ("validation_evidence", "causes.<row id>.evidence"), or - with `action_id` - one of
    the action's evidence lists (by default the one of the discipline: a corrective action's D5
    file is its pre-verification, its D6 file its implementation evidence)."""
    check_can_upload(actor, report)
    code = _discipline(discipline)
    if claim is not None and not isinstance(claim, str):
        raise BadRequest(_("'claim' must be a string."), {"fields": {"claim": "must be a string"}})
    if description is not None and not isinstance(description, str):
        raise BadRequest(_("'description' must be a string."), {"fields": {"description": "must be a string"}})
    if description and len(description) > 2000:
        raise Invalid(_("The description is too long."), fields={"description": "is too long (at most 2000 characters)"})
    action = _of_report(report, Action, action_id, "action_id", _("The action does not belong to this report."), "is not an action of this report")
    replaces = _of_report(report, Attachment, replaces_id, "replaces_id", _("The evidence to replace does not belong to this report."),
                          "is not evidence of this report")
    name = safe_display_name(filename if isinstance(filename, str) else "")
    blob = _publish(report, source, name)
    att = Attachment(
        report_id=report.id, discipline=code, action_id=action.id if action else None,
        filename=name, size=blob.size, sha256=blob.sha256, content_type=blob.mime, storage_key=blob.key,
        description=(description or "").strip() or None, replaces_id=replaces.id if replaces else None,
        uploaded_by_id=actor.id, uploaded_at=utcnow(),
    )
    att.uploaded_by = actor
    db.session.add(att)
    db.session.flush()
    audit.record("evidence.uploaded", actor, report, discipline=att.discipline, changes={
        "attachment_id": [None, att.id], "filename": [None, name], "sha256": [None, blob.sha256], "size": [None, blob.size],
        **({"action_id": [None, att.action_id]} if att.action_id else {}), **({"replaces": [None, replaces.id]} if replaces else {})})
    if action is not None:
        from app.services import actions

        actions.add_evidence(actor, action, claim or _default_claim(action, code), att.id)
    elif claim:
        from app.services import disciplines

        disciplines.attach_evidence(actor, report, code, claim, att.id)
    return att


def _default_claim(action: Action, code: str) -> str:
    if action.kind.value == "corrective":
        return "implementation_evidence" if code == "D6" else "pre_verification_evidence" if code == "D5" else "evidence"
    return "evidence"


# Which discipline an action's evidence list proves something for.
_ACTION_CLAIM_DISCIPLINE = {"evidence": None, "pre_verification_evidence": "D5", "implementation_evidence": "D6"}


def uses(report: Report, att: Attachment) -> list[tuple[str, str]]:
    """Where the report claims proof with this file: (discipline, what) for every evidence field,
    table cell and action evidence list that names it."""
    from app.method.fields import evidence_paths
    from app.services import actions

    out = []
    for d in sorted(report.disciplines, key=lambda d: d.code):
        for path, f, ids, col, row in evidence_paths(method.BY_CODE[d.code].fields, d.values or {}):
            if att.id in ids:
                what = f"{(row or {}).get('ref') or (row or {}).get('doc_no') or path}: {col.label}" if col is not None else str(f.label)
                out.append((d.code, what))
    for a, name in actions.referencing(report, att.id):
        out.append((_ACTION_CLAIM_DISCIPLINE[name] or a.discipline, f"{a.ref} {name.replace('_', ' ')}"))
    return out


def _gate_passed(report: Report, code: str) -> bool:
    stage = method.CODES.index(report.stage)
    return method.CODES.index(code) < stage or (report.status != Status.open and method.CODES.index(code) <= stage)


def get_attachment(user: User, attachment_id: Any) -> tuple[Attachment, Report]:
    return get_visible_child(user, Attachment, attachment_id, _("No such evidence."))


def withdraw(actor: User, att: Attachment, report: Report, reason: Any) -> list[str]:
    """Withdraw a file (the bytes and the trail stay). Returns notes for the user: a discipline
    whose gate passed loses a proof it relied on (warned), and the customer's acceptance of it, if
    given at a review point, is withdrawn like after an edit. A file that a discipline under the
    customer's review relies on cannot be withdrawn meanwhile (it is frozen)."""
    from app.services.reports import withdraw_acceptances

    check_can_upload(actor, report, _("Only members of the report's team can withdraw evidence."))
    if reason is not None and not isinstance(reason, str):
        raise BadRequest(_("'reason' must be a string."), {"fields": {"reason": "must be a string"}})
    if att.withdrawn_at:
        return []
    used = uses(report, att)
    frozen = sorted({code for code, _what in used if policy.report_is_frozen(report, code)})
    if frozen:
        raise Conflict(_("This file is evidence of %(codes)s, which the customer is reviewing now; withdraw it after the decision.",
                         codes=", ".join(frozen)), {"rule": "frozen"})
    reason = (reason or "").strip()[:2000] or _("withdrawn by %(name)s", name=actor.name)
    att.withdrawn_at, att.withdrawn_by_id, att.withdrawn_reason = utcnow(), actor.id, reason
    audit.record("evidence.withdrawn", actor, report, discipline=att.discipline,
                 changes={"attachment_id": [att.id, att.id], "withdrawn": [False, True],
                          **({"evidence_of": [[f"{c}: {w}" for c, w in used], None]} if used else {})}, comment=reason)
    notes = []
    for code in sorted({c for c, _w in used if _gate_passed(report, c)}, key=method.CODES.index):
        what = "; ".join(w for c, w in used if c == code)
        notes.append(_("\"%(file)s\" was evidence of %(code)s (%(what)s), whose completion check has passed: %(code)s no longer has this proof.",
                       file=att.filename, code=code, what=what))
        accepted = [r for r in report.reviews if r.accepted and method.CODES.index(r.stage) >= method.CODES.index(code)]
        if accepted:
            stages = withdraw_acceptances(actor, report, code, f"evidence of {code} (\"{att.filename}\") withdrawn by {actor.name} after the customer accepted it")
            notes.append(_("The customer's acceptance of %(stages)s was withdrawn because evidence of %(code)s was withdrawn.",
                           stages=", ".join(stages), code=code))
    return notes


def purge(actor: User, att: Attachment, report: Report) -> bool:
    """An admin of the uploader's company, for withdrawn evidence: the bytes go, the row and the trail stay. A blob that
    another row still uses (identical content) is kept."""
    if not policy.can_purge_evidence(actor, report, att.uploaded_by):
        raise Forbidden(_("Only an administrator of the uploader's company can purge evidence."))
    if not att.withdrawn_at:
        raise Conflict(_("Withdraw the evidence before purging it."))
    if att.purged_at:
        return False
    att.purged_at = utcnow()
    others = db.session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.sha256 == att.sha256, Attachment.id != att.id, Attachment.purged_at.is_(None)))
    audit.record("evidence.purged", actor, report, discipline=att.discipline, changes={"attachment_id": [att.id, att.id], "purged": [False, True]})
    if not others:
        try:
            get_store(current_app).delete(att.storage_key)
        except stored.StorageError as exc:
            current_app.logger.error("evidence %s: the store failed to purge it: %s", att.id, exc)
            raise store_unavailable() from None
    return True


def open_content(att: Attachment):
    """A verified reader: corrupted or missing bytes are refused before anything is sent."""
    if att.purged_at:
        raise NotFound(_("The file of this evidence was purged by an administrator."))
    try:
        return get_store(current_app).open_verified(att.storage_key, att.sha256)
    except stored.CorruptBlob:
        current_app.logger.error("evidence %s: stored bytes do not match SHA-256 %s", att.id, att.sha256)
        raise CorruptEvidence(_("The stored file no longer matches its SHA-256 fingerprint, so it was not sent. An administrator must restore it from the backup."),
                              {"rule": "corrupted", "sha256": att.sha256}) from None
    except stored.BlobMissing:
        raise CorruptEvidence(_("The stored file is missing. An administrator must restore it from the backup."), {"rule": "missing"}) from None
    except stored.StorageError as exc:
        current_app.logger.error("evidence %s: the store failed: %s", att.id, exc)
        raise store_unavailable() from None


def store_unavailable() -> Unavailable:
    return Unavailable(_("The evidence store does not answer at the moment; nothing was stored or changed. Please try again in a minute."))


def inline_ok(att: Attachment) -> bool:
    return filetypes.ALLOWED.get(att.content_type, False)
