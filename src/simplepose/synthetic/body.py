"""The synthetic person's 3D body: proportions, forward kinematics and camera projection.

Body frame (metres): origin at the pelvis centre, x = the person's LEFT, y = up, z = the way
the person faces. Camera frame: x right, y down, z away from the camera, so a person with
yaw 0 faces the camera and, as in a photo, shows their left side on the image's right.

Points are kept in one array: the 17 COCO joints first (so `points[:17]` is what gets
annotated), then helper points used only for drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.skeleton import COCO

NUM_COCO = COCO.num_joints
# Helper points after the COCO joints.
PELVIS, NECK, HEAD, L_TOE, R_TOE, L_HAND, R_HAND = range(NUM_COCO, NUM_COCO + 7)
NUM_POINTS = NUM_COCO + 7
_J = {name: i for i, name in enumerate(COCO.joints)}


# Scalar trigonometry through `math`: these run a few hundred times per image.
def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# Camera looking at a person of yaw 0: body x -> image right, body y -> image up, body z -> camera.
BODY_TO_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Proportions:
    """Segment lengths and half-thicknesses in metres (fractions of height after Drillis & Contini)."""

    height: float
    build: float  # width factor: 0.8 slim .. 1.3 broad
    torso: float  # hip-joint line to shoulder line
    neck: float
    head_r: float  # head half-width; its half-height is 1.3x this
    shoulder_width: float  # between the shoulder joints
    hip_width: float  # between the hip joints
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shin: float
    foot: float
    ankle_height: float
    # Half-thicknesses of the drawn segments.
    r_upper_arm: float
    r_forearm: float
    r_thigh: float
    r_shin: float
    r_neck: float
    torso_half_width: tuple[float, float]  # (at shoulders, at hips)
    torso_half_depth: tuple[float, float]


def sample_proportions(rng: np.random.Generator) -> Proportions:
    """A random adult or child: height 1.0-1.95 m, build 0.8-1.3, limb ratios within +-5%."""
    child = rng.random() < 0.08
    h = rng.uniform(1.0, 1.45) if child else rng.uniform(1.5, 1.95)
    b = rng.uniform(0.8, 1.3)
    head_scale = 1.3 if child else 1.0
    j = lambda: rng.uniform(0.95, 1.05)  # noqa: E731  per-segment length jitter
    return Proportions(
        height=h,
        build=b,
        torso=0.29 * h * j(),
        neck=0.05 * h,
        head_r=0.048 * h * head_scale,
        shoulder_width=0.215 * h * (0.85 + 0.15 * b),
        hip_width=0.12 * h * (0.8 + 0.2 * b),
        upper_arm=0.186 * h * j(),
        forearm=0.146 * h * j(),
        hand=0.08 * h,
        thigh=0.245 * h * j(),
        shin=0.246 * h * j(),
        foot=0.13 * h,
        ankle_height=0.039 * h,
        r_upper_arm=0.024 * h * b,
        r_forearm=0.019 * h * b,
        r_thigh=0.036 * h * b,
        r_shin=0.025 * h * b,
        r_neck=0.022 * h * b,
        torso_half_width=(0.125 * h * (0.8 + 0.2 * b), 0.085 * h * b),
        torso_half_depth=(0.06 * h * b, 0.06 * h * b),
    )


@dataclass(frozen=True)
class Body3D:
    """A posed body: points (NUM_POINTS, 3) and the torso / head frames (3, 3) (columns = x, y, z axes)."""

    points: np.ndarray
    torso: np.ndarray
    head: np.ndarray

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> Body3D:
        """The same body moved: p -> R p + t (frames rotated by R)."""
        return Body3D(self.points @ rotation.T + translation, rotation @ self.torso, rotation @ self.head)


def forward_kinematics(p: Proportions, a: dict[str, float]) -> Body3D:
    """Place every point from joint angles `a` (degrees; see poses.LIMITS for names and ranges)."""
    r = {k: math.radians(v) for k, v in a.items()}
    pts = np.zeros((NUM_POINTS, 3))
    down = np.array([0.0, -1.0, 0.0])
    pelvis_r = rot_x(r["pelvis_tilt"])
    torso_r = pelvis_r @ rot_y(r["torso_twist"]) @ rot_z(r["torso_side"]) @ rot_x(r["torso_flex"])
    neck = torso_r @ np.array([0.0, p.torso, 0.0])
    pts[PELVIS], pts[NECK] = 0.0, neck
    head_r = torso_r @ rot_y(r["head_yaw"]) @ rot_x(r["head_pitch"]) @ rot_z(r["head_roll"])
    head = neck + head_r @ np.array([0.0, p.neck + 1.1 * p.head_r, 0.01 * p.height])
    pts[HEAD] = head
    hr, hv = p.head_r, 1.3 * p.head_r
    # Face landmarks on the head's surface, where they are drawn.
    pts[_J["nose"]] = head + head_r @ np.array([0.0, -0.15 * hv, 1.08 * hr])
    for s, eye, ear in ((1, "left_eye", "left_ear"), (-1, "right_eye", "right_ear")):
        pts[_J[eye]] = head + head_r @ np.array([s * 0.38 * hr, 0.1 * hv, 0.86 * hr])
        pts[_J[ear]] = head + head_r @ np.array([s * 1.0 * hr, -0.05 * hv, -0.05 * hr])
    for s, side, toe, hand in ((1, "left", L_TOE, L_HAND), (-1, "right", R_TOE, R_HAND)):
        sh = neck + torso_r @ np.array([s * p.shoulder_width / 2, -0.03 * p.height, 0.0])
        ua = torso_r @ rot_z(s * r[f"{side}_sh_abd"]) @ rot_x(-r[f"{side}_sh_flex"]) @ rot_y(s * r[f"{side}_sh_twist"])
        elbow = sh + ua @ (down * p.upper_arm)
        fa = ua @ rot_x(-r[f"{side}_elbow"])  # flexion brings the hand forward
        wrist = elbow + fa @ (down * p.forearm)
        pts[_J[f"{side}_shoulder"]], pts[_J[f"{side}_elbow"]], pts[_J[f"{side}_wrist"]] = sh, elbow, wrist
        pts[hand] = wrist + fa @ rot_x(-r[f"{side}_wrist"]) @ (down * p.hand)
        hip = pelvis_r @ np.array([s * p.hip_width / 2, -0.02 * p.height, 0.0])
        th = (
            pelvis_r
            @ rot_z(s * r[f"{side}_hip_abd"])
            @ rot_x(-r[f"{side}_hip_flex"])
            @ rot_y(s * r[f"{side}_hip_twist"])
        )
        knee = hip + th @ (down * p.thigh)
        shin = th @ rot_x(r[f"{side}_knee"])  # flexion brings the ankle backward
        ankle = knee + shin @ (down * p.shin)
        pts[_J[f"{side}_hip"]], pts[_J[f"{side}_knee"]], pts[_J[f"{side}_ankle"]] = hip, knee, ankle
        # Feet point forward: one of the cues that tell front from back.
        pts[toe] = ankle + shin @ rot_x(r[f"{side}_ankle"]) @ np.array([0.0, -0.7 * p.ankle_height, p.foot])
    return Body3D(pts, torso_r, head_r)


def orientation(yaw: float, pitch: float = 0.0, roll: float = 0.0, tilt: float = 0.0) -> np.ndarray:
    """Body -> camera rotation: the person turned by `yaw` degrees (0 = facing the camera),
    leaning by `pitch`/`roll`, seen by a camera tilted down by `tilt` degrees."""
    world = rot_y(np.deg2rad(yaw)) @ rot_x(np.deg2rad(pitch)) @ rot_z(np.deg2rad(roll))
    return rot_x(np.deg2rad(tilt)) @ BODY_TO_CAMERA @ world


def project(points: np.ndarray, focal: float, center: tuple[float, float]) -> np.ndarray:
    """Pinhole projection of camera-frame points (N, 3) -> pixels (N, 2); pixel centres at integers."""
    z = np.maximum(points[:, 2], 1e-3)
    return np.stack([focal * points[:, 0] / z + center[0], focal * points[:, 1] / z + center[1]], axis=1)
