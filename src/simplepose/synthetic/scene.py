"""One synthetic still image: people placed and posed, drawn over a backdrop, annotated.

`render_scene(rng, settings)` returns the image, its COCO-style person annotations and
the label map they were read from, all in memory (the writer and the tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .appearance import sample_appearance
from .backdrop import background, occluder, photometric
from .body import forward_kinematics, orientation, sample_proportions
from .poses import sample_pose
from .render import MAX_PEOPLE, PART_LUT, PERSON_LUT, PersonDrawing, build_person, draw, visibility, visible_extent


@dataclass(frozen=True)
class SceneSettings:
    """How the still images are drawn. Ranges are (low, high), inclusive."""

    width: tuple[int, int] = (320, 640)
    height: tuple[int, int] = (320, 640)
    people: tuple[int, int] = (1, 8)
    person_height: tuple[float, float] = (40.0, 480.0)  # standing height in pixels
    clutter: float = 1.0  # scales the number of background shapes and distractors
    crowd_prob: float = 0.2  # people in an overlapping row
    max_overlap: float = 0.2  # outside crowds, the most two people's rough boxes overlap (IoU)
    border_prob: float = 0.2  # a person placed partly outside the image
    occluder_prob: float = 0.25  # an object in front of someone
    blur_prob: float = 0.3
    noise: tuple[float, float] = (0.0, 6.0)  # sensor noise standard deviation range
    jpeg_quality: tuple[int, int] = (60, 95)

    def __post_init__(self) -> None:
        if not 1 <= self.people[0] <= self.people[1] <= MAX_PEOPLE:
            raise ValueError(f"people per image must lie within 1..{MAX_PEOPLE}, got {self.people}")
        # Any size of at least one pixel: people too small to show come out unlabelled.
        if min(self.width[0], self.height[0]) < 1 or self.width[0] > self.width[1] or self.height[0] > self.height[1]:
            raise ValueError(f"bad image size ranges width={self.width} height={self.height}")


@dataclass
class PersonAnnotation:
    keypoints: np.ndarray  # (17, 3) x, y, visibility (0 outside, 1 hidden, 2 visible); x = y = 0 where 0
    bbox: list[float]  # visible extent x, y, w, h
    area: int  # visible pixels
    head_box: list[float]  # projected head extent x, y, w, h (may leave the image)
    label: int  # this person's value in the label map
    projected: np.ndarray  # (17, 2) where every joint projects, inside the image or not

    @property
    def num_keypoints(self) -> int:
        return int(np.count_nonzero(self.keypoints[:, 2] > 0))


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8 BGR, before JPEG compression
    annotations: list[PersonAnnotation]
    codes: np.ndarray  # (H, W) uint8 person/part codes (see render.py)
    jpeg_quality: int = 90
    extra: dict = field(default_factory=dict)

    @property
    def label_map(self) -> np.ndarray:
        """(H, W) uint8: 0 background, person label (1..), render.OCCLUDER for objects."""
        return PERSON_LUT[self.codes]

    @property
    def part_map(self) -> np.ndarray:
        """(H, W) int16: index into render.PARTS of the part on top, -1 where no person."""
        return PART_LUT[self.codes]


def annotate(codes: np.ndarray, drawings: list[PersonDrawing]) -> list[PersonAnnotation]:
    """Read each person's visibility, box and area from the label map; people with no visible pixel are left out."""
    out = []
    for i, d in enumerate(drawings):
        bbox, area = visible_extent(codes, i)
        if area == 0:
            continue
        kp = np.round(d.keypoints, 2)
        v = visibility(codes, i, kp, d.facing)
        kp = np.where(v[:, None] > 0, kp, 0.0)
        hb = d.head_box
        out.append(
            PersonAnnotation(
                np.concatenate([kp, v[:, None]], axis=1),
                bbox,
                area,
                [float(hb[0]), float(hb[1]), float(hb[2] - hb[0]), float(hb[3] - hb[1])],
                i + 1,
                np.round(d.keypoints, 2),
            )
        )
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _placements(rng: np.random.Generator, n: int, width: int, height: int, s: SceneSettings) -> list[tuple]:
    """(pixel height, pelvis u, pelvis v) per person.

    The more people, the smaller they may be; outside crowds, a few tries keep the rough
    boxes of two people from overlapping more than `max_overlap` (IoU).
    """
    lo, hi = s.person_height
    hi = max(lo, min(hi, 1.3 * height, 2.4 * height / np.sqrt(n)))
    out = []
    if n > 1 and rng.random() < s.crowd_prob:
        h0 = rng.uniform(lo, max(lo, min(hi, 0.9 * height)))
        spacing = h0 * rng.uniform(0.2, 0.45)
        u = rng.uniform(-0.2, 0.5) * width
        v = rng.uniform(0.35, 0.7) * height
        for _ in range(n):
            out.append((h0 * rng.uniform(0.85, 1.15), u, v + rng.normal(0, 0.05 * h0)))
            u += spacing * rng.uniform(0.6, 1.4)
        return out
    boxes: list[np.ndarray] = []
    for _ in range(n):
        for _try in range(6):
            h = rng.uniform(lo, hi)
            if rng.random() < s.border_prob:  # straddle one of the borders
                u = (
                    rng.choice([-0.1, 1.1]) * width + rng.normal(0, 0.1 * h)
                    if rng.random() < 0.6
                    else rng.uniform(0, width)
                )
                v = (
                    rng.choice([-0.1 * h, height + 0.15 * h])
                    if abs(u - width / 2) < width / 2
                    else rng.uniform(0, height)
                )
            else:
                u, v = rng.uniform(0.05, 0.95) * width, rng.uniform(0.3, 0.7) * height
            box = np.array([u - 0.25 * h, v - 0.55 * h, u + 0.25 * h, v + 0.5 * h])
            if all(_iou(box, b) <= s.max_overlap for b in boxes):
                break
        boxes.append(box)
        out.append((h, u, v))
    return out


def render_scene(rng: np.random.Generator, settings: SceneSettings = SceneSettings()) -> Scene:
    """Draw one random image with its annotations (see module docstring)."""
    s = settings
    width = int(rng.integers(s.width[0], s.width[1] + 1))
    height = int(rng.integers(s.height[0], s.height[1] + 1))
    image = background(rng, width, height, s.clutter)
    codes = np.zeros((height, width), np.uint8)
    focal = rng.uniform(0.8, 1.6) * max(width, height)
    center = ((width - 1) / 2.0, (height - 1) / 2.0)
    tilt = rng.uniform(-5, 20)
    light = rng.normal(0, 1, 3) + np.array([0.0, 1.2, 0.6])  # mostly from above, behind the camera
    light /= np.linalg.norm(light)
    counts = np.arange(s.people[0], s.people[1] + 1)
    n = int(rng.choice(counts, p=(1.0 / counts) / np.sum(1.0 / counts)))  # fewer people more often
    drawings, prims = [], []
    for i, (h_px, u, v) in enumerate(_placements(rng, n, width, height, s)):
        prop, look, pose = sample_proportions(rng), sample_appearance(rng), sample_pose(rng)
        body = forward_kinematics(prop, pose)
        dist = focal * prop.height / h_px
        t = np.array([(u - center[0]) * dist / focal, (v - center[1]) * dist / focal, dist])
        rot = orientation(rng.uniform(0, 360), rng.normal(0, 3), rng.normal(0, 3), tilt)
        d = build_person(i, body.transformed(rot, t), prop, look, focal, center, light)
        drawings.append(d)
        prims += d.primitives
    draw(prims, image, codes)
    if drawings and rng.random() < s.occluder_prob:
        occluder(rng, image, codes, drawings[int(rng.integers(len(drawings)))].extent)
    annotations = annotate(codes, drawings)
    image = photometric(rng, image, s.blur_prob, s.noise)
    quality = int(rng.integers(s.jpeg_quality[0], s.jpeg_quality[1] + 1))
    return Scene(image, annotations, codes, quality)
