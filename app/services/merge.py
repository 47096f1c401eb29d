"""Three-way merge of discipline values: base (what the editor started from), theirs (what is
stored now) and yours (what the editor sends). Scalars conflict only when both sides changed them
differently; tables merge per row (rows are matched by their `id`)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def merge_table(base: list[dict] | None, theirs: list[dict] | None, yours: list[dict] | None) -> tuple[list[dict], bool]:
    """Returns (merged rows, conflict?). A row changed on both sides differently is a conflict."""
    base_by = {r.get("id"): r for r in base or []}
    theirs_by = {r.get("id"): r for r in theirs or []}
    yours_by = {r.get("id"): r for r in yours or []}
    merged: list[dict] = []
    for row in theirs or []:
        rid = row.get("id")
        b, y = base_by.get(rid, _MISSING), yours_by.get(rid, _MISSING)
        if b is _MISSING:  # they added it; keep it (you cannot have deleted what you never saw)
            merged.append(y if y is not _MISSING else row)
            continue
        if y is _MISSING:  # you deleted it
            if row != b:
                return [], True  # ... but they changed it meanwhile
            continue
        if y == b:
            merged.append(row)
        elif row == b or row == y:
            merged.append(y)
        else:
            return [], True
    for row in yours or []:
        rid = row.get("id")
        if rid in theirs_by:
            continue
        if rid in base_by:  # they deleted it
            if row != base_by[rid]:
                return [], True  # ... and you changed it
            continue
        merged.append(row)  # you added it
    return merged, False


def three_way(
    base: dict[str, Any], theirs: dict[str, Any], yours: dict[str, Any], changed_since_base: set[str], table_fields: set[str]
) -> tuple[dict[str, Any], dict[str, dict]]:
    """Merge `yours` (only the fields the editor changed) into `theirs`.

    Returns (values to write, conflicts {field: {"yours","theirs","base"}}). Nothing is written by
    the caller when conflicts is not empty.
    """
    result: dict[str, Any] = {}
    conflicts: dict[str, dict] = {}
    for name, mine in yours.items():
        current = theirs.get(name)
        if name not in changed_since_base or current == mine:
            result[name] = mine
            continue
        if name in table_fields:
            rows, conflict = merge_table(base.get(name), current, mine)
            if not conflict:
                result[name] = rows
                continue
        conflicts[name] = {"yours": mine, "theirs": current, "base": base.get(name)}
    return result, conflicts
