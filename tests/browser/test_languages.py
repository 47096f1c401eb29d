"""A German and a Chinese user each walk a report in their own language, in Chromium: the German
one by the browser's Accept-Language, the Chinese one by choosing 中文 on the account page. The
pages, the completion check's list and the PDF they download are in their language; the PDF states
the report's language of record and its Chinese is real, extractable text."""

from __future__ import annotations

import io
import re
import uuid

import pytest

from tests.browser.support import CELLTECH, JANA, LUKAS, example, header, starts

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py skips (or fails) every journey and says why
    expect = None


def unique(title: str) -> str:
    return f"{title} [{uuid.uuid4().hex[:6]}]"


def flash(page, text):
    return page.get_by_role("status").get_by_text(text)


def pdf_text(page, rid: int, accept_language: str | None = None) -> str:
    """The PDF as the page's session downloads it (Playwright's request API does not send the
    browser's Accept-Language by itself: it is given as the browser would)."""
    from pypdf import PdfReader

    response = page.request.get(f"/reports/{rid}/export.pdf", headers={"Accept-Language": accept_language} if accept_language else None)
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    reader = PdfReader(io.BytesIO(response.body()))
    return re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in reader.pages))


@pytest.mark.browser
def test_a_german_engineer_walks_d0_with_the_gate_in_german(open_as, api):
    jana, lukas = api(JANA), api(LUKAS)
    rid = jana.open_report(unique("Etikett mit falscher Chargennummer"), **header(oem_plant=None))["id"]
    jana.add_member(rid, lukas.id, "leader")
    jana.save(rid, "D0", {k: v for k, v in example("D0").items() if k != "symptom"})

    page = open_as(LUKAS, locale="de-DE")  # no choice of his own: the browser's language decides
    expect(page.get_by_role("heading", name="8D-Berichte")).to_be_visible()
    page.goto(f"/reports/{rid}")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="D0 · Vorbereitung und Notfallmaßnahmen")).to_be_visible()
    page.get_by_role("button", name="Weiter zu D1").click()
    expect(flash(page, "D0 kann noch nicht abgeschlossen werden; die Liste zeigt, was fehlt.")).to_be_visible()
    listing = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="Was fehlt, bevor der Bericht weitergehen kann"))
    expect(listing.get_by_role("listitem")).to_have_text(['Kopfdaten: „Kundenwerk“ ist erforderlich.',
                                                          'D0: „Symptom (beschrieben und quantifiziert)“ ist erforderlich.'])

    page.get_by_label(starts("Kundenwerk")).fill("Volta Motors Batteriewerk Zwickau")
    page.get_by_role("button", name="Reklamationsdaten speichern").click()
    expect(flash(page, "Kopfdaten gespeichert.")).to_be_visible()
    page.get_by_label(starts("Symptom (beschrieben und quantifiziert)")).fill(
        "37 von 1.200 Modulen (3,1 %) mit gerissenen Zellverbinder-Schweißungen, gefunden bei der End-of-Line-Prüfung des OEM."
    )
    page.get_by_role("button", name="D0 speichern").click()
    expect(flash(page, "D0 gespeichert (Version 2).")).to_be_visible()
    page.get_by_role("button", name="Weiter zu D1").click()
    expect(flash(page, "Der Bericht ist weitergeschaltet.")).to_be_visible()
    expect(page.get_by_text("Offen · D1", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="D1 · Team")).to_be_visible()

    text = pdf_text(page, rid, "de-DE,de;q=0.9")
    for words in ("Berichtssprache:English", "Sofortmaßnahmen", "Abstellmaßnahmeneinführen", "Wiederauftretenverhindern",
                  "VoltaMotorsBatteriewerkZwickau"):
        assert words in text, words


@pytest.mark.browser
def test_a_chinese_engineer_chooses_chinese_and_opens_a_complaint_in_it(open_as):
    title = unique("电芯极耳焊接开裂")
    page = open_as(JANA)  # an English browser: she chooses her language herself
    page.goto("/account")
    page.get_by_label("Language", exact=True).select_option(label="中文")
    page.get_by_role("button", name="Save language").click()
    expect(flash(page, "您的语言设置已保存。")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh")

    page.get_by_role("link", name="新建报告").click()
    expect(page.get_by_role("heading", name="创建新的 8D 报告")).to_be_visible()
    page.get_by_role("combobox", name="供应商", exact=True).select_option(label=CELLTECH)
    page.get_by_label(starts("标题")).fill(title)
    page.get_by_role("button", name="创建报告").click()
    expect(flash(page, re.compile(r"报告 8D-\d{4}-\d{4} 已创建。"))).to_be_visible()
    expect(page.get_by_role("heading", name="D0 · 准备与紧急响应")).to_be_visible()
    # her language became the report's language of record
    expect(page.get_by_label(starts("报告记录语言")).locator("option:checked")).to_have_text("中文")
    page.get_by_role("link", name=re.compile("^D3")).first.click()
    expect(page.get_by_role("heading", name="D3 · 临时围堵措施")).to_be_visible()

    rid = int(re.search(r"/reports/(\d+)", page.url).group(1))
    text = pdf_text(page, rid)
    for words in ("报告记录语言：中文", "本副本以中文打印", "临时围堵措施", "根本原因与逃逸点", "永久纠正措施", "预防再发",
                  re.sub(r"\s+", "", title)):
        assert words in text, words
