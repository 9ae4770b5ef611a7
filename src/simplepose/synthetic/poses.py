"""Joint angles of the synthetic people, drawn within anatomical limits.

Angles are in degrees. Flexion moves a limb forward (for the knee: the shin backward),
abduction moves it away from the body's midline, twist turns it about its own axis
(positive = outward). Names per side are prefixed `left_` / `right_`.
"""

from __future__ import annotations

import numpy as np

# (low, high) range of motion of each angle (degrees), after common clinical ranges.
LIMITS: dict[str, tuple] = {
    "pelvis_tilt": (-10.0, 15.0),
    "torso_flex": (-20.0, 70.0),
    "torso_side": (-25.0, 25.0),
    "torso_twist": (-35.0, 35.0),
    "head_yaw": (-60.0, 60.0),
    "head_pitch": (-30.0, 40.0),
    "head_roll": (-20.0, 20.0),
}
_SIDE_LIMITS = {
    "sh_flex": (-40.0, 170.0),
    "sh_abd": (-10.0, 160.0),
    "sh_twist": (-60.0, 90.0),
    "elbow": (0.0, 145.0),
    "wrist": (-60.0, 60.0),
    "hip_flex": (-20.0, 120.0),
    "hip_abd": (-10.0, 45.0),
    "hip_twist": (-30.0, 30.0),
    "knee": (0.0, 140.0),
    "ankle": (-20.0, 40.0),
}
for _side in ("left", "right"):
    for _k, _v in _SIDE_LIMITS.items():
        LIMITS[f"{_side}_{_k}"] = _v

POSE_FAMILIES = ("stand", "walk", "gesture", "crouch", "bend", "random")
_FAMILY_P = np.array([0.28, 0.28, 0.2, 0.1, 0.05, 0.09])  # everyday poses most often


def neutral() -> dict[str, float]:
    """Standing upright, arms hanging slightly away from the body."""
    a = {k: 0.0 for k in LIMITS}
    for side in ("left", "right"):
        a[f"{side}_sh_abd"] = 8.0
        a[f"{side}_elbow"] = 10.0
        a[f"{side}_knee"] = 3.0
        a[f"{side}_hip_abd"] = 4.0
    return a


def clip_to_limits(a: dict[str, float]) -> dict[str, float]:
    return {k: float(min(max(v, LIMITS[k][0]), LIMITS[k][1])) for k, v in a.items()}


def gait(phase: float, amount: float = 1.0) -> dict[str, float]:
    """Walking pose at gait `phase` (radians, one stride = 2 pi); `amount` scales the swing."""
    a = neutral()
    for side, ph in (("left", phase), ("right", phase + np.pi)):
        s = np.sin(ph)
        a[f"{side}_hip_flex"] = amount * 25.0 * s
        # The knee bends most while the leg swings forward.
        a[f"{side}_knee"] = 5.0 + amount * 50.0 * max(0.0, np.sin(ph + 0.9))
        a[f"{side}_ankle"] = amount * 10.0 * np.cos(ph)
        # Arms swing against the leg of their side.
        a[f"{side}_sh_flex"] = -amount * 22.0 * s
        a[f"{side}_elbow"] = 15.0 + amount * 15.0 * max(0.0, -s)
    a["torso_twist"] = amount * 6.0 * np.sin(phase)
    return a


def wave(phase: float, side: str = "right") -> dict[str, float]:
    """Standing and waving one raised hand; `phase` in radians."""
    a = neutral()
    a[f"{side}_sh_abd"] = 85.0 + 5.0 * np.sin(phase)
    a[f"{side}_sh_flex"] = 15.0
    a[f"{side}_sh_twist"] = 80.0  # outward: the bent forearm points up
    a[f"{side}_elbow"] = 75.0 + 30.0 * np.sin(phase)
    return a


def sample_pose(rng: np.random.Generator) -> dict[str, float]:
    """A random pose from a mixture of everyday families, clipped to LIMITS."""
    family = POSE_FAMILIES[rng.choice(len(POSE_FAMILIES), p=_FAMILY_P)]
    if family == "walk":
        a = gait(rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.4))
    elif family == "random":
        a = {k: rng.uniform(lo, hi) for k, (lo, hi) in LIMITS.items()}
        a["pelvis_tilt"] = rng.uniform(-5, 5)
        a["torso_flex"] = rng.uniform(-10, 40)
    else:
        a = neutral()
    for side in ("left", "right"):

        def g(k: str, lo: float, hi: float, side: str = side) -> float:  # one angle of this side, uniform
            a[f"{side}_{k}"] = angle = rng.uniform(lo, hi)
            return angle

        if family == "stand":
            g("sh_flex", -20, 30), g("sh_abd", 0, 35), g("elbow", 0, 60), g("sh_twist", -40, 20)
            g("hip_flex", -8, 15), g("hip_abd", 0, 15), g("knee", 0, 20)
        elif family == "gesture":
            g("sh_flex", -30, 170), g("sh_abd", 0, 150), g("elbow", 0, 140), g("sh_twist", -60, 90)
            g("hip_flex", -5, 20), g("hip_abd", 0, 20), g("knee", 0, 25)
        elif family == "crouch":
            g("sh_flex", -10, 80), g("sh_abd", 0, 40), g("elbow", 10, 120)
            g("hip_flex", 50, 115), g("hip_abd", 0, 35), g("knee", 60, 135), g("ankle", -20, 20)
        elif family == "bend":
            g("sh_flex", 0, 100), g("sh_abd", 0, 30), g("elbow", 0, 60), g("knee", 0, 30)
            g("hip_flex", 0, 20)
        g("wrist", -30, 30)
    if family == "crouch":
        a["torso_flex"] = rng.uniform(0, 40)
    elif family == "bend":
        a["torso_flex"] = rng.uniform(35, 70)
    elif family != "random":
        a["torso_flex"] = a.get("torso_flex", 0.0) + rng.uniform(-8, 12)
        a["torso_side"] = rng.uniform(-10, 10)
        a["torso_twist"] = a.get("torso_twist", 0.0) + rng.uniform(-15, 15)
    a["head_yaw"] = rng.uniform(-50, 50)
    a["head_pitch"] = rng.uniform(-20, 30)
    a["head_roll"] = rng.uniform(-12, 12)
    return clip_to_limits(a)
