"""SQLite's writers queue on a mutex (threads) and a file lock (processes) before BEGIN IMMEDIATE,
and both are given back however the transaction ends."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from sqlalchemy import create_engine, event, text

from app.db import WRITER_WAIT, configure_engine


@pytest.fixture
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    configure_engine(eng)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield eng
    eng.dispose()


def _unlocked(path) -> bool:
    """True when another open file description can take the writers' file lock at once."""
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_writers_take_turns_and_nothing_is_lost(engine, tmp_path):
    # Without SQLite's own busy handler a writer that found the database locked would fail at
    # once: all 300 inserts arriving proves the queue in front of BEGIN IMMEDIATE did the waiting.
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=0"))
    engine.dispose()

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
    assert _unlocked(tmp_path / "w.db.writer")


def test_the_queue_is_released_on_rollback_and_on_a_connection_given_back_mid_transaction(engine, tmp_path):
    lock = tmp_path / "w.db.writer"
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        assert not _unlocked(lock)  # other processes wait while a write is open
        raise RuntimeError("a failed save")
    assert _unlocked(lock)
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t (n) VALUES (2)"))
    conn.close()  # back to the pool without COMMIT: rolled back, the queue moves on
    assert _unlocked(lock)
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (3)"))
    assert time.monotonic() - started < WRITER_WAIT / 2
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM t"))] == [3]
