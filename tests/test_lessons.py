"""The lessons-learned library (issue 18): D7 lessons of the visible reports, searchable and
filterable by process and failure mode; "apply to my line" adds a read-across preventive action."""

from __future__ import annotations

from tests.test_api_workflow import open_report, save

LESSON = {"text": "Requalify the weld after every fixture change", "category": "Laser welding", "tags": "fixture, maintenance"}


def _with_lesson(api_client, p, title, lesson=LESSON, **extra):
    rid = open_report(api_client, p, title=title, **extra)["id"]
    save(api_client, rid, "D7", {"lessons": [lesson]})
    return rid


def test_lessons_are_found_by_words_process_and_failure_mode_and_never_across_suppliers(api, parties):
    p = parties
    sup, oem, other = api(p.sup_eng), api(p.oem_eng), api(p.other_eng)
    rid = _with_lesson(sup, p, "Cracked cell-tab welds")
    theirs = _with_lesson(oem, p, "Cracked housing welds", {"text": "Requalify the weld of the Nordpack housing", "category": "Laser welding"},
                          supplier_id=p.other.id)
    body = sup.get("/api/v1/lessons", query_string={"q": "requalify weld"}).get_json()
    assert [(i["report_id"], i["index"], i["lesson"]) for i in body["items"]] == [(rid, 1, LESSON["text"])] and body["total"] == 1
    assert {i["report_id"] for i in oem.get("/api/v1/lessons", query_string={"q": "requalify"}).get_json()["items"]} == {rid, theirs}
    assert {i["report_id"] for i in other.get("/api/v1/lessons").get_json()["items"]} == {theirs}
    assert sup.get("/api/v1/lessons", query_string={"process": "laser"}).get_json()["total"] == 1
    assert sup.get("/api/v1/lessons", query_string={"process": "painting"}).get_json()["total"] == 0
    assert sup.get("/api/v1/lessons", query_string={"failure_mode": "cracks"}).get_json()["total"] == 1
    assert sup.get("/api/v1/lessons", query_string={"failure_mode": "leak"}).get_json()["total"] == 0


def test_apply_to_my_line_adds_a_read_across_preventive_action(api, parties):
    p = parties
    sup = api(p.sup_eng)
    source = _with_lesson(sup, p, "Cracked cell-tab welds")
    mine = open_report(sup, p, title="Line 3 weld audit")["id"]
    r = sup.post(f"/api/v1/lessons/{source}/1/apply", json={"report_id": mine, "target": "Line 3, station W5"})
    assert r.status_code == 201, r.get_json()
    action = r.get_json()
    assert action["kind"] == "preventive" and action["target"] == "Line 3, station W5" and "Requalify the weld" in action["title"]
    assert action["owner"]["id"] == p.sup_eng.id
    # the other supplier: neither the lesson nor the report exist
    assert api(p.other_eng).post(f"/api/v1/lessons/{source}/1/apply", json={"report_id": mine, "target": "x"}).status_code == 404
    assert sup.post(f"/api/v1/lessons/{source}/9/apply", json={"report_id": mine, "target": "x"}).status_code == 404
    assert sup.post(f"/api/v1/lessons/{source}/1/apply", json={"report_id": mine, "target": ""}).status_code == 422
    assert sup.post(f"/api/v1/lessons/{source}/1/apply", json={"report_id": "x", "target": "L3"}).status_code == 400


def test_the_lessons_page_applies_a_lesson_to_a_report_of_my_choice(client, api, parties):
    from tests.conftest import csrf_from, login

    p = parties
    sup = api(p.sup_eng)
    source = _with_lesson(sup, p, "Cracked cell-tab welds")
    mine = open_report(sup, p, title="Line 3 weld audit")["id"]
    login(client, p.sup_eng)
    html = client.get("/lessons", query_string={"q": "fixture"}).get_data(as_text=True)
    assert LESSON["text"] in html and "Apply to my line" in html and 'href="/lessons"' in client.get("/").get_data(as_text=True)
    r = client.post("/lessons/apply", data={"csrf_token": csrf_from(html), "lesson": f"{source}:1", "report_id": str(mine), "target": "Line 3"})
    assert r.status_code == 302
    actions = sup.get(f"/api/v1/reports/{mine}/actions").get_json()["items"]
    assert [a["kind"] for a in actions] == ["preventive"] and actions[0]["target"] == "Line 3"
