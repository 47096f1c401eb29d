"""SQLite's writers queue on a mutex (threads) and a file lock (processes) before BEGIN IMMEDIATE,
and both are given back however the transaction ends."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from app.db import WRITER_WAIT, configure_engine


@pytest.fixture
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    configure_engine(eng)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield eng
    eng.dispose()


def test_writers_take_turns_and_nothing_is_lost(engine, tmp_path):
    assert (tmp_path / "w.db.writer").exists()

    def work(i: int) -> None:
        for k in range(50):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": i * 100 + k})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 300


def test_the_queue_is_released_on_rollback_and_on_a_connection_given_back_mid_transaction(engine):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        raise RuntimeError("a failed save")
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t (n) VALUES (2)"))
    conn.close()  # back to the pool without COMMIT: rolled back, the queue moves on
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (3)"))
    assert time.monotonic() - started < WRITER_WAIT / 2
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM t"))] == [3]
