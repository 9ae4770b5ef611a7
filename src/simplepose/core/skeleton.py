"""Keypoint metadata as data: joint names, flip pairs, OKS sigmas and limbs, per dataset.

Every other module takes its keypoint facts from here (or from a `Skeleton` built from a
COCO-format file's `categories` entry), so that no joint list is ever typed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_LEFT, _RIGHT = "left_", "right_"


@dataclass(frozen=True)
class Skeleton:
    """Keypoint metadata of one dataset.

    Attributes:
        name: dataset name ("coco", "mpii", ...).
        joints: joint names in annotation order (K,).
        limbs: pairs of 0-based joint indices to draw as lines.
        sigmas: per-joint OKS sigmas (K,), as in the COCO evaluation; None where the dataset
            defines none (then OKS is unavailable for it).
        flip_pairs: (left, right) index pairs swapped by a horizontal flip; derived from the
            names ("left_x" <-> "right_x") unless given.
    """

    name: str
    joints: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...] = ()
    sigmas: tuple[float, ...] | None = None
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.flip_pairs:
            object.__setattr__(self, "flip_pairs", flip_pairs_from_names(self.joints))
        if self.sigmas is not None and len(self.sigmas) != len(self.joints):
            raise ValueError(f"skeleton {self.name!r}: {len(self.sigmas)} sigmas for {len(self.joints)} joints")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def flip_index(self) -> np.ndarray:
        """(K,) permutation: channel j of a mirrored image is joint flip_index[j]."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def sigmas_array(self) -> np.ndarray:
        if self.sigmas is None:
            raise ValueError(f"skeleton {self.name!r} has no OKS sigmas")
        return np.asarray(self.sigmas, dtype=np.float64)

    def side(self, joint: int) -> str:
        """'left', 'right' or 'center': used to colour limbs when drawing."""
        name = self.joints[joint]
        if name.startswith(_LEFT):
            return "left"
        if name.startswith(_RIGHT):
            return "right"
        return "center"

    def index(self, name: str) -> int:
        return self.joints.index(name)


def flip_pairs_from_names(joints: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Pairs (i, j) with joints[i] == 'left_X' and joints[j] == 'right_X'."""
    pos = {n: i for i, n in enumerate(joints)}
    pairs = []
    for i, n in enumerate(joints):
        if n.startswith(_LEFT):
            j = pos.get(_RIGHT + n[len(_LEFT) :])
            if j is not None:
                pairs.append((i, j))
    return tuple(pairs)


def _limbs_1based(pairs: Sequence[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(a) - 1, int(b) - 1) for a, b in pairs)


_COCO_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# The COCO keypoint evaluation's per-joint sigmas (cocoeval.py), in joint order, as it writes them (x 10).
_SIGMAS_X10 = (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
_COCO_SIGMAS = tuple(s / 10.0 for s in _SIGMAS_X10)
# COCO's own 1-based skeleton from the annotation files' `categories`.
_COCO_SKELETON_1B = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)

COCO = Skeleton("coco", _COCO_JOINTS, _limbs_1based(_COCO_SKELETON_1B), _COCO_SIGMAS)

# MPII's joint order (the pose repositories' JSON): 0 r-ankle ... 15 l-wrist.
_MPII_JOINTS = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
MPII = Skeleton(
    "mpii",
    _MPII_JOINTS,
    (
        (0, 1),
        (1, 2),
        (2, 6),
        (6, 3),
        (3, 4),
        (4, 5),
        (6, 7),
        (7, 8),
        (8, 9),
        (7, 12),
        (12, 11),
        (11, 10),
        (7, 13),
        (13, 14),
        (14, 15),
    ),
)

_CROWDPOSE_JOINTS = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "head",
    "neck",
)
# CrowdPose's evaluation sigmas (its crowdposetools), in its joint order.
_CROWDPOSE_SIGMAS = tuple(
    s / 10.0 for s in (0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79)
)
CROWDPOSE = Skeleton(
    "crowdpose",
    _CROWDPOSE_JOINTS,
    (
        (12, 13),
        (13, 0),
        (13, 1),
        (0, 2),
        (2, 4),
        (1, 3),
        (3, 5),
        (0, 6),
        (1, 7),
        (6, 7),
        (6, 8),
        (8, 10),
        (7, 9),
        (9, 11),
    ),
    _CROWDPOSE_SIGMAS,
)

# PoseTrack 2018 files use COCO's order with the eyes replaced by head_bottom / head_top
# (its ears are never labelled).
_POSETRACK_JOINTS = ("nose", "head_bottom", "head_top", *_COCO_JOINTS[3:])
POSETRACK = Skeleton("posetrack", _POSETRACK_JOINTS, _limbs_1based(_COCO_SKELETON_1B), _COCO_SIGMAS)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (COCO, MPII, CROWDPOSE, POSETRACK)}


def get_skeleton(name: str) -> Skeleton:
    """The built-in skeleton called `name` ("coco", "mpii", "crowdpose", "posetrack")."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton {name!r}; known: {sorted(SKELETONS)}") from None


def skeleton_from_category(category: dict, name: str = "custom") -> Skeleton:
    """A Skeleton from a COCO-format `categories` entry (`keypoints` names, 1-based `skeleton`).

    OKS sigmas are taken from a built-in skeleton with the same joint names when one exists
    (so COCO-format files of COCO or CrowdPose get their official sigmas); otherwise None.
    """
    joints = tuple(category.get("keypoints") or ())
    if not joints:
        raise ValueError(f"category {category.get('name', '?')!r} has no 'keypoints' names")
    for known in SKELETONS.values():
        if known.joints == joints:
            return known
    limbs = _limbs_1based(category.get("skeleton") or ())
    limbs = tuple((a, b) for a, b in limbs if 0 <= a < len(joints) and 0 <= b < len(joints))
    return Skeleton(name, joints, limbs, None)


def common_joints(a: Skeleton, b: Skeleton) -> list[tuple[int, int]]:
    """(index in a, index in b) for every joint name both skeletons have, in `a`'s joint order.

    The one place that matches joints by name across skeletons (a COCO model written as
    PoseTrack, GT and predictions with different joint lists)."""
    pos_b = {n: j for j, n in enumerate(b.joints)}
    return [(i, pos_b[n]) for i, n in enumerate(a.joints) if n in pos_b]
