"""With REDIS_URL set, the login rate limit is shared by all processes (Redis at 127.0.0.1:6379)."""

from __future__ import annotations

import uuid

import pytest

from app import create_app
from config import TestingConfig


def test_login_rate_limit_uses_redis_when_configured(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = uuid.uuid4().hex
    apps = [create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'r.db'}", INSTANCE_PATH=str(tmp_path),
                       RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_LIMIT="3 per minute")
            for _ in range(2)]
    with apps[0].app_context():
        from app.extensions import db

        db.create_all()
    statuses = []
    for i in range(6):  # alternate between two "processes": the limit is counted across both
        client = apps[i % 2].test_client()
        statuses.append(client.post("/api/v1/tokens", json={"email": "x@y.example", "password": "wrong-password"}).status_code)
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:]
