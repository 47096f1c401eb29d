"""What makes two reports alike: the failure-mode words of a title (shared by the recurrence
check of the effectiveness watch, the similar past 8Ds and the duplicate warning)."""

from __future__ import annotations

import re

# Words that say nothing about how a part failed.
STOPWORDS = frozenset("""a an and are as at be by for from in into is it of on or the to with without was were not no
after before during per via its this that these those than then over under new old part parts module modules unit units lot lots
customer supplier complaint report issue problem defect defective found detected nok""".split())
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def failure_words(text: str | None) -> set[str]:
    """The failure-mode words of a title or symptom: lower case, crude stems, no stop words or numbers."""
    return {_stem(w) for w in _WORD.findall((text or "").lower()) if w not in STOPWORDS}
