"""The nearest of the known names to a mistyped one, for the "did you mean" of an error line.

One helper for every name a user types: zoo models (`--model coco-res50-256x129`), config
keys (`--set train.epoch=1`), runtimes, devices, command-line options.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How much less alike than the best a name may be and still be offered beside it.
TIE = 0.02


def nearest(word: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` names of `known` closest to `word`, best first: the similar spellings (difflib
    ratio >= 0.6, case ignored) that are about as close as the best one (so a one-letter typo
    gets one answer, not three), else the names that contain `word` or are contained in it."""
    names = list(dict.fromkeys(known))
    w = word.lower()
    scored = sorted(
        ((difflib.SequenceMatcher(None, w, name.lower()).ratio(), name) for name in names), key=lambda s: -s[0]
    )
    if scored and scored[0][0] >= 0.6:
        return [name for ratio, name in scored[:n] if ratio >= max(0.6, scored[0][0] - TIE)]
    return [name for name in names if w and (w in name.lower() or name.lower() in w)][:n]


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """ "; did you mean X?" (or "X or Y?"), or "" when nothing is near: appended to an error line."""
    close = nearest(word, known)
    if not close:
        return ""
    return f"; did you mean {' or '.join(close) if len(close) < 3 else ', '.join(close[:-1]) + ' or ' + close[-1]}?"
