"""Synthetic people: a fast generator of annotated images and videos for demos and tests.

    simplepose synth --out DIR [--images N] [--val-fraction F] [--videos V --frames T] [--seed S]
                     [--size WxH | MIN-MAX] [--max-people K] [--clutter C] [--workers P]

writes (the layout the demo configs expect):
    DIR/images/{train,val}/NNNNNN.jpg         still images, 320-640 px a side by default
    DIR/annotations/{train,val}.json          COCO keypoints, the 17 COCO joints
    DIR/annotations/val_detections.json       simulated detector boxes (COCO results list)
    DIR/videos/<name>/NNNNNN.jpg, <name>.mp4  clips, <name> = NNNNNN_synth
    DIR/posetrack/annotations/val/<name>.json PoseTrack 2018 format (track_id, bbox_head, ...)
    DIR/posetrack/detections/<name>.json      simulated detector boxes per frame
    DIR/meta.json                             seed and settings

How a sample is made (modules in data-flow order):
    body.py        3D skeleton with human proportions, forward kinematics, pinhole camera
    poses.py       joint angles within anatomical limits; gait and waving for the videos
    appearance.py  skin, hair, clothes; a front-only mark on the shirt
    render.py      depth-ordered drawing into the image and a person/part label map
    backdrop.py    backgrounds, clutter, limb-like distractors, occluders, lighting, blur, noise
    scene.py       one still image and its annotations, read from the label map
    video.py       ground-plane paths: walking, turning, waving, a crossing pair
    detections.py  the simulated person detector (jitter, misses, false positives)
    writer.py, video_files.py, files.py   files on disk (atomic, byte-identical for a seed)

Annotation conventions: pixel centres at integer coordinates; a joint is visible (2) when
its own body part is on top at its pixel, hidden (1) when it is inside the image but under
another person, an object or another of its own parts (face landmarks also when turned
away from the camera), and 0 with x = y = 0 outside the image. `bbox` is the extent of
the person's visible pixels and `area` their count.
"""

from .scene import PersonAnnotation, Scene, SceneSettings, render_scene
from .video import VideoSettings, render_video
from .video_files import generate_videos
from .writer import generate_dataset

__all__ = [
    "PersonAnnotation",
    "Scene",
    "SceneSettings",
    "VideoSettings",
    "generate_dataset",
    "generate_videos",
    "render_scene",
    "render_video",
]
