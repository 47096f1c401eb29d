"""Full-text search (issue 18): one query API on SQLite FTS5 and PostgreSQL tsvector, scoped by
the report-list policy, kept current in the change's own transaction, rebuilt by a command."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import SearchDoc
from tests.test_api_workflow import open_report, save


def _d4_cause(statement: str) -> dict:
    return {"causes": [{"ref": "C1", "kind": "occurrence", "statement": statement}]}


def _hits(api_client, **params):
    r = api_client.get("/api/v1/search", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_word_of_the_d4_cause_finds_the_report_with_a_snippet_naming_d4(api, parties):
    p = parties
    sup = api(p.sup_eng)
    rid = open_report(sup, p, title="Cracked welds on module housing")["id"]
    save(sup, rid, "D4", _d4_cause("Replacement clamping fixture leaves a gap between tab and busbar."))
    body = _hits(sup, q="clamping fixtures")  # stemming: "fixtures" finds "fixture"
    assert body["total"] == 1 and body["page"] == 1
    hit = body["items"][0]
    assert hit["report_id"] == rid and hit["discipline"] == "D4"
    assert "<mark>clamping</mark>" in hit["snippet"].lower() and "<mark>fixture</mark>" in hit["snippet"].lower()
    # The OEM of the report finds it too; words that are not all there find nothing.
    assert _hits(api(p.oem_eng), q="busbar gap")["total"] == 1
    assert _hits(sup, q="clamping unicorn")["total"] == 0
    assert _hits(sup, q="")["items"] == []


def test_another_suppliers_words_never_match(api, parties, make_user):
    p = parties
    sup, other = api(p.sup_eng), api(p.other_eng)
    mine = open_report(sup, p, title="Seal leak")["id"]
    save(sup, mine, "D4", _d4_cause("Porous die casting of the pump housing"))
    theirs = open_report(api(p.oem_eng), p, title="Another supplier's case", supplier_id=p.other.id)["id"]
    save(api(p.oem_eng), theirs, "D2", {"problem_statement": "Porous die casting on the pump housing of Nordpack"})
    assert {h["report_id"] for h in _hits(sup, q="porous casting")["items"]} == {mine}
    assert {h["report_id"] for h in _hits(other, q="porous casting")["items"]} == {theirs}
    assert {h["report_id"] for h in _hits(api(p.oem_eng), q="porous casting")["items"]} == {mine, theirs}
    # Filters cannot widen the scope: naming the other supplier finds nothing of theirs.
    assert _hits(sup, q="porous", supplier_id=p.other.id)["total"] == 0


def test_header_actions_and_comments_are_searched_and_filters_narrow(api, parties, db):
    p = parties
    sup = api(p.sup_eng)
    rid = open_report(sup, p, title="Discoloured connector pins", part_number="CN-778")["id"]
    other_rid = open_report(sup, p, title="Discoloured cover", part_number="CV-100")["id"]
    r = sup.post(f"/api/v1/reports/{rid}/comments", json={"discipline": "D2", "body": "Tin whiskers seen under the microscope"})
    assert r.status_code == 201, r.get_json()
    assert _hits(sup, q="whiskers")["items"][0]["discipline"] == "comments"
    assert {h["report_id"] for h in _hits(sup, q="discoloured")["items"]} == {rid, other_rid}
    assert {h["report_id"] for h in _hits(sup, q="discoloured", part_number="cn-778")["items"]} == {rid}
    assert _hits(sup, q="discoloured", discipline="D4")["total"] == 0
    assert _hits(sup, q="discoloured", status="closed")["total"] == 0
    page = _hits(sup, q="discoloured", per_page=1, page=2)
    assert page["total"] == 2 and len(page["items"]) == 1
    # The header row follows a header change in the same transaction.
    assert sup.patch(f"/api/v1/reports/{rid}", json={"title": "Blackened connector pins"}).status_code == 200
    assert {h["report_id"] for h in _hits(sup, q="blackened")["items"]} == {rid}
    assert {h["report_id"] for h in _hits(sup, q="discoloured")["items"]} == {other_rid}


def test_bad_parameters_are_400(api, parties):
    sup = api(parties.sup_eng)
    for params in ({"q": "x", "status": "nope"}, {"q": "x", "supplier_id": "abc"}, {"q": "x", "discipline": "D9"}, {"q": "x", "page": "-1"}):
        assert sup.get("/api/v1/search", query_string=params).status_code == 400
    assert api().get("/api/v1/search", query_string={"q": "x"}).status_code == 401
    # Query syntax of the engines is plain text to us.
    for q in ('"', "NEAR(a b)", "a OR", "* -x", "'; drop", "a & b | !c"):
        assert sup.get("/api/v1/search", query_string={"q": q}).status_code == 200


def test_reindex_command_rebuilds_the_index(api, parties, app, db):
    p = parties
    sup = api(p.sup_eng)
    rid = open_report(sup, p, title="Burr on the bracket edge")["id"]
    db.session.execute(SearchDoc.__table__.delete())
    db.session.commit()
    assert _hits(sup, q="burr")["total"] == 0
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 report" in result.output
    assert {h["report_id"] for h in _hits(sup, q="burr bracket")["items"]} == {rid}
    assert db.session.scalar(select(func.count()).select_from(SearchDoc).where(SearchDoc.report_id == rid)) == 12


def test_the_search_box_in_every_header_leads_to_results_naming_the_discipline(client, api, parties):
    from tests.conftest import login

    p = parties
    sup = api(p.sup_eng)
    rid = open_report(sup, p, title="Cracked welds on module housing", part_number="BM-9")["id"]
    save(sup, rid, "D4", _d4_cause("Replacement clamping fixture leaves a gap <b>between</b> tab and busbar."))
    login(client, p.sup_eng)
    for page in ("/", "/actions/mine", f"/reports/{rid}"):
        assert 'id="header-search"' in client.get(page).get_data(as_text=True)
    html = client.get("/search", query_string={"q": "clamping gap"}).get_data(as_text=True)
    assert f"/reports/{rid}#D4" in html and "<mark>clamping</mark>" in html
    assert "<b>between</b>" not in html  # the report's text is escaped (or dropped as a tag by PostgreSQL's parser), only the marks are HTML
    assert "Found in D4 " in html and "1 report found" in html
    # Filters: part number and status.
    assert "1 report found" in client.get("/search", query_string={"q": "clamping", "part_number": "bm-9"}).get_data(as_text=True)
    assert "0 reports found" in client.get("/search", query_string={"q": "clamping", "status": "closed"}).get_data(as_text=True)
    assert client.get("/search", query_string={"q": "clamping", "status": "nope"}).status_code == 200


def test_total_is_counted_up_to_the_cap(api, parties, monkeypatch):
    from app.services import search as search_service

    p = parties
    sup = api(p.sup_eng)
    for n in range(3):
        open_report(sup, p, title=f"Bent bracket {n}")
    monkeypatch.setattr(search_service, "MAX_COUNT", 2)
    body = _hits(sup, q="bracket")
    assert body["total"] == 2 and len(body["items"]) == 3  # the page is not cut, the count is
