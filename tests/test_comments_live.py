"""Comments (safe Markdown, mentions, edit window, withdraw), presence and the live poll."""

from __future__ import annotations

from app.extensions import db
from app.services import reports, team
from tests.conftest import csrf_from, login


def _report(p):
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


def test_markdown_is_rendered_safely_and_mentions_are_recorded(api, parties):
    p = parties
    r = _report(p)
    a = api(p.sup_eng)
    body = f"**Check** lot 2611-03 <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> @{p.oem_eng.email}"
    res = a.post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D4", "body": body})
    assert res.status_code == 201, res.get_json()
    c = res.get_json()
    assert "<strong>Check</strong>" in c["body_html"]
    html = c["body_html"]
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html  # shown as inert text
    assert "&lt;script&gt;" in html
    events = a.get(f"/api/v1/reports/{r.id}/events").get_json()["items"]
    added = [e for e in events if e["action"] == "comment.added"][0]
    assert added["changes"]["mentions"][1] == [p.oem_eng.email]
    assert a.get(f"/api/v1/reports/{r.id}/comments?discipline=D4").get_json()["total"] == 1
    assert a.post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D9", "body": "x"}).status_code == 422
    assert a.post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D4", "body": "   "}).status_code == 422
    assert a.post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D4", "body": 5}).status_code == 400
    assert api(p.other_eng).get(f"/api/v1/reports/{r.id}/comments").status_code == 404
    assert api(p.oem_viewer).post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D4", "body": "hi"}).status_code == 403


def test_edit_within_15_minutes_only_by_the_author_and_withdraw_keeps_history(api, parties):
    p = parties
    r = _report(p)
    a = api(p.sup_eng)
    cid = a.post(f"/api/v1/reports/{r.id}/comments", json={"discipline": "D2", "body": "first"}).get_json()["id"]
    assert api(p.oem_eng).patch(f"/api/v1/comments/{cid}", json={"body": "hijack"}).status_code == 403
    assert a.patch(f"/api/v1/comments/{cid}", json={"body": "first, corrected"}).get_json()["body"] == "first, corrected"
    import datetime as dt

    from app.models import Comment, utcnow

    c = db.session.get(Comment, cid)
    c.created_at = utcnow() - dt.timedelta(minutes=16)
    db.session.commit()
    late = a.patch(f"/api/v1/comments/{cid}", json={"body": "too late"})
    assert late.status_code == 409
    assert a.delete(f"/api/v1/comments/{cid}").status_code == 204
    listed = a.get(f"/api/v1/reports/{r.id}/comments").get_json()["items"][0]
    assert listed["withdrawn"] is True and listed["body"] is None
    actions = [e["action"] for e in a.get(f"/api/v1/reports/{r.id}/events").get_json()["items"]]
    assert actions[-3:] == ["comment.added", "comment.edited", "comment.withdrawn"]


def test_live_poll_reports_the_change_and_who_is_here(app, parties):
    p = parties
    r = _report(p)
    watcher, editor = app.test_client(), app.test_client()
    login(watcher, p.oem_eng)
    login(editor, p.sup_eng)
    html = watcher.get(f"/reports/{r.id}?d=D2").get_data(as_text=True)
    counter = int(__import__("re").search(r'data-counter="(\d+)"', html).group(1))
    assert watcher.get(f"/reports/{r.id}/live?since={counter}").get_json()["changed"] is False
    page = editor.get(f"/reports/{r.id}?d=D2").get_data(as_text=True)
    res = editor.post(f"/reports/{r.id}/presence", json={"discipline": "D2", "editing": True}, headers={"X-CSRFToken": csrf_from(page)})
    assert res.status_code == 204
    assert editor.post(f"/reports/{r.id}/presence", json={"discipline": "D2"}).status_code == 400  # no CSRF token
    editor.post(f"/reports/{r.id}/disciplines/D2", data={"csrf_token": csrf_from(page), "base_version": "0", "present": ["trend"], "f.trend": "rising"})
    live = watcher.get(f"/reports/{r.id}/live?since={counter}").get_json()
    assert live["changed"] is True
    assert live["last_change"]["discipline"] == "D2" and live["last_change"]["actor"] == p.sup_eng.name
    assert live["last_change"]["company"] == p.supplier.name
    assert [x["name"] for x in live["presence"]] == [p.sup_eng.name] and live["presence"][0]["editing"] is True
    stranger = app.test_client()
    login(stranger, p.other_eng)
    assert stranger.get(f"/reports/{r.id}/live").status_code == 404


def test_comments_through_the_page(app, parties, client):
    p = parties
    r = _report(p)
    login(client, p.oem_eng)
    page = client.get(f"/reports/{r.id}?d=D3").get_data(as_text=True)
    res = client.post(f"/reports/{r.id}/comments", data={"csrf_token": csrf_from(page), "discipline": "D3", "body": "Is the *in transit* stock counted?"})
    assert res.status_code == 302
    page = client.get(f"/reports/{r.id}?d=D3").get_data(as_text=True)
    assert "<em>in transit</em>" in page and "1 comments" in page
