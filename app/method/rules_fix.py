"""Completion rules of the permanent fix and after: D5 (chosen and verified corrective actions),
D6 (implemented, validated, containment lifted), D7 (prevention, read-across, lessons) and D8
(closure). Shared vocabulary: app/method/checks.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _

from app.method.checks import (  # noqa: F401
    BLOCK,
    DETECTION_RATING,
    MIN_REASON,
    SCOPE_WORDS,
    WARN,
    Finding,
    GateContext,
    _cascaded,
    _cl,
    _files,
    _fl,
    _inspection,
    _label,
    _location_label,
    _name,
    _not_future,
    _num,
    _real_reason,
    _required,
    _required_field,
    _short_texts,
    _today,
    _verified,
    detection_actions,
    durable,
)
from app.method.fields import is_blank, parse_date


# ------------------------------------------------------------------------------------------- D5
def rules_d5(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D5")
    _required("D5", v, out)
    causes = ctx.get("D4").get("causes") or []
    passed = [c for c in causes if c.get("conclusion") == "passed"]
    known = {c.get("ref") for c in causes if c.get("ref")}
    tracked = ctx.tracked("corrective")
    local = [c for c in passed if is_blank(c.get("cascade"))]
    for c in passed:
        if not is_blank(c.get("cascade")):
            _cascaded(ctx, "D5", c, "action_verified", out)  # the sub-supplier's corrective action removes it
    if not tracked and (local or not passed):
        out.append(Finding(BLOCK, _("D5: add the permanent corrective actions (tracked corrective actions, one or more per verified cause).")))
    for c in local:
        addressing = [a for a in tracked if c.get("ref") in (a.get("causes") or [])]
        if not addressing:
            out.append(Finding(BLOCK, _("D5: verified cause %(ref)s has no permanent corrective action (none names it in \"Causes addressed\").", ref=c.get("ref"))))
        elif c.get("kind") == "occurrence" and not any(durable(a) for a in addressing):
            out.append(Finding(BLOCK, _("D5: occurrence cause %(ref)s is only addressed by training, reminders, monitoring, audits or inspection - "
                                        "change the process, the design, a fixture or a parameter limit, or add error-proofing (poka-yoke, interlock).",
                                        ref=c.get("ref"))))
    escape = ctx.get("D4").get("escape_point")
    if (causes or not is_blank(escape)) and not detection_actions(ctx):
        out.append(Finding(BLOCK, _("D5: the escape point needs a detection action (a corrective action whose kind is non-detection).")))
    evidence_label = _("\"Pre-verification\" evidence")
    for a in tracked:
        refs = a.get("causes") or []
        if not refs:
            out.append(Finding(BLOCK, _("D5: %(a)s names no D4 cause in \"Causes addressed\".", a=_name(a))))
        unknown = [r for r in refs if r not in known]
        if unknown:
            out.append(Finding(BLOCK, _("D5: %(a)s refers to a cause that D4 does not list: %(c)s.", a=_name(a), c=", ".join(unknown))))
        if is_blank(a.get("pre_verification")):
            out.append(Finding(BLOCK, _("D5: %(a)s needs its \"Pre-verification\" (proof it works without side effects).", a=_name(a))))
        _files(ctx, "D5", f"{_name(a)}: {evidence_label}", a.get("pre_verification_evidence"), out)
    if tracked and all(_inspection(a) for a in tracked):
        out.append(Finding(WARN, _("D5: every action is an added inspection - is the cause itself removed?")))
    _short_texts("D5", v, out)


# ------------------------------------------------------------------------------------------- D6
def rules_d6(ctx: GateContext, out: list[Finding]) -> None:
    """Implemented (when, with which files), validated over a period that starts after the last
    implementation and has ended, and the containment lifted after the validation passed."""
    v = ctx.get("D6")
    _required("D6", v, out)
    if not is_blank(v.get("validation_evidence")):  # when empty, "required" says it
        _files(ctx, "D6", f"\"{_fl('D6', 'validation_evidence')}\"", v.get("validation_evidence"), out)
    implemented: list[tuple[dt.date, dict]] = []
    if not ctx.tracked("corrective"):
        out.append(Finding(BLOCK, _("D6: there is no corrective action to implement and validate (they are tracked in D5).")))
    for a in ctx.tracked("corrective"):
        day = a.get("implemented_on")
        if day is None:
            out.append(Finding(BLOCK, _("D6: %(a)s is not recorded as implemented (\"Implemented on\").", a=_name(a))))
        else:
            _not_future(ctx, "D6", _("\"Implemented on\" of %(a)s", a=_name(a)), day, out)
            implemented.append((day, a))
        _files(ctx, "D6", _("%(a)s: implementation evidence", a=_name(a)), a.get("implementation_evidence"), out)
        if not _verified(a):
            out.append(Finding(BLOCK, _("D6: corrective action %(a)s is not verified as effective yet (by someone other than its owner).", a=_name(a))))
    size = v.get("sample_size")
    if size is not None and _num(size) <= 0:
        out.append(Finding(BLOCK, _("D6: the validation sample size must be greater than zero.")))
    if v.get("validation_result") and v.get("validation_result") != "pass":
        out.append(Finding(BLOCK, _("D6: the validation has not passed.")))
    p_from, p_to = parse_date(v.get("period_from")), parse_date(v.get("period_to"))
    f_from, f_to = _fl("D6", "period_from"), _fl("D6", "period_to")
    if p_from and p_to and p_to < p_from:
        out.append(Finding(BLOCK, _("D6: the validation period ends before it starts.")))
    if p_from and implemented:
        last, last_action = max(implemented, key=lambda t: t[0])
        if p_from < last:
            out.append(Finding(BLOCK, _("D6: \"%(f)s\" (%(day)s) is before the last implementation (%(a)s on %(last)s) - validate the implemented fix.",
                                        f=f_from, day=p_from.isoformat(), a=last_action.get("ref") or "?", last=last.isoformat())))
    if p_to and p_to > ctx.day and v.get("validation_result") == "pass":
        out.append(Finding(BLOCK, _("D6: the validation period has not ended (\"%(f)s\" is %(day)s) - a validation cannot pass before its period is over.",
                                    f=f_to, day=p_to.isoformat())))
    for a in ctx.tracked("containment"):
        removed = a.get("removed_on")
        if removed is None:
            out.append(Finding(BLOCK, _("D6: containment action %(a)s has not been lifted.", a=_name(a))))
            continue
        _not_future(ctx, "D6", _("the lifting of %(a)s", a=_name(a)), removed, out)
        if p_to and removed < p_to:
            out.append(Finding(BLOCK, _("D6: containment action %(a)s was lifted (%(day)s) before the validation ended (%(end)s).",
                                        a=_name(a), day=removed.isoformat(), end=p_to.isoformat())))
    scope = v.get("sample_scope") or ""
    if scope and not SCOPE_WORDS.search(scope):
        out.append(Finding(WARN, _("D6: the sample scope names no lot, shift, line or condition.")))
    _short_texts("D6", v, out)


# ------------------------------------------------------------------------------------------- D7
def rules_d7(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D7")
    _required("D7", v, out)
    docs = v.get("doc_updates") or []
    evidence = _cl("D7", "doc_updates", "evidence")
    for doc_type, label, reason_field in (
        ("pfmea", _("PFMEA"), "pfmea_not_affected"),
        ("control_plan", _("control plan"), "control_plan_not_affected"),
    ):
        updated = [
            d
            for d in docs
            if d.get("doc_type") == doc_type
            and not is_blank(d.get("rev_after"))
            and (d.get("rev_after") or "").strip() != (d.get("rev_before") or "").strip()
        ]
        reason = v.get(reason_field)
        if not is_blank(reason):
            if not _real_reason(reason):
                out.append(Finding(BLOCK, _("D7: \"%(f)s\" is too short to be checked (at least %(n)s characters).", f=_fl("D7", reason_field), n=MIN_REASON)))
            continue
        if not updated:
            out.append(Finding(BLOCK, _("D7: update the %(doc)s (a new revision) or say why it is not affected.", doc=label)))
            continue
        if ctx.opened_on and not any((parse_date(d.get("date")) or dt.date.min) >= ctx.opened_on for d in updated):
            out.append(Finding(BLOCK, _("D7: the %(doc)s revision must be dated after the report was opened.", doc=label)))
        for d in updated:
            _not_future(ctx, "D7", _("the %(doc)s revision %(rev)s", doc=label, rev=d.get("rev_after")), parse_date(d.get("date")), out)
            _files(ctx, "D7", _("the %(doc)s revision %(rev)s: \"%(f)s\"", doc=label, rev=d.get("rev_after"), f=evidence), d.get("evidence"), out)
    rows = v.get("read_across") or []
    none_reason = v.get("read_across_none_reason")
    if not rows and not _real_reason(none_reason):
        out.append(Finding(BLOCK, _("D7: read-across needs at least one row - or \"%(f)s\" with a reason of at least %(n)s characters.",
                                    f=_fl("D7", "read_across_none_reason"), n=MIN_REASON)))
    for i, r in enumerate(rows, start=1):
        if r.get("decision") != "apply" or r.get("status") in ("implemented", "verified"):
            continue
        if is_blank(r.get("owner")) or is_blank(r.get("due")):
            out.append(Finding(BLOCK, _("D7: read-across row %(n)s (%(t)s) is to be applied but not implemented - implement it, or give it an owner and a due date "
                                        "(it is then tracked as a preventive action after closure).", n=i, t=r.get("target") or "?")))
    for a in ctx.tracked("preventive"):
        if a["status"] not in ("implemented", "verified"):
            out.append(Finding(BLOCK, _("D7: preventive action %(a)s is not implemented yet.", a=_name(a))))
    inspections = [a for a in detection_actions(ctx) if _inspection(a)]
    if inspections and not any(d.get("doc_type") == "pfmea" and DETECTION_RATING.search(d.get("change") or "") for d in docs):
        out.append(Finding(WARN, _("D7: the escape point is closed by an inspection (%(a)s) - the PFMEA revision should re-rate detection.",
                                   a=", ".join(a.get("ref") or "?" for a in inspections))))
    _short_texts("D7", v, out)


def read_across_to_track(values: dict[str, Any]) -> list[dict[str, Any]]:
    """D7 read-across rows to apply that are not implemented but have an owner and a due date:
    at closure each becomes a tracked preventive action."""
    return [
        r for r in values.get("read_across") or []
        if r.get("decision") == "apply" and r.get("status") not in ("implemented", "verified") and not is_blank(r.get("owner")) and r.get("due")
    ]


# ------------------------------------------------------------------------------------------- D8
def rules_d8(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D8")
    _required("D8", v, out)
    if v.get("lessons_filed") is False:
        out.append(Finding(WARN, _("D8: the lessons learned are not filed in the lessons-learned database (\"%(f)s\").", f=_fl("D8", "lessons_filed"))))
    for a in ctx.actions:
        if a["status"] not in ("verified", "cancelled"):
            out.append(Finding(BLOCK, _("D8: action %(a)s is still %(s)s - verify or cancel it before closure.", a=_name(a), s=a["status"].replace("_", " "))))
    for child in ctx.cascades:
        if child["status"] != "closed":
            out.append(Finding(WARN, _("D8: the cascaded 8D %(n)s with %(s)s is still open (%(st)s) - close it before this report, or say why not.",
                                       n=child["number"], s=child.get("supplier") or "?", st=child["stage"])))
    tracked_later = read_across_to_track(ctx.get("D7"))
    if tracked_later:
        out.append(Finding(WARN, _("D8: %(n)s read-across row(s) will be tracked as preventive actions after closure: %(t)s.",
                                   n=len(tracked_later), t="; ".join(r.get("target") or "?" for r in tracked_later))))


