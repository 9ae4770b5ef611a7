"""CLEAR-MOT bookkeeping (Bernardin & Stiefelhagen 2008), as py-motmetrics' accumulator does it.

Per frame: (1) an object still paired with the hypothesis it was paired with before keeps
it when their distance is finite; (2) the remaining objects and hypotheses are paired by a
minimum-cost assignment over finite distances (as many pairs as possible, then the least
total distance); a pair that contradicts the object's previous pairing is a *switch*;
(3) unpaired objects are misses, (4) unpaired hypotheses false positives.

Beside the true sum of matched distances (for a correct MOTP) the accumulator keeps the
extra sums that py-motmetrics >= 1.2 mixes into `events['D']` (every finite distance of
every frame, and the distances of its TRANSFER/ASCEND/MIGRATE events), because the official
PoseTrack tool computes MOTP from that column: see `evaluation/posetrack.py`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (row, col) of a maximum-cardinality, then minimum-cost, assignment.

    Args:
        cost: (N, M) costs >= 0; NaN or inf marks a pair that may not be made.
    Returns:
        the chosen pairs, all with finite cost, in row order.
    """
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n == 0 or m == 0:
        return []
    valid = np.isfinite(cost)
    if not valid.any():
        return []
    # A forbidden pair costs more than all allowed pairs together, so an assignment with one
    # more allowed pair is always cheaper: cardinality first, distance second.
    big = np.abs(cost[valid]).sum() + 1.0
    c = np.where(valid, cost, big)
    transposed = n > m
    if transposed:
        c = c.T
    rows = _hungarian(c)
    pairs = [(j, i) if transposed else (i, j) for i, j in enumerate(rows)]
    return sorted((i, j) for i, j in pairs if valid[i, j])


def _hungarian(c: np.ndarray) -> list[int]:
    """Kuhn-Munkres with potentials for an (n, m) matrix, n <= m: column of each row."""
    n, m = c.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=int)  # owner[j]: 1-based row holding column j (0 = free)
    way = np.zeros(m + 1, dtype=int)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            cur = c[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = [0] * n
    for j in range(1, m + 1):
        if owner[j]:
            cols[owner[j] - 1] = j - 1
    return cols


@dataclass
class MotAccumulator:
    """CLEAR-MOT counts over the frames of one sequence (one joint type in PoseTrack)."""

    objects: int = 0
    matches: int = 0  # pairs that are not switches
    switches: int = 0
    misses: int = 0
    false_positives: int = 0
    match_distance: float = 0.0  # sum of the distances of matches and switches
    raw_distance: float = 0.0  # sum of every finite distance given (py-motmetrics RAW events)
    extra_distance: float = 0.0  # distances of TRANSFER/ASCEND/MIGRATE events (py-motmetrics)
    _pair: dict[Hashable, Hashable] = field(default_factory=dict, repr=False)  # object -> last hypothesis
    _owner: dict[Hashable, Hashable] = field(default_factory=dict, repr=False)  # hypothesis -> last object
    _hyp_matched: set[Hashable] = field(default_factory=set, repr=False)
    _obj_matched: set[Hashable] = field(default_factory=set, repr=False)

    @property
    def detections(self) -> int:
        return self.matches + self.switches

    def update(self, oids: Sequence[Hashable], hids: Sequence[Hashable], dist: np.ndarray) -> None:
        """One frame: object ids (N,), hypothesis ids (M,), distances (N, M), NaN = cannot pair."""
        dist = np.array(dist, dtype=np.float64).reshape(len(oids), len(hids))
        self.objects += len(oids)
        self.raw_distance += float(dist[np.isfinite(dist)].sum())
        free_o = np.ones(len(oids), dtype=bool)
        free_h = np.ones(len(hids), dtype=bool)
        # 1. Keep the pairs of earlier frames that are still possible.
        for i, o in enumerate(oids):
            if o not in self._pair:
                continue
            for j, h in enumerate(hids):
                if free_h[j] and h == self._pair[o]:
                    if np.isfinite(dist[i, j]):
                        self._match(i, j, o, h, dist[i, j], free_o, free_h)
                    break
        # 2. Assign the rest.
        rest = dist.copy()
        rest[~free_o, :] = np.nan
        rest[:, ~free_h] = np.nan
        for i, j in min_cost_assignment(rest):
            o, h, d = oids[i], hids[j], rest[i, j]
            if o in self._pair and self._pair[o] != h:
                self.switches += 1
                self.match_distance += d
                if h not in self._hyp_matched:
                    self.extra_distance += d  # ASCEND
            else:
                self.matches += 1
                self.match_distance += d
            if h in self._owner and self._owner[h] != o:
                self.extra_distance += d  # TRANSFER
                if o not in self._obj_matched:
                    self.extra_distance += d  # MIGRATE
            self._hyp_matched.add(h)
            self._obj_matched.add(o)
            free_o[i] = free_h[j] = False
            self._pair[o] = h
            self._owner[h] = o
        self.misses += int(free_o.sum())
        self.false_positives += int(free_h.sum())

    def _match(
        self, i: int, j: int, o: Hashable, h: Hashable, d: float, free_o: np.ndarray, free_h: np.ndarray
    ) -> None:
        free_o[i] = free_h[j] = False
        self.matches += 1
        self.match_distance += d
        self._hyp_matched.add(h)
        self._obj_matched.add(o)
