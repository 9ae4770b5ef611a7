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
from typing import List, Tuple

import cv2
import numpy as np

from ..skeleton import COCO
from .appearance import Appearance, shade
from .body import HEAD, L_HAND, L_TOE, NECK, NUM_COCO, R_HAND, R_TOE, Body3D, Proportions, project

OCCLUDER = 255
MAX_PEOPLE = 15
SHIFT = 4  # cv2 sub-pixel bits: coordinates are drawn at 1/16 pixel
_ONE = 1 << SHIFT
PARTS = ("torso", "head", "neck", "left_upper_arm", "right_upper_arm", "left_forearm", "right_forearm",
         "left_hand", "right_hand", "left_thigh", "right_thigh", "left_shin", "right_shin",
         "left_foot", "right_foot")
_P = {n: i for i, n in enumerate(PARTS)}
_J = {n: i for i, n in enumerate(COCO.joints)}

# The parts a joint belongs to: a joint is visible where one of them is on top.
_JOINT_SEGMENTS = {"shoulder": ("torso", "upper_arm"), "elbow": ("upper_arm", "forearm"),
                   "wrist": ("forearm", "hand"), "hip": ("torso", "thigh"), "knee": ("thigh", "shin"),
                   "ankle": ("shin", "foot")}


def _joint_parts(name: str) -> Tuple[int, ...]:
    if "_" not in name or name.split("_", 1)[1] not in _JOINT_SEGMENTS:
        return (_P["head"],)  # nose, eyes, ears
    side, kind = name.split("_", 1)
    return tuple(_P[p if p == "torso" else f"{side}_{p}"] for p in _JOINT_SEGMENTS[kind])


JOINT_PARTS: Tuple[Tuple[int, ...], ...] = tuple(_joint_parts(n) for n in COCO.joints)
FACE = np.arange(NUM_COCO) < 5  # nose, eyes, ears: hidden when turned away from the camera
# How far a face landmark's surface normal may turn from the camera and still be seen.
_FACE_THRESH = np.array([-0.1, 0.15, 0.15, -0.2, -0.2])


def code_of(person: int, part: int) -> int:
    return 1 + 16 * person + part


def code_tables() -> Tuple[np.ndarray, np.ndarray]:
    """Look-up tables code -> person id (0 background, 1.. people, OCCLUDER) and code -> part (-1 none)."""
    person = np.zeros(256, np.uint8)
    part = np.full(256, -1, np.int16)
    for c in range(1, 1 + 16 * MAX_PEOPLE):
        person[c], part[c] = 1 + (c - 1) // 16, (c - 1) % 16
    person[OCCLUDER] = OCCLUDER  # objects keep their own label
    return person, part


PERSON_LUT, PART_LUT = code_tables()


@dataclass
class PersonDrawing:
    """One person's primitives and projected keypoints."""

    primitives: list  # (depth, kind, code, colour, outline, geometry); capsule ends in 1/16 pixels
    keypoints: np.ndarray  # (17, 2) image pixels
    facing: np.ndarray  # (17,) bool: False for face landmarks turned away
    extent: np.ndarray  # (4,) x0, y0, x1, y1 bounding every primitive (may leave the image)
    head_box: np.ndarray  # (4,) x0, y0, x1, y1 of the head


def _pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


def build_person(index: int, body: Body3D, prop: Proportions, look: Appearance, focal: float,
                 center: Tuple[float, float], light: np.ndarray) -> PersonDrawing:
    """Primitives of one person given in camera coordinates (`body` already transformed)."""
    pts3, th, hd = body.points, body.torso, body.head
    z = np.maximum(pts3[:, 2], 1e-3)
    p2 = project(pts3, focal, center)
    px = lambda i: focal / z[i]  # noqa: E731  pixels per metre at point i
    prims: list = []
    code = lambda part: code_of(index, _P[part])  # noqa: E731
    lit = lambda normal: 0.78 + 0.22 * float(np.dot(normal, -light))  # noqa: E731

    p2i = [tuple(q) for q in np.rint(p2 * _ONE).astype(np.int64).tolist()]  # cv2's fixed-point coordinates

    def capsule(a: int, b: int, radius: float, part: str, colour, p_a=None, p_b=None) -> None:
        pa = p2i[a] if p_a is None else _pt(p_a)
        pb = p2i[b] if p_b is None else _pt(p_b)
        r = radius * 0.5 * (px(a) + px(b))
        depth = 0.5 * (z[a] + z[b]) - radius
        prims.append((depth, "capsule", code(part), colour, shade(colour, 0.55), (pa, pb, r)))

    side_normal = {"left": th[:, 0], "right": -th[:, 0]}
    for side, hand, toe in (("left", L_HAND, L_TOE), ("right", R_HAND, R_TOE)):
        sh, el, wr = (_J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist"))
        hp, kn, an = (_J[f"{side}_{n}"] for n in ("hip", "knee", "ankle"))
        f = lit(side_normal[side])
        sleeve = shade(look.shirt, f)
        skin = shade(look.skin, f)
        capsule(sh, el, prop.r_upper_arm, f"{side}_upper_arm", sleeve)
        capsule(el, wr, prop.r_forearm, f"{side}_forearm", sleeve if look.long_sleeves else skin)
        capsule(wr, hand, prop.r_forearm * 0.85, f"{side}_hand", shade(look.skin, f * 0.95))
        trousers = shade(look.trousers, f)
        capsule(hp, kn, prop.r_thigh, f"{side}_thigh", trousers)
        capsule(kn, an, prop.r_shin, f"{side}_shin", trousers if look.long_trousers else skin)
        capsule(an, toe, prop.r_shin * 0.75, f"{side}_foot", shade(look.shoes, f))

    # Torso: an elliptic cylinder seen from the camera, drawn as a trapezoid of its silhouette.
    ls, rs, lh, rh = (_J[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    top3, bot3 = 0.5 * (pts3[ls] + pts3[rs]), 0.5 * (pts3[lh] + pts3[rh])
    top, bot = 0.5 * (p2[ls] + p2[rs]), 0.5 * (p2[lh] + p2[rh])
    axis = top - bot
    length = float(np.hypot(*axis))
    up = axis / length if length > 1e-6 else np.array([0.0, -1.0])
    across = np.array([-up[1], up[0], 0.0])
    corners = []
    for c3, c2, (hw, hd_), cap, sgn in ((top3, top, (prop.torso_half_width[0], prop.torso_half_depth[0]), 0.045, 1),
                                        (bot3, bot, (prop.torso_half_width[1], prop.torso_half_depth[1]), 0.03, -1)):
        s = focal / max(c3[2], 1e-3)
        ext = s * np.hypot(hw * np.dot(th[:, 0], across), hd_ * np.dot(th[:, 2], across))
        c = c2 + up * sgn * cap * prop.height * s * np.hypot(*th[:2, 1])
        corners += [c + across[:2] * ext, c - across[:2] * ext] if sgn > 0 else [c - across[:2] * ext, c + across[:2] * ext]
    torso_depth = 0.5 * (top3[2] + bot3[2]) - 0.3 * prop.torso_half_depth[0]
    prims.append((torso_depth, "poly", code("torso"), shade(look.shirt, lit(th[:, 2])), shade(look.shirt, 0.55),
                  np.array(corners)))
    # Front-only marks: an open collar and a print on the chest, seen only from the front.
    front = -float(np.dot(th[:, 2], top3 / np.linalg.norm(top3)))
    if front > 0.2:
        chest = 0.7 * top3 + 0.3 * bot3 + th[:, 2] * prop.torso_half_depth[0]
        e = 0.03 * prop.height
        if look.mark_shape == 2:
            quad = [chest + th[:, 0] * 1.6 * e + th[:, 1] * 0.4 * e, chest - th[:, 0] * 1.6 * e + th[:, 1] * 0.4 * e,
                    chest - th[:, 0] * 1.6 * e - th[:, 1] * 0.4 * e, chest + th[:, 0] * 1.6 * e - th[:, 1] * 0.4 * e]
        else:
            k = 1.0 if look.mark_shape == 1 else 0.7
            quad = [chest + th[:, 0] * e * k, chest + th[:, 1] * e, chest - th[:, 0] * e * k, chest - th[:, 1] * e] \
                if look.mark_shape == 0 else \
                [chest + (th[:, 0] + th[:, 1]) * e * k, chest + (-th[:, 0] + th[:, 1]) * e * k,
                 chest - (th[:, 0] + th[:, 1]) * e * k, chest + (th[:, 0] - th[:, 1]) * e * k]
        prims.append((torso_depth - 1e-3, "poly", code("torso"), look.mark, None, project(np.array(quad), focal, center)))
        neck3 = top3 + th[:, 2] * prop.torso_half_depth[0] * 0.9
        collar = [neck3 + th[:, 0] * 0.3 * prop.torso_half_width[0] + th[:, 1] * 0.02 * prop.height,
                  neck3 - th[:, 0] * 0.3 * prop.torso_half_width[0] + th[:, 1] * 0.02 * prop.height,
                  neck3 - th[:, 1] * 0.07 * prop.height]
        prims.append((torso_depth - 1e-3, "poly", code("torso"), shade(look.skin, 0.9), None,
                      project(np.array(collar), focal, center)))

    # Neck, then the head: skin and hair ellipses sorted by depth, face marks on top.
    neck_top = pts3[NECK] + th[:, 1] * prop.neck
    capsule(NECK, NECK, prop.r_neck, "neck", shade(look.skin, 0.85), p_b=project(neck_top[None], focal, center)[0])
    prims[-1] = (prims[-1][0] + prop.head_r,) + prims[-1][1:]  # always under the head
    c3 = pts3[HEAD]
    s = focal / max(c3[2], 1e-3)
    hr = prop.head_r
    up2 = hd[:2, 1]
    tilt = float(np.hypot(*up2))
    axes = (hr * s, hr * s * np.sqrt(1.0 + 0.69 * min(tilt, 1.0) ** 2))
    angle = float(np.degrees(np.arctan2(up2[1], up2[0]))) + 90.0 if tilt > 1e-6 else 0.0
    face3 = c3 + hd[:, 2] * 0.15 * hr
    hair3 = c3 - hd[:, 2] * 0.35 * hr + hd[:, 1] * (0.3 if not look.long_hair else -0.1) * hr * 1.3
    hair_axes = (axes[0] * (0.98 if not look.long_hair else 1.08), axes[1] * (0.92 if not look.long_hair else 1.2))
    hair_c = project(hair3[None], focal, center)[0]
    face_c = project(face3[None], focal, center)[0]
    prims.append((face3[2], "ellipse", code("head"), shade(look.skin, lit(hd[:, 2])), shade(look.skin, 0.6),
                  (face_c, axes, angle)))
    prims.append((hair3[2], "ellipse", code("head"), look.hair, None, (hair_c, hair_axes, angle)))
    # Face landmarks: drawn (and visible) only where their surface turns to the camera.
    normals = np.empty((5, 3))
    normals[0] = hd[:, 2]
    normals[1:] = pts3[1:5] - c3
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    view = -pts3[:5] / np.linalg.norm(pts3[:5], axis=1, keepdims=True)
    facing = np.ones(NUM_COCO, bool)
    facing[:5] = np.sum(normals * view, axis=1) > _FACE_THRESH
    mark_depth = min(face3[2], hair3[2]) - 1e-4
    hcode = code("head")
    for j in range(5):
        if not facing[j]:
            continue
        if j == 0:
            prims.append((mark_depth, "circle", hcode, shade(look.skin, 0.7), None, (p2[j], 0.2 * hr * s)))
        elif j < 3:
            prims.append((mark_depth, "circle", hcode, (30, 25, 25), None, (p2[j], 0.15 * hr * s)))
        else:
            prims.append((mark_depth + 5e-5, "ellipse", hcode, shade(look.skin, 0.9), shade(look.skin, 0.55),
                          (p2[j], (0.18 * hr * s, 0.32 * hr * s), angle)))
    if facing[1] and facing[2]:  # a mouth when the whole face is seen
        m = [project((c3 + hd @ np.array([sx * 0.25 * hr, -0.6 * hr, 0.85 * hr]))[None], focal, center)[0]
             for sx in (-1, 1)]
        prims.append((mark_depth, "line", hcode, (60, 60, 150), None, (m[0], m[1], max(1.0, 0.08 * hr * s))))
    all2 = np.concatenate([p2, np.array(corners), [hair_c, face_c]])
    pad = max(axes[1], hair_axes[1], prop.r_thigh * focal / z.min()) + 2
    extent = np.array([all2[:, 0].min() - pad, all2[:, 1].min() - pad, all2[:, 0].max() + pad, all2[:, 1].max() + pad])
    hb = max(hair_axes[1], axes[1])
    head_box = np.array([face_c[0] - hb, face_c[1] - hb, face_c[0] + hb, face_c[1] + hb])
    return PersonDrawing(prims, p2[:NUM_COCO].copy(), facing, extent, head_box)


def draw(primitives: List[tuple], image: np.ndarray, codes: np.ndarray) -> None:
    """Draw primitives far to near into `image` (H, W, 3) uint8 and `codes` (H, W) uint8."""
    aa = cv2.LINE_AA
    for depth, kind, code, colour, outline, g in sorted(primitives, key=lambda p: -p[0]):
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


def visible_extent(codes: np.ndarray, person: int, region: np.ndarray) -> Tuple[List[float], int]:
    """COCO `bbox` (x, y, w, h) of the person's pixels and their count, searched within `region`."""
    h, w = codes.shape
    x0, y0 = max(0, int(np.floor(region[0]))), max(0, int(np.floor(region[1])))
    x1, y1 = min(w, int(np.ceil(region[2])) + 1), min(h, int(np.ceil(region[3])) + 1)
    if x1 <= x0 or y1 <= y0:
        return [0.0, 0.0, 0.0, 0.0], 0
    # The person's codes are one contiguous range: cv2 finds the mask, its size and extent fast.
    mask = cv2.inRange(codes[y0:y1, x0:x1], code_of(person, 0), code_of(person, 15))
    area = cv2.countNonZero(mask)
    if area == 0:
        return [0.0, 0.0, 0.0, 0.0], 0
    bx, by, bw, bh = cv2.boundingRect(mask)
    return [float(x0 + bx), float(y0 + by), float(bw), float(bh)], int(area)
