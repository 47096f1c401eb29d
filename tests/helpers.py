"""Helpers shared by tests: the method's examples as a complete, consistent 8D."""

from __future__ import annotations

import copy

from app.method import EXAMPLES, HEADER_EXAMPLE


def header(**overrides) -> dict:
    data = copy.deepcopy(HEADER_EXAMPLE)
    data.update(overrides)
    return data


def example(code: str) -> dict:
    return copy.deepcopy(EXAMPLES[code])
