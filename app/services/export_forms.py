"""The report in the layouts customers prescribe (IATF 16949 10.2.3): the VDA 8D form and Ford's
Global 8D (G8D) form, as PDF - the same content as the standard export (every discipline's values,
tables, actions, team, reviews and signatures), arranged as the customer's form with its names for
the disciplines and the actions. Rendered by the same WeasyPrint machinery with the same fetcher
that fetches nothing (export.py)."""

from __future__ import annotations

from flask import render_template

from app import method
from app.models import Report

# Presentation data: each form's name, its reference, its names of the disciplines and actions.
LAYOUTS: dict[str, dict] = {
    "vda": {
        "name": "8D Report (VDA)",
        "reference": "Layout of the VDA 8D form (VDA volume \u201c8D \u2013 Problem Solving in 8 Disciplines\u201d), IATF 16949 10.2.3",
        "accent": "#1d3f66",
        "titles": {
            "D0": "Symptom and emergency response (before D1)",
            "D1": "Problem solving team",
            "D2": "Problem description",
            "D3": "Containment actions (immediate actions, Sofortma\u00dfnahmen)",
            "D4": "Root causes: occurrence and non-detection",
            "D5": "Planned corrective actions and verification of effectiveness",
            "D6": "Implemented corrective actions (Abstellma\u00dfnahmen) and validation",
            "D7": "Actions to prevent recurrence",
            "D8": "Closure and team recognition",
        },
        "actions": {"containment": "Containment action", "corrective": "Corrective action", "preventive": "Preventive action"},
        "signoff": "Closure of the 8D report by the customer",
    },
    "g8d": {
        "name": "Global 8D (G8D)",
        "reference": "Layout of Ford's Global 8D form (G8D), D0 to D8",
        "accent": "#133a7c",
        "titles": {
            "D0": "Prepare for the G8D process: symptom and Emergency Response Action (ERA)",
            "D1": "Establish the team",
            "D2": "Describe the problem",
            "D3": "Develop the Interim Containment Action (ICA)",
            "D4": "Diagnose the problem: root cause and escape point",
            "D5": "Choose and verify Permanent Corrective Actions (PCAs) for root cause and escape point",
            "D6": "Implement and validate PCAs",
            "D7": "Prevent recurrence",
            "D8": "Recognize team and individual contributions",
        },
        "actions": {"containment": "ICA", "corrective": "PCA", "preventive": "Prevent action"},
        "signoff": "G8D closure concurrence by the customer",
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
