"""Schemathesis generates requests from the published OpenAPI document (GET /api/v1/openapi.json)
and sends them to the app: whatever it sends, the API answers without a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.extensions import db
from app.services import reports, team

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def auth(api, parties):
    """A report with a team, so that generated ids sometimes hit real objects."""
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Fuzzed", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return api(p.sup_eng).headers


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_generated_request_makes_the_api_fail(case, auth):
    response = case.call(headers=auth)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
