"""German and Chinese: complete catalogues, each user's own language for pages, API errors, mails,
dates and the PDF, and the report's language of record."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from babel.dates import format_date
from sqlalchemy import delete, select

from app import i18n_catalogue
from app.extensions import db as _db
from app.models import OutboxMessage, Report, User, utcnow
from app.services import actions, disciplines, reports, team
from tests.conftest import csrf_from, login

LANGUAGES = ("de", "zh")


# ------------------------------------------------------------------------------- the catalogues
@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory):
    """The texts wrapped in the code as it is now - not the committed .pot, which may be stale."""
    from babel.messages.pofile import read_po

    path = i18n_catalogue.extract(tmp_path_factory.mktemp("pot") / "messages.pot")
    with path.open("rb") as f:
        return read_po(f)


def test_both_languages_are_shipped():
    assert set(LANGUAGES) <= set(i18n_catalogue.shipped_languages())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_wrapped_text_has_a_translation(fresh_template, language):
    """Fails for a new _() without a translation (empty or fuzzy): run `make messages` and fill it."""
    assert len([m for m in fresh_template if m.id]) > 1000
    assert i18n_catalogue.missing(language, fresh_template) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders_and_format(language):
    assert i18n_catalogue.placeholder_errors(language) == []
    assert i18n_catalogue.format_errors(language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_compiled_catalogues_are_current(language):
    assert i18n_catalogue.stale_compiled(language) == []


def test_the_checks_catch_a_missing_a_fuzzy_and_a_broken_translation(tmp_path, monkeypatch):
    """The checks themselves: a catalogue with one text missing, one fuzzy, one placeholder lost."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    pot = Catalog()
    for text in ("Save", "Open %(code)s", "Close", "Reject"):
        pot.add(text)
    po = Catalog(locale="de")
    po.add("Save", "Speichern")
    po.add("Open %(code)s", "Öffnen", flags=["python-format"])
    po.add("Close", "Schließen", flags=["fuzzy"])
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "de" / "LC_MESSAGES" / "messages.po").open("wb") as f:
        write_po(f, po)
    monkeypatch.setattr(i18n_catalogue, "DIRECTORY", tmp_path)
    assert i18n_catalogue.missing("de", pot) == ["Close", "Reject"]
    assert len(i18n_catalogue.placeholder_errors("de")) == 1
    assert i18n_catalogue.stale_compiled("de") == ["messages.mo is missing"]


def test_the_quality_terms_are_the_ones_engineers_use():
    """Spot checks of the method's vocabulary (VDA in German, the usual 8D terms in Chinese)."""
    de, zh = i18n_catalogue.catalogue("de"), i18n_catalogue.catalogue("zh")
    assert de.get("Interim containment actions").string == "Sofortmaßnahmen"
    assert "Abstellmaßnahme" in de.get("Implement and validate permanent corrective actions").string
    assert "Fehlerursache" in de.get("Root cause and escape point").string
    assert de.get("Verification").string == "Wirksamkeitsprüfung"
    assert de.get("NOK").string == "n.i.O."
    assert zh.get("Interim containment actions").string == "临时围堵措施"
    assert "根本原因" in zh.get("Root cause and escape point").string
    assert "永久纠正措施" in zh.get("Implement and validate permanent corrective actions").string
    assert zh.get("Preventive").string == "预防措施"


# ------------------------------------------------------------------- who reads in which language
def test_accept_language_decides_pages_and_api_errors_without_a_choice(client, parties, api):
    assert "Anmelden" in client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).get_data(as_text=True)
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh">' in page and "登录" in page
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    a = api(parties.oem_eng)
    assert a.get("/api/v1/reports/999999", headers={"Accept-Language": "de"}).get_json()["message"] == "Bericht nicht gefunden."
    assert a.get("/api/v1/reports/999999", headers={"Accept-Language": "zh"}).get_json()["message"] == "报告不存在。"
    assert a.get("/api/v1/reports/999999").get_json()["message"] == "No such report."


def test_a_user_chooses_a_language_through_the_api_and_it_beats_the_browser(parties, api):
    a = api(parties.sup_eng)
    assert a.get("/api/v1/me").get_json()["language"] is None
    res = a.patch("/api/v1/me", json={"language": "zh"})
    assert res.status_code == 200 and res.get_json()["language"] == "zh"
    assert a.get("/api/v1/me").get_json()["language"] == "zh"
    assert a.get("/api/v1/reports/999999", headers={"Accept-Language": "de"}).get_json()["message"] == "报告不存在。"
    bad = a.patch("/api/v1/me", json={"language": "fr"})
    assert bad.status_code == 422 and bad.get_json()["details"]["fields"]["language"]
    assert bad.get_json()["message"].startswith("'language' 必须是")
    assert a.patch("/api/v1/me", json={"language": None}).get_json()["language"] is None
    assert a.get("/api/v1/reports/999999", headers={"Accept-Language": "de"}).get_json()["message"] == "Bericht nicht gefunden."
    assert _db.session.get(User, parties.sup_eng.id).language is None


def test_a_user_chooses_a_language_on_the_account_page(client, parties):
    login(client, parties.sup_eng)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="language"' in page and "Deutsch" in page and "中文" in page
    res = client.post("/account/language", data={"csrf_token": csrf_from(page), "language": "de"}, follow_redirects=True)
    text = res.get_data(as_text=True)
    assert res.status_code == 200 and '<html lang="de">' in text and "Ihre Sprache wurde gespeichert." in text
    assert "Meine Maßnahmen" in client.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert client.post("/account/language", data={"language": "zh"}).status_code == 400  # CSRF required
    bad = client.post("/account/language", data={"csrf_token": csrf_from(text), "language": "xx"}, follow_redirects=True)
    assert "Wählen Sie eine der angebotenen Sprachen." in bad.get_data(as_text=True)
    assert _db.session.get(User, parties.sup_eng.id).language == "de"


def test_dates_and_numbers_follow_the_readers_locale(app):
    from flask_babel import force_locale

    from app import i18n

    day = dt.date(2026, 3, 5)
    with app.test_request_context():
        with force_locale("en"):
            assert i18n.format_day(day) == "2026-03-05" and i18n.format_number(1234.5) == "1234.5"
        with force_locale("de"):
            assert i18n.format_day(day) == "05.03.2026" and i18n.format_number(1234.5) == "1.234,5"
            assert i18n.format_moment(dt.datetime(2026, 3, 5, 14, 7)) == "05.03.2026 14:07 UTC"
        with force_locale("zh"):
            assert i18n.format_day(day) == "2026年3月5日" and i18n.format_number(1234.5) == "1,234.5"
            assert i18n.format_moment(dt.datetime(2026, 3, 5, 14, 7)) == "2026年3月5日 14:07 UTC"


# ------------------------------------------------------------------------------------ mails
def _mails(event: str) -> list[OutboxMessage]:
    return list(_db.session.scalars(select(OutboxMessage).where(OutboxMessage.event == event).order_by(OutboxMessage.id)))


def test_mails_go_out_in_each_recipients_language(db, parties):
    """One change, three recipients: German, Chinese and English mails, whoever made the change."""
    p = parties
    p.sup_eng.language, p.sup_eng2.language = "de", "zh"
    db.session.commit()
    r = reports.create_report(p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member"), (p.oem_eng2, "member")):
        team.add_member(p.oem_eng, r, user.id, role)
    db.session.commit()
    added = {m.to_email: m for m in _mails("team.added")}
    de, zh, en = added[p.sup_eng.email], added[p.sup_eng2.email], added[p.oem_eng2.email]
    assert de.subject == f"[{r.number}] Sie wurden dem 8D-Team als Teamleiter hinzugefügt"
    assert zh.subject == f"[{r.number}] 您已作为成员加入 8D 团队"
    assert en.subject == f"[{r.number}] You were added to the 8D team as member"
    assert de.body_text.startswith(f"Hallo {p.sup_eng.name},") and "Bericht öffnen" in de.body_text
    assert '<html lang="de">' in de.body_html and "Der Bericht ist bei D0." in de.body_html
    assert zh.body_text.startswith(f"{p.sup_eng2.name}，您好：") and "报告当前处于 D0。" in zh.body_text
    assert en.body_text.startswith(f"Hello {p.oem_eng2.name},")

    db.session.execute(delete(OutboxMessage))
    due = utcnow().date() + dt.timedelta(days=9)
    actions.create_action(p.oem_eng, r, {"kind": "containment", "title": "Sort stock at the hub", "owner_id": p.sup_eng.id,
                                         "due_date": due.isoformat(), "location": "in_transit"})
    db.session.commit()
    [mail] = _mails("action.assigned")
    assert mail.subject == f"[{r.number}] Ihnen zugewiesene Maßnahme: Sort stock at the hub"
    assert f"Termin: {format_date(due, 'medium', locale='de')}" in mail.body_text  # the date as Germans write it
    assert "Sofortmaßnahme" in mail.body_text


def test_the_digest_is_written_in_its_readers_language(app, db, parties):
    from app.models import MailStatus, NotificationMode, NotificationPreference
    from app.notify.digest import build_digests

    p = parties
    p.sup_eng2.language = "zh"
    db.session.add(NotificationPreference(user_id=p.sup_eng2.id, category="team", mode=NotificationMode.digest))
    db.session.commit()
    r = reports.create_report(p.oem_eng, {"title": "Weld", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.oem_eng, r, p.sup_eng2.id, "member")
    db.session.commit()
    assert [m.status for m in _mails("team.added")] == [MailStatus.held]
    assert build_digests() == 1
    [digest] = _mails("digest.daily")
    assert digest.subject == "[8D Workbench] 每日摘要：1 条更新"
    assert "自上次摘要以来的动态（1 条更新）：" in digest.body_text


# -------------------------------------------------------------------- the report and its PDF
def test_the_language_of_record_is_set_when_the_report_is_opened(parties, api):
    p = parties
    a = api(p.oem_eng)
    a.patch("/api/v1/me", json={"language": "de"})
    made = a.post("/api/v1/reports", json={"title": "Risse", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    assert made.status_code == 201 and made.get_json()["header"]["language"] == "de"
    told = a.post("/api/v1/reports", json={"title": "Weld", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "language": "zh"})
    assert told.get_json()["header"]["language"] == "zh"
    assert a.post("/api/v1/reports", json={"title": "X", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "language": "fr"}).status_code == 422


def _pdf_text(data: bytes) -> tuple[str, set[str]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    return text, fonts


def test_the_pdf_is_in_the_readers_language_with_the_language_of_record(app, db, parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Cracked welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "language": "en"})
    disciplines.save_discipline(p.sup_eng, r, "D2", 0, {"problem_statement": "焊缝开裂：4800 件中有 37 件"})
    db.session.commit()
    p.oem_eng.language, p.sup_eng.language = "zh", "de"
    db.session.commit()

    reader = app.test_client()
    login(reader, p.oem_eng)
    res = reader.get(f"/reports/{r.id}/export.pdf")
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    text, fonts = _pdf_text(res.data)
    squeezed = re.sub(r"\s+", "", text)
    # the Chinese is real text (a CJK font is embedded, every glyph maps back to its character)
    assert any("CJK" in f for f in fonts), fonts
    for words in ("报告记录语言：English", "临时围堵措施", "根本原因与逃逸点", "预防再发", "焊缝开裂：4800件中有37件", "第1页，共"):
        assert words in squeezed, words
    assert "\ufffd" not in text and "□" not in text

    german = app.test_client()
    login(german, p.sup_eng)
    text, _fonts = _pdf_text(german.get(f"/reports/{r.id}/export.pdf").data)
    squeezed = re.sub(r"\s+", "", text)
    for words in ("Berichtssprache:English", "Sofortmaßnahmen", "Abstellmaßnahmeneinführen", "焊缝开裂"):
        assert words in squeezed, words
    assert _db.session.get(Report, r.id).language == "en"
