"""Synthetic videos: people who walk, turn, wave and cross each other on a ground plane.

Ground coordinates (metres): X right, Z away from the camera, the camera at height
`cam_height` above the ground at X = Z = 0, tilted down. Every person keeps one index for
the whole clip: that index is the track id, so ids stay the same through occlusions and
through leaving and re-entering the view.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .appearance import sample_appearance
from .backdrop import background, lighting_gain, photometric, static_object
from .body import L_TOE, R_TOE, forward_kinematics, orientation, rot_x, sample_proportions
from .poses import gait, wave
from .render import MAX_PEOPLE, build_person, draw
from .scene import PersonAnnotation, annotate


@dataclass(frozen=True)
class VideoSettings:
    width: int = 640
    height: int = 360
    fps: float = 25.0
    people: tuple[int, int] = (2, 5)  # walkers and wavers besides the crossing pair
    clutter: float = 0.8
    object_prob: float = 0.5  # a static object in front of the walkers
    noise: tuple[float, float] = (0.0, 4.0)
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if not 0 <= self.people[0] <= self.people[1] <= MAX_PEOPLE - 2:  # 2 more: the crossing pair
            raise ValueError(f"video people must lie within 0..{MAX_PEOPLE - 2}, got {self.people}")
        if self.width < 1 or self.height < 1 or self.fps <= 0:  # any size of at least one pixel
            raise ValueError(f"bad video size or rate: {self.width}x{self.height} at {self.fps} fps")


@dataclass
class Track:
    """Per-frame state of one person: ground position (F, 2) [X, Z], yaw (F,) degrees, action."""

    xz: np.ndarray
    yaw: np.ndarray
    speed: np.ndarray  # (F,) m/s
    waving: bool


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average along time with edge padding (paths and headings without kinks)."""
    if width <= 1:
        return x
    k = np.ones(width) / width
    pad = [(width // 2, width - 1 - width // 2)] + [(0, 0)] * (x.ndim - 1)
    xp = np.pad(x, pad, mode="edge")
    return np.apply_along_axis(lambda c: np.convolve(c, k, mode="valid"), 0, xp)


def _walker(
    rng: np.random.Generator,
    frames: int,
    dt: float,
    half_fov: float,
    z: float,
    direction: int,
    meet: tuple[int, float] | None = None,
    speed: float = 0.0,
) -> Track:
    """A person crossing the view at depth `z`; sometimes stopping to turn back ("turn")."""
    speed = speed or rng.uniform(0.9, 1.6)
    vel = np.full(frames, speed * direction)
    if meet is None and rng.random() < 0.3:  # turn around once, pausing while turning
        t0 = int(rng.integers(frames // 4, max(frames // 4 + 1, 3 * frames // 4)))
        pause = int(rng.integers(8, 20))
        vel[t0 : t0 + pause] = 0.0
        vel[t0 + pause :] *= -1
    vel = _smooth(vel, 9)
    x = np.cumsum(vel) * dt
    if meet is not None:  # arrive at X = meet[1] at frame meet[0]
        x += meet[1] - x[meet[0]]
    else:
        x += -direction * (z * half_fov + 0.8) + rng.uniform(0, 0.7) * direction * 2 * z * half_fov
    zs = z + _smooth(np.cumsum(rng.normal(0, 0.01, frames)), 15)
    xz = np.stack([x, zs], 1)
    step = np.gradient(xz, axis=0)
    moving = np.hypot(step[:, 0], step[:, 1]) > 1e-4
    heading = np.degrees(np.arctan2(step[:, 0], -step[:, 1]))  # yaw 0 faces the camera (-Z)
    last = heading[np.argmax(moving)] if moving.any() else -90.0 * direction
    for t in range(frames):  # keep the heading while standing still
        last = heading[t] if moving[t] else last
        heading[t] = last
    yaw = _smooth(np.unwrap(np.radians(heading)), 7)
    return Track(xz, np.degrees(yaw), np.abs(vel), False)


def _waver(rng: np.random.Generator, frames: int, half_fov: float) -> Track:
    z = rng.uniform(3.0, 9.0)
    x = rng.uniform(-0.7, 0.7) * z * half_fov
    yaw = rng.uniform(-40, 40) + 15 * np.sin(np.linspace(0, rng.uniform(1, 4), frames))
    return Track(np.tile([x, z], (frames, 1)), yaw, np.zeros(frames), True)


def make_tracks(rng: np.random.Generator, frames: int, settings: VideoSettings, half_fov: float) -> list[Track]:
    """A crossing pair (the nearer one hides the farther for several frames), then others.

    The pair meet mid-clip, walking towards each other or one overtaking the other.
    """
    dt = 1.0 / settings.fps
    meet = (
        int(rng.integers(frames // 3, max(frames // 3 + 1, 2 * frames // 3))),
        rng.uniform(-0.3, 0.3) * 4 * half_fov,
    )
    z0, v0 = rng.uniform(4.0, 7.0), rng.uniform(0.9, 1.4)
    overtake = rng.random() < 0.5
    tracks = [
        _walker(rng, frames, dt, half_fov, z0, 1, meet, v0 + (rng.uniform(0.5, 0.8) if overtake else 0.0)),
        _walker(rng, frames, dt, half_fov, z0 + rng.uniform(1.0, 2.5), 1 if overtake else -1, meet, v0),
    ]
    for _ in range(int(rng.integers(settings.people[0], settings.people[1] + 1))):
        if rng.random() < 0.3:
            tracks.append(_waver(rng, frames, half_fov))
        else:
            tracks.append(_walker(rng, frames, dt, half_fov, rng.uniform(3.0, 14.0), int(rng.choice([-1, 1]))))
    return tracks


def render_video(
    rng: np.random.Generator, frames: int, settings: VideoSettings = VideoSettings()
) -> Iterator[tuple[np.ndarray, list[PersonAnnotation]]]:
    """Yield (image (H, W, 3) uint8, annotations) per frame; annotation `label` - 1 is the track id."""
    w, h = settings.width, settings.height
    focal = rng.uniform(0.8, 1.1) * w
    center = ((w - 1) / 2.0, (h - 1) / 2.0)
    cam_height, tilt = rng.uniform(1.3, 2.2), rng.uniform(3.0, 12.0)
    half_fov = w / 2.0 / focal
    tracks = make_tracks(rng, frames, settings, half_fov)
    people = [(sample_proportions(rng), sample_appearance(rng), rng.uniform(0, 2 * np.pi)) for _ in tracks]
    waving_side = ["left" if rng.random() < 0.5 else "right" for _ in tracks]
    backdrop = background(rng, w, h, settings.clutter)
    gain = lighting_gain(rng, w, h)
    light = rng.normal(0, 1, 3) + np.array([0.0, 1.2, 0.6])
    light /= np.linalg.norm(light)
    object_seed = int(rng.integers(2**31)) if rng.random() < settings.object_prob else None
    cam_rot = rot_x(np.radians(tilt))
    dt = 1.0 / settings.fps
    head_yaw = [_smooth(rng.uniform(-40, 40, frames), 25) for _ in tracks]
    for t in range(frames):
        image, codes = backdrop.copy(), np.zeros((h, w), np.uint8)
        drawings, prims = [], []
        for i, (tr, (prop, look, _)) in enumerate(zip(tracks, people)):
            stride = 1.5 * prop.height * 0.8  # metres per gait cycle
            if tr.waving:
                pose = wave(2 * np.pi * 1.5 * t * dt + people[i][2], waving_side[i])
            else:
                phase = people[i][2] + 2 * np.pi * np.sum(tr.speed[:t]) * dt / stride
                pose = gait(phase, min(1.0, tr.speed[t] / 1.2))
            pose["head_yaw"] = float(head_yaw[i][t])
            body = forward_kinematics(prop, pose)
            foot = min(body.points[L_TOE, 1], body.points[R_TOE, 1], *body.points[[15, 16], 1] - prop.ankle_height)
            x, z = tr.xz[t]
            trans = cam_rot @ np.array([x, cam_height + foot, z])  # pelvis above the ground: -foot
            d = build_person(
                i, body.transformed(orientation(float(tr.yaw[t]), tilt=tilt), trans), prop, look, focal, center, light
            )
            drawings.append(d)
            prims += d.primitives if trans[2] > 0.5 else []
        draw(prims, image, codes)
        if object_seed is not None:
            static_object(np.random.default_rng(object_seed), image, codes, 0.25 * h)
        annotations = annotate(codes, drawings)
        image = photometric(rng, image, 0.0, settings.noise, gain)
        yield image, annotations


def track_misses(
    rng: np.random.Generator, frames: int, tracks: int, start: float = 0.05, stay: float = 0.55
) -> np.ndarray:
    """(frames, tracks) bool: detector misses that last a few frames (a Markov chain; ~10% missed)."""
    out = np.zeros((frames, tracks), bool)
    for t in range(frames):
        p = np.where(out[t - 1], stay, start) if t else np.full(tracks, start)
        out[t] = rng.random(tracks) < p
    return out


def head_box_in_image(box: list[float], width: int, height: int) -> list[float]:
    """A head box (x, y, w, h) clipped to the image."""
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(width - 1.0, box[0] + box[2]), min(height - 1.0, box[1] + box[3])
    return [round(x0, 2), round(y0, 2), round(max(0.0, x1 - x0), 2), round(max(0.0, y1 - y0), 2)]
