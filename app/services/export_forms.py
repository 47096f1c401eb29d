"""The report in the layouts customers prescribe (IATF 16949 10.2.3): the VDA 8D form and Ford's
Global 8D (G8D) form, as PDF - the same content as the standard export (every discipline's values,
tables, actions, team, reviews and signatures), arranged as the customer's form with its names for
the disciplines and the actions. Rendered by the same WeasyPrint machinery with the same fetcher
that fetches nothing (export.py)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from app import method
from app.models import Report

# Presentation data: each form's name, its reference, its names of the disciplines and actions.
LAYOUTS: dict[str, dict] = {
    "vda": {
        "name": _l("8D Report (VDA)"),
        "reference": _l("Layout of the VDA 8D form (VDA volume \u201c8D \u2013 Problem Solving in 8 Disciplines\u201d), IATF 16949 10.2.3"),
        "accent": "#1d3f66",
        "titles": {
            "D0": _l("Symptom and emergency response (before D1)"),
            "D1": _l("Problem solving team"),
            "D2": _l("Problem description"),
            "D3": _l("Containment actions (immediate actions, Sofortma\u00dfnahmen)"),
            "D4": _l("Root causes: occurrence and non-detection"),
            "D5": _l("Planned corrective actions and verification of effectiveness"),
            "D6": _l("Implemented corrective actions (Abstellma\u00dfnahmen) and validation"),
            "D7": _l("Actions to prevent recurrence"),
            "D8": _l("Closure and team recognition"),
        },
        "actions": {"containment": _l("Containment action"), "corrective": _l("Corrective action"), "preventive": _l("Preventive action")},
        "signoff": _l("Closure of the 8D report by the customer"),
    },
    "g8d": {
        "name": _l("Global 8D (G8D)"),
        "reference": _l("Layout of Ford's Global 8D form (G8D), D0 to D8"),
        "accent": "#133a7c",
        "titles": {
            "D0": _l("Prepare for the G8D process: symptom and Emergency Response Action (ERA)"),
            "D1": _l("Establish the team"),
            "D2": _l("Describe the problem"),
            "D3": _l("Develop the Interim Containment Action (ICA)"),
            "D4": _l("Diagnose the problem: root cause and escape point"),
            "D5": _l("Choose and verify Permanent Corrective Actions (PCAs) for root cause and escape point"),
            "D6": _l("Implement and validate PCAs"),
            "D7": _l("Prevent recurrence"),
            "D8": _l("Recognize team and individual contributions"),
        },
        "actions": {"containment": _l("ICA"), "corrective": _l("PCA"), "preventive": _l("Prevent action")},
        "signoff": _l("G8D closure concurrence by the customer"),
    },
}
LAYOUT_NAMES = ("standard", *LAYOUTS)


def render_layout_pdf(report: Report, layout: str) -> bytes:
    from weasyprint import HTML

    from app.services.export import _refuse_fetch, export_document

    doc = export_document(report)
    actions_by_code: dict[str, list] = {}
    for a in doc["actions"]:
        actions_by_code.setdefault(a["discipline"], []).append(a)
    html = render_template("pdf/form.html", report=report, doc=doc, method=method, form=LAYOUTS[layout], layout=layout,
                           actions_by_code=actions_by_code)
    return HTML(string=html, url_fetcher=_refuse_fetch, base_url=None).write_pdf()
