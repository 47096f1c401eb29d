"""Gates across tiers: a cause of a report may name a cascade (a child 8D with a sub-supplier)
whose verified root cause or corrective action stands in for the proof here."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.method.fields import is_blank


def cascade_problem(ctx, code: str, cause: dict[str, Any], fact: str) -> tuple[bool, str | None]:
    """(does the cause refer to a cascade, what blocks): a cascade stands in for the proof once it
    delivered `fact` (its verified cause, or its verified corrective action); a reference to an
    unknown or unfinished cascade blocks."""
    number = cause.get("cascade")
    if is_blank(number):
        return False, None
    child = ctx.cascade(number)
    ref = cause.get("ref") or "?"
    if child is None:
        return True, _("%(d)s: cause %(ref)s refers to %(n)s, which is not a cascade of this report.", d=code, ref=ref, n=number)
    if not child[fact]:
        what = _("its root cause verified") if fact == "cause_verified" else _("its corrective action verified")
        return True, _("%(d)s: cause %(ref)s waits for the cascaded 8D %(n)s (now %(s)s, %(st)s) to have %(w)s.",
                       d=code, ref=ref, n=child["number"], s=child["stage"], st=child["status"].replace("_", " "), w=what)
    return True, None
