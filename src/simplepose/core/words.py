"""Counts in printed summaries: "1 person", "2 people", "1 frame", "0 frames" (never "frame(s)")."""

from __future__ import annotations

#: Nouns whose plural the rule below (+s; +es after s, x, ch, sh) gets wrong or cannot know.
IRREGULAR = {"person": "people", "entry": "entries", "epoch": "epochs"}  # -ch: epochs, not epoches


def plural(n: float, singular: str, many: str | None = None) -> str:
    """The noun (or phrase) for `n` of them: `singular` for exactly 1, else `many`.

    Without `many`, the phrase's last word before any " (detail)" takes its plural:
    "zero-size detection box" -> "zero-size detection boxes", "broken person record (no
    bbox)" -> "broken person records (no bbox)". Phrases whose noun is elsewhere pass `many`.
    """
    if n == 1:
        return singular
    if many:
        return many
    head, paren, detail = singular.partition(" (")
    words = head.split(" ")
    last = words[-1]
    words[-1] = IRREGULAR.get(last) or (last + "es" if last.endswith(("s", "x", "ch", "sh")) else last + "s")
    return " ".join(words) + paren + detail


def count(n: float, singular: str, many: str | None = None) -> str:
    """ "1 person", "3 people", "0 frames": the number and its noun."""
    return f"{n} {plural(n, singular, many)}"
