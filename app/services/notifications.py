"""The seam between state changes and e-mail: services call these in their transaction (rows in
the outbox), routes call wake() after the commit so a worker delivers at once."""

from __future__ import annotations


def action_assigned(report, actor, action, previous_owner) -> None:
    pass


def wake() -> None:
    pass
