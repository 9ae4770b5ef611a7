"""Everything in a synthetic image that is not a person: backgrounds, clutter, limb-like
distractors, occluding objects, and the photometric effects (lighting, blur, noise)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .appearance import SKIN_TONES, Color, random_color, shade
from .render import OCCLUDER, SHIFT

_ONE = 1 << SHIFT


def _rand_color(rng: np.random.Generator) -> Color:
    return random_color(rng, (0.0, 0.8), (0.15, 0.95))


def background(rng: np.random.Generator, width: int, height: int, clutter: float = 1.0) -> np.ndarray:
    """(H, W, 3) uint8: a smooth colour gradient, low-frequency texture and clutter shapes."""
    # One small image holds the gradient and the texture, so a single resize makes both.
    cells = (max(2, width // int(rng.integers(12, 48))), max(2, height // int(rng.integers(12, 48))))
    corners = rng.uniform(30, 230, size=(2, 2, 3)).astype(np.float32)
    small = cv2.resize(corners, cells, interpolation=cv2.INTER_LINEAR)
    small -= rng.uniform(0, 60, size=(cells[1], cells[0], 1)).astype(np.float32)
    img = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:  # a tiled floor or wall
        step = int(rng.integers(16, 80))
        col = _rand_color(rng)
        for x in range(int(rng.integers(step)), width, step):
            cv2.line(img, (x, 0), (x, height - 1), col, 1, cv2.LINE_AA)
        for y in range(int(rng.integers(step)), height, step):
            cv2.line(img, (0, y), (width - 1, y), col, 1, cv2.LINE_AA)
    scale = min(width, height)
    for _ in range(rng.poisson(6 * clutter)):
        _shape(rng, img, None, width, height, scale * rng.uniform(0.05, 0.4), _rand_color(rng), 0)
    for _ in range(rng.poisson(2.5 * clutter)):
        limb_distractor(rng, img, width, height, scale)
    return img


def static_object(rng: np.random.Generator, img: np.ndarray, codes: np.ndarray, size: float) -> None:
    """An object in front of everything, somewhere in the image (the same for the same `rng` state)."""
    _shape(rng, img, codes, img.shape[1], img.shape[0], size, _rand_color(rng), OCCLUDER)


def _shape(
    rng: np.random.Generator, img: np.ndarray, codes, width: int, height: int, size: float, colour, code: int
) -> None:
    """A filled rectangle, ellipse, pole or polygon at a random place (also into `codes` if given)."""
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    kind = int(rng.integers(4))
    if kind == 0:
        w, h = size * rng.uniform(0.3, 1.5), size * rng.uniform(0.3, 1.5)
        ang = rng.uniform(-20, 20)
        box = cv2.boxPoints(((cx, cy), (w, h), ang))
        q = np.round(box * _ONE).astype(np.int32)
        targets = [(img, colour)] + ([(codes, code)] if codes is not None else [])
        for t, c in targets:
            cv2.fillConvexPoly(t, q, c, cv2.LINE_AA if t is img else cv2.LINE_8, SHIFT)
        cv2.polylines(img, [q], True, shade(colour, 0.6), 1, cv2.LINE_AA, SHIFT)
    elif kind == 1:
        axes = (int(size * rng.uniform(0.2, 0.7) * _ONE), int(size * rng.uniform(0.2, 0.7) * _ONE))
        c, ang = (int(cx * _ONE), int(cy * _ONE)), float(rng.uniform(0, 180))
        cv2.ellipse(img, c, axes, ang, 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
        if codes is not None:
            cv2.ellipse(codes, c, axes, ang, 0, 360, code, -1, cv2.LINE_8, SHIFT)
    elif kind == 2:  # a pole or post
        t = max(2, int(size * rng.uniform(0.05, 0.15)))
        a = (int(cx), int(cy - size))
        b = (int(cx + rng.uniform(-0.1, 0.1) * size), int(cy + size))
        cv2.line(img, a, b, colour, t, cv2.LINE_AA)
        if codes is not None:
            cv2.line(codes, a, b, code, t, cv2.LINE_8)
    else:
        n = int(rng.integers(3, 6))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = size * rng.uniform(0.3, 0.6, n)
        q = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)
        q = np.round(q * _ONE).astype(np.int32)
        cv2.fillPoly(img, [q], colour, cv2.LINE_AA, SHIFT)
        if codes is not None:
            cv2.fillPoly(codes, [q], code, cv2.LINE_8, SHIFT)


def limb_distractor(rng: np.random.Generator, img: np.ndarray, width: int, height: int, scale: float) -> None:
    """Two outlined capsules meeting at an angle, in skin or clothing colours: an arm-like thing."""
    colour: Color
    if rng.random() < 0.5:
        tone = SKIN_TONES[rng.integers(len(SKIN_TONES))]
        colour = (int(tone[0]), int(tone[1]), int(tone[2]))
    else:
        colour = _rand_color(rng)
    length = scale * rng.uniform(0.05, 0.25)
    t = max(2, int(length * rng.uniform(0.15, 0.35)))
    p = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    ang = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(1, 3))):
        q = p + length * np.array([np.cos(ang), np.sin(ang)])
        a, b = (int(p[0]), int(p[1])), (int(q[0]), int(q[1]))
        cv2.line(img, a, b, shade(colour, 0.55), t + 2, cv2.LINE_AA)
        cv2.line(img, a, b, colour, t, cv2.LINE_AA)
        p, ang = q, ang + rng.uniform(-2.2, 2.2)


def occluder(rng: np.random.Generator, img: np.ndarray, codes: np.ndarray, around: np.ndarray) -> None:
    """An object in front of the people, placed over part of the box `around` (x0, y0, x1, y1)."""
    w, h = around[2] - around[0], around[3] - around[1]
    size = max(8.0, 0.5 * max(w, h) * rng.uniform(0.3, 0.8))
    sub_w, sub_h = img.shape[1], img.shape[0]
    cx = float(np.clip(rng.uniform(around[0], around[2]), 0, sub_w - 1))
    cy = float(np.clip(rng.uniform(around[1] + 0.3 * h, around[3]), 0, sub_h - 1))
    # _shape places at random; draw into a shifted view so the object lands at (cx, cy).
    local = np.random.default_rng(rng.integers(2**32))
    x0, y0 = int(max(0, cx - size)), int(max(0, cy - size))
    x1, y1 = int(min(sub_w, cx + size)), int(min(sub_h, cy + size))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    _shape(local, img[y0:y1, x0:x1], codes[y0:y1, x0:x1], x1 - x0, y1 - y0, size, _rand_color(rng), OCCLUDER)


def lighting_gain(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 gain map of a smooth lighting gradient; 128 means unchanged."""
    gain = rng.integers(90, 170, size=(2, 2, 1)).astype(np.uint8)
    return cv2.resize(np.repeat(gain, 3, axis=2), (width, height), interpolation=cv2.INTER_LINEAR)


def photometric(
    rng: np.random.Generator,
    img: np.ndarray,
    blur_prob: float = 0.3,
    noise: tuple[float, float] = (0.0, 6.0),
    gain: np.ndarray | None = None,
) -> np.ndarray:
    """A lighting gradient (`gain`, or a random one), sometimes a blur, and sensor noise.

    Returns a new (H, W, 3) uint8 image.
    """
    height, width = img.shape[:2]
    if gain is None:
        gain = lighting_gain(rng, width, height)
    img = cv2.multiply(img, gain, scale=1.0 / 128)
    if rng.random() < blur_prob:
        img = cv2.GaussianBlur(img, (5, 5) if rng.random() < 0.3 else (3, 3), 0)
    sigma = rng.uniform(*noise) if rng.random() < 0.6 else 0.0
    if sigma > 0.5:
        # A window of a fixed pool of noise at the nearest level: a view, so the only
        # per-image cost is one saturating add and one subtract.
        level = min(len(_NOISE_LEVELS) - 1, int(np.argmin(np.abs(np.array(_NOISE_LEVELS) - sigma))))
        pos, neg = _noise_pool(level)
        n = height * width * 3
        if n <= pos.size:
            start = int(rng.integers(0, pos.size - n + 1))
            img = cv2.subtract(
                cv2.add(img, pos[start : start + n].reshape(height, width, 3)),
                neg[start : start + n].reshape(height, width, 3),
            )
    return img


_NOISE_LEVELS = (1.5, 3.0, 4.5, 6.0)  # standard deviations of the pooled sensor noise
_NOISE_POOL = 1 << 22  # values per pool: enough for a 1180 x 1180 colour image


@functools.cache
def _noise_pool(level: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative parts (uint8) of Gaussian noise at `_NOISE_LEVELS[level]`.

    Made from a fixed seed, so the data set stays a function of its own seed alone.
    """
    noise = np.random.default_rng(level).normal(0.0, _NOISE_LEVELS[level], _NOISE_POOL)
    return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)
