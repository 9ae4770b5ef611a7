"""Colours and clothing of the synthetic people (BGR, uint8 values)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Color = tuple[int, int, int]

# Skin tones from light to dark and natural hair colours (BGR).
SKIN_TONES = np.array([[189, 213, 241], [160, 190, 224], [125, 165, 210], [96, 135, 180], [66, 98, 141], [45, 66, 99]])
_HAIR = np.array([[20, 20, 25], [30, 40, 60], [40, 65, 100], [90, 150, 200], [150, 150, 155], [40, 70, 150]])
_HAIR_P = np.array([0.35, 0.25, 0.15, 0.1, 0.08, 0.07])


@dataclass(frozen=True)
class Appearance:
    skin: Color
    hair: Color
    shirt: Color
    trousers: Color
    shoes: Color
    mark: Color  # the front-only mark on the shirt
    long_sleeves: bool
    long_trousers: bool
    long_hair: bool
    mark_shape: int  # 0 diamond badge, 1 square print, 2 horizontal stripe


def random_color(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> Color:
    """A random colour from hue / saturation / value ranges (0..1)."""
    h, s, v = rng.uniform(0, 6), rng.uniform(*sat), rng.uniform(*val)
    i, f = int(h) % 6, h - int(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (int(255 * b), int(255 * g), int(255 * r))


def _jitter(rng: np.random.Generator, c: np.ndarray, amount: float) -> Color:
    c0, c1, c2 = (int(x) for x in np.clip(c + rng.normal(0, amount, 3), 0, 255))
    return c0, c1, c2


def sample_appearance(rng: np.random.Generator) -> Appearance:
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
    return Appearance(
        skin=_jitter(rng, skin, 8),
        hair=_jitter(rng, _HAIR[rng.choice(len(_HAIR), p=_HAIR_P)], 6),
        shirt=random_color(rng, (0.2, 0.9), (0.3, 0.95)),
        trousers=random_color(rng, (0.1, 0.7), (0.15, 0.7)),
        shoes=random_color(rng, (0.0, 0.5), (0.05, 0.4)),
        mark=random_color(rng, (0.5, 1.0), (0.6, 1.0)),
        long_sleeves=bool(rng.random() < 0.5),
        long_trousers=bool(rng.random() < 0.75),
        long_hair=bool(rng.random() < 0.35),
        mark_shape=int(rng.integers(3)),
    )


def shade(c: Color, factor: float) -> Color:
    """The colour scaled by `factor` (>= 0), saturating at 255."""
    f = max(0.0, factor)
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))
