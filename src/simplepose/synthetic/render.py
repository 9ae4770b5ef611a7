"""Depth-ordered drawing of posed people into an image and a label map.

Every person becomes a list of flat primitives (limb capsules, torso polygon, head ellipses,
face marks) with a depth key; all people's primitives are drawn far to near (painter's
algorithm) into the BGR image (anti-aliased) and, with the same geometry, into a uint8
`codes` map that names the person and body part on top at each pixel:
    0 background, 1 + 16 * person + part for people (person < 15), OCCLUDER for objects.
Visibility, box and area of each annotation are read from that map, so they agree with
the image by construction. Pixel centres are at integer coordinates (cv2's convention);
a keypoint (x, y) lies in pixel (round(y), round(x)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import cv2
import numpy as np

from ..core.skeleton import COCO
from .appearance import Appearance, Color, shade
from .body import HEAD, L_HAND, L_TOE, NECK, NUM_COCO, R_HAND, R_TOE, Body3D, Proportions, project

OCCLUDER = 255
MAX_PEOPLE = 15
SHIFT = 4  # cv2 sub-pixel bits: coordinates are drawn at 1/16 pixel
_ONE = 1 << SHIFT
PARTS = (
    "torso",
    "head",
    "neck",
    "left_upper_arm",
    "right_upper_arm",
    "left_forearm",
    "right_forearm",
    "left_hand",
    "right_hand",
    "left_thigh",
    "right_thigh",
    "left_shin",
    "right_shin",
    "left_foot",
    "right_foot",
)
_P = {n: i for i, n in enumerate(PARTS)}
_J = {n: i for i, n in enumerate(COCO.joints)}

# The parts a joint belongs to: a joint is visible where one of them is on top.
_JOINT_SEGMENTS = {
    "shoulder": ("torso", "upper_arm"),
    "elbow": ("upper_arm", "forearm"),
    "wrist": ("forearm", "hand"),
    "hip": ("torso", "thigh"),
    "knee": ("thigh", "shin"),
    "ankle": ("shin", "foot"),
}


def _joint_parts(name: str) -> tuple[int, ...]:
    if "_" not in name or name.split("_", 1)[1] not in _JOINT_SEGMENTS:
        return (_P["head"],)  # nose, eyes, ears
    side, kind = name.split("_", 1)
    return tuple(_P[p if p == "torso" else f"{side}_{p}"] for p in _JOINT_SEGMENTS[kind])


JOINT_PARTS: tuple[tuple[int, ...], ...] = tuple(_joint_parts(n) for n in COCO.joints)
FACE = np.arange(NUM_COCO) < 5  # nose, eyes, ears: hidden when turned away from the camera
# How far a face landmark's surface normal may turn from the camera and still be seen.
_FACE_THRESH = np.array([-0.1, 0.15, 0.15, -0.2, -0.2])


def code_of(person: int, part: int) -> int:
    return 1 + 16 * person + part


def code_tables() -> tuple[np.ndarray, np.ndarray]:
    """Look-up tables code -> person id (0 background, 1.. people, OCCLUDER) and code -> part (-1 none)."""
    person = np.zeros(256, np.uint8)
    part = np.full(256, -1, np.int16)
    for c in range(1, 1 + 16 * MAX_PEOPLE):
        person[c], part[c] = 1 + (c - 1) // 16, (c - 1) % 16
    person[OCCLUDER] = OCCLUDER  # objects keep their own label
    return person, part


PERSON_LUT, PART_LUT = code_tables()


#: One drawing primitive: (depth, kind, part code, colour, outline colour or None, geometry),
#: the geometry depending on the kind ("capsule": ends in 1/16 pixels and radius; "poly":
#: corners (N, 2); "ellipse": centre, half-axes, angle; "circle": centre, radius; "line").
Primitive = tuple[float, str, int, Color, Optional[Color], Any]


@dataclass
class PersonDrawing:
    """One person's primitives and projected keypoints."""

    primitives: list[Primitive]
    keypoints: np.ndarray  # (17, 2) image pixels
    facing: np.ndarray  # (17,) bool: False for face landmarks turned away
    extent: np.ndarray  # (4,) x0, y0, x1, y1 roughly bounding the person (places occluders)
    head_box: np.ndarray  # (4,) x0, y0, x1, y1 of the head


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


@dataclass
class _View:
    """What the primitive builders of one person share."""

    pts3: np.ndarray  # (NUM_POINTS, 3) camera frame
    p2: np.ndarray  # (NUM_POINTS, 2) pixels
    torso: np.ndarray  # (3, 3) torso axes (columns: left, up, forward) in the camera frame
    head: np.ndarray  # (3, 3) head axes
    prop: Proportions
    look: Appearance
    focal: float
    center: tuple[float, float]
    light: np.ndarray
    index: int

    def code(self, part: str) -> int:
        return code_of(self.index, _P[part])

    def lit(self, normal: np.ndarray) -> float:
        """Brightness factor of a surface facing `normal`."""
        return 0.78 + 0.22 * float(np.dot(normal, -self.light))

    def project(self, pts: np.ndarray) -> np.ndarray:
        return project(np.asarray(pts).reshape(-1, 3), self.focal, self.center)


def _limbs(v: _View) -> list[Primitive]:
    """Outlined capsules for arms, hands, legs, feet and the neck."""
    z = np.maximum(v.pts3[:, 2], 1e-3)
    p2i = [tuple(q) for q in np.rint(v.p2 * _ONE).astype(np.int64).tolist()]  # cv2's fixed-point coordinates
    prims: list[Primitive] = []

    def capsule(a: int, b: int, radius: float, part: str, colour, p_b=None) -> None:
        r = radius * v.focal * 0.5 * (1.0 / z[a] + 1.0 / z[b])
        depth = 0.5 * (z[a] + z[b]) - radius
        pb = p2i[b] if p_b is None else _pt(p_b)
        prims.append((depth, "capsule", v.code(part), colour, shade(colour, 0.55), (p2i[a], pb, r)))

    prop, look = v.prop, v.look
    for side, hand, toe, sgn in (("left", L_HAND, L_TOE, 1.0), ("right", R_HAND, R_TOE, -1.0)):
        sh, el, wr = (_J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist"))
        hp, kn, an = (_J[f"{side}_{n}"] for n in ("hip", "knee", "ankle"))
        f = v.lit(sgn * v.torso[:, 0])  # limbs on the lit side of the body are brighter
        sleeve, skin, trousers = shade(look.shirt, f), shade(look.skin, f), shade(look.trousers, f)
        capsule(sh, el, prop.r_upper_arm, f"{side}_upper_arm", sleeve)
        capsule(el, wr, prop.r_forearm, f"{side}_forearm", sleeve if look.long_sleeves else skin)
        capsule(wr, hand, prop.r_forearm * 0.85, f"{side}_hand", shade(look.skin, f * 0.95))
        capsule(hp, kn, prop.r_thigh, f"{side}_thigh", trousers)
        capsule(kn, an, prop.r_shin, f"{side}_shin", trousers if look.long_trousers else skin)
        capsule(an, toe, prop.r_shin * 0.75, f"{side}_foot", shade(look.shoes, f))
    neck_top = v.pts3[NECK] + v.torso[:, 1] * prop.neck
    capsule(NECK, NECK, prop.r_neck, "neck", shade(look.skin, 0.85), p_b=v.project(neck_top)[0])
    prims[-1] = (prims[-1][0] + prop.head_r,) + prims[-1][1:]  # always under the head
    return prims


def _torso(v: _View) -> tuple[list[Primitive], np.ndarray]:
    """The torso, an elliptic cylinder drawn as the trapezoid of its silhouette, and the
    front-only marks (an open collar, a print on the chest); returns primitives and corners (4, 2)."""
    pts3, p2, th, prop, look = v.pts3, v.p2, v.torso, v.prop, v.look
    ls, rs, lh, rh = (_J[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    top3, bot3 = 0.5 * (pts3[ls] + pts3[rs]), 0.5 * (pts3[lh] + pts3[rh])
    top, bot = 0.5 * (p2[ls] + p2[rs]), 0.5 * (p2[lh] + p2[rh])
    axis = top - bot
    length = float(np.hypot(*axis))
    up = axis / length if length > 1e-6 else np.array([0.0, -1.0])
    across = np.array([-up[1], up[0], 0.0])
    corner_list: list[np.ndarray] = []
    for c3, c2, hw, hd, cap, sgn in (
        (top3, top, prop.torso_half_width[0], prop.torso_half_depth[0], 0.045, 1),
        (bot3, bot, prop.torso_half_width[1], prop.torso_half_depth[1], 0.03, -1),
    ):
        s = v.focal / max(c3[2], 1e-3)
        # Half-width of the cross-section ellipse along the image direction `across`.
        ext = s * np.hypot(hw * np.dot(th[:, 0], across), hd * np.dot(th[:, 2], across))
        c = c2 + up * sgn * cap * prop.height * s * np.hypot(*th[:2, 1])
        pair = [c + across[:2] * ext, c - across[:2] * ext]
        corner_list += pair if sgn > 0 else pair[::-1]
    corners = np.array(corner_list)
    depth = 0.5 * (top3[2] + bot3[2]) - 0.3 * prop.torso_half_depth[0]
    prims: list[Primitive] = [
        (depth, "poly", v.code("torso"), shade(look.shirt, v.lit(th[:, 2])), shade(look.shirt, 0.55), corners)
    ]
    if -float(np.dot(th[:, 2], top3 / np.linalg.norm(top3))) > 0.2:  # the chest turned to the camera
        x, y = th[:, 0], th[:, 1]
        chest = 0.7 * top3 + 0.3 * bot3 + th[:, 2] * prop.torso_half_depth[0]
        e = 0.03 * prop.height
        if look.mark_shape == 0:  # a diamond badge
            quad = [chest + x * 0.7 * e, chest + y * e, chest - x * 0.7 * e, chest - y * e]
        elif look.mark_shape == 1:  # a square print
            quad = [chest + (x + y) * e, chest + (y - x) * e, chest - (x + y) * e, chest + (x - y) * e]
        else:  # a stripe across the chest
            quad = [
                chest + 1.6 * e * x + 0.4 * e * y,
                chest - 1.6 * e * x + 0.4 * e * y,
                chest - 1.6 * e * x - 0.4 * e * y,
                chest + 1.6 * e * x - 0.4 * e * y,
            ]
        prims.append((depth - 1e-3, "poly", v.code("torso"), look.mark, None, v.project(np.array(quad))))
        neck3 = top3 + th[:, 2] * prop.torso_half_depth[0] * 0.9
        w, h = 0.3 * prop.torso_half_width[0], prop.height
        collar = [neck3 + x * w + y * 0.02 * h, neck3 - x * w + y * 0.02 * h, neck3 - y * 0.07 * h]
        prims.append((depth - 1e-3, "poly", v.code("torso"), shade(look.skin, 0.9), None, v.project(np.array(collar))))
    return prims, corners


def _head(v: _View) -> tuple[list[Primitive], np.ndarray, np.ndarray, float]:
    """Skin and hair ellipses sorted by depth, with the face marks on top where the face is seen.

    Returns primitives, `facing` (17,) (False for face landmarks turned away), the centres
    (2, 2) of the face and hair ellipses in pixels, and the larger ellipse's long half-axis.
    """
    pts3, hd, prop, look = v.pts3, v.head, v.prop, v.look
    c3 = pts3[HEAD]
    s = v.focal / max(c3[2], 1e-3)
    hr = prop.head_r
    up2 = hd[:2, 1]
    tilt = float(np.hypot(*up2))
    axes = (hr * s, hr * s * np.sqrt(1.0 + 0.69 * min(tilt, 1.0) ** 2))  # rounder when seen from above
    angle = float(np.degrees(np.arctan2(up2[1], up2[0]))) + 90.0 if tilt > 1e-6 else 0.0
    face3 = c3 + hd[:, 2] * 0.15 * hr
    hair3 = c3 - hd[:, 2] * 0.35 * hr + hd[:, 1] * (0.3 if not look.long_hair else -0.1) * hr * 1.3
    hair_axes = (axes[0] * (0.98 if not look.long_hair else 1.08), axes[1] * (0.92 if not look.long_hair else 1.2))
    face_c, hair_c = v.project(np.stack([face3, hair3]))
    hcode = v.code("head")
    prims: list[Primitive] = [
        (face3[2], "ellipse", hcode, shade(look.skin, v.lit(hd[:, 2])), shade(look.skin, 0.6), (face_c, axes, angle)),
        (hair3[2], "ellipse", hcode, look.hair, None, (hair_c, hair_axes, angle)),
    ]
    # Face landmarks: drawn (and visible) only where their surface turns to the camera.
    normals = np.empty((5, 3))
    normals[0] = hd[:, 2]
    normals[1:] = pts3[1:5] - c3
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    view = -pts3[:5] / np.linalg.norm(pts3[:5], axis=1, keepdims=True)
    facing = np.ones(NUM_COCO, bool)
    facing[:5] = np.sum(normals * view, axis=1) > _FACE_THRESH
    mark_depth = min(face3[2], hair3[2]) - 1e-4
    p2 = v.p2
    for j in np.flatnonzero(facing[:5]):
        if j == 0:
            prims.append((mark_depth, "circle", hcode, shade(look.skin, 0.7), None, (p2[j], 0.2 * hr * s)))
        elif j < 3:
            prims.append((mark_depth, "circle", hcode, (30, 25, 25), None, (p2[j], 0.15 * hr * s)))
        else:
            prims.append(
                (
                    mark_depth + 5e-5,
                    "ellipse",
                    hcode,
                    shade(look.skin, 0.9),
                    shade(look.skin, 0.55),
                    (p2[j], (0.18 * hr * s, 0.32 * hr * s), angle),
                )
            )
    if facing[1] and facing[2]:  # a mouth when the whole face is seen
        m = v.project(np.stack([c3 + hd @ np.array([sx * 0.25 * hr, -0.6 * hr, 0.85 * hr]) for sx in (-1, 1)]))
        prims.append((mark_depth, "line", hcode, (60, 60, 150), None, (m[0], m[1], max(1.0, 0.08 * hr * s))))
    return prims, facing, np.stack([face_c, hair_c]), max(hair_axes[1], axes[1])


def build_person(
    index: int,
    body: Body3D,
    prop: Proportions,
    look: Appearance,
    focal: float,
    center: tuple[float, float],
    light: np.ndarray,
) -> PersonDrawing:
    """Primitives of one person given in camera coordinates (`body` already transformed).

    `light` (3,) is the unit direction the light travels in, in the camera frame.
    """
    p2 = project(body.points, focal, center)
    v = _View(body.points, p2, body.torso, body.head, prop, look, focal, center, light, index)
    torso, corners = _torso(v)
    head, facing, head_c, head_r = _head(v)
    # Everything drawn lies within the points, the torso corners and the head, padded by
    # the thickest limb and the head radius.
    all2 = np.concatenate([p2, corners, head_c])
    pad = max(head_r, prop.r_thigh * focal / max(float(body.points[:, 2].min()), 1e-3)) + 2
    extent = np.array([all2[:, 0].min() - pad, all2[:, 1].min() - pad, all2[:, 0].max() + pad, all2[:, 1].max() + pad])
    face = head_c[0]
    head_box = np.array([face[0] - head_r, face[1] - head_r, face[0] + head_r, face[1] + head_r])
    return PersonDrawing(_limbs(v) + torso + head, p2[:NUM_COCO].copy(), facing, extent, head_box)


def draw(primitives: list[Primitive], image: np.ndarray, codes: np.ndarray) -> None:
    """Draw primitives far to near into `image` (H, W, 3) uint8 and `codes` (H, W) uint8."""
    aa = cv2.LINE_AA
    for _depth, kind, code, colour, outline, g in sorted(primitives, key=lambda p: -p[0]):
        if kind == "capsule":
            a, b, r = g  # end points already in fixed point
            t = max(1, int(round(2 * r)))
            to = t + (2 if t >= 4 else 1)
            if outline is not None:
                cv2.line(image, a, b, outline, to, aa, SHIFT)
            cv2.line(image, a, b, colour, t, aa, SHIFT)
            cv2.line(codes, a, b, code, to, cv2.LINE_8, SHIFT)
        elif kind == "poly":
            q = np.round(g * _ONE).astype(np.int32)
            cv2.fillConvexPoly(image, q, colour, aa, SHIFT)
            if outline is not None:
                cv2.polylines(image, [q], True, outline, 1, aa, SHIFT)
            cv2.fillConvexPoly(codes, q, code, cv2.LINE_8, SHIFT)
        elif kind == "ellipse":
            c, (ax, ay), angle = g
            cc, axes = _pt(c), (max(1, int(round(ax * _ONE))), max(1, int(round(ay * _ONE))))
            cv2.ellipse(image, cc, axes, angle, 0, 360, colour, -1, aa, SHIFT)
            if outline is not None:
                cv2.ellipse(image, cc, axes, angle, 0, 360, outline, 1, aa, SHIFT)
            cv2.ellipse(codes, cc, axes, angle, 0, 360, code, -1, cv2.LINE_8, SHIFT)
        elif kind == "circle":
            c, r = _pt(g[0]), max(_ONE // 2, int(round(g[1] * _ONE)))
            cv2.circle(image, c, r, colour, -1, aa, SHIFT)
            cv2.circle(codes, c, r, code, -1, cv2.LINE_8, SHIFT)
        elif kind == "line":
            a, b, w = _pt(g[0]), _pt(g[1]), max(1, int(round(g[2])))
            cv2.line(image, a, b, colour, w, aa, SHIFT)
            cv2.line(codes, a, b, code, w, cv2.LINE_8, SHIFT)
        else:
            raise ValueError(f"unknown primitive kind {kind!r}")


def visibility(codes: np.ndarray, person: int, keypoints: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """COCO visibility (17,): 2 on the joint's own part, 1 inside the image but covered, 0 outside."""
    h, w = codes.shape
    ix, iy = np.round(keypoints[:, 0]).astype(int), np.round(keypoints[:, 1]).astype(int)
    inside = (keypoints[:, 0] >= 0) & (keypoints[:, 1] >= 0) & (keypoints[:, 0] <= w - 1) & (keypoints[:, 1] <= h - 1)
    v = np.where(inside, 1, 0)
    for j in np.flatnonzero(inside & facing):
        c = int(codes[iy[j], ix[j]])
        if PERSON_LUT[c] == person + 1 and PART_LUT[c] in JOINT_PARTS[j]:
            v[j] = 2
    return v


def visible_extent(codes: np.ndarray, person: int) -> tuple[list[float], int]:
    """COCO `bbox` (x, y, w, h) of the person's pixels and their count (0 and a zero box if none)."""
    # The person's codes are one contiguous range: cv2 finds the mask, its size and extent fast.
    mask = cv2.inRange(codes, code_of(person, 0), code_of(person, 15))
    area = cv2.countNonZero(mask)
    if area == 0:
        return [0.0, 0.0, 0.0, 0.0], 0
    bx, by, bw, bh = cv2.boundingRect(mask)
    return [float(bx), float(by), float(bw), float(bh)], int(area)
