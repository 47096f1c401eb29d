"""`GET /healthz` (docs/api.md, "Health"): 200 {"status": "ok"} when the database answers, 503 when it
does not - no login, no details, never cached."""

from __future__ import annotations

from app import create_app
from config import TestingConfig


def test_healthz_answers_ok_as_json_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_login_and_answers_every_time(client):
    assert [client.get("/healthz").status_code for _ in range(30)] == [200] * 30


def test_healthz_answers_503_without_details_when_the_database_does_not_answer(tmp_path):
    # Nothing listens on port 1: the connection is refused at once.
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/nothing", INSTANCE_PATH=str(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_a_sqlite_file_cannot_be_opened(tmp_path):
    missing = tmp_path / "no-such-directory" / "workbench.db"
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}", INSTANCE_PATH=str(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
