"""Synthetic people: a fast generator of annotated images and videos for demos and tests.

`generate_dataset` writes a COCO-format keypoint set, `generate_videos` PoseTrack-format
clips; `render_scene` / `render_video` make the same samples in memory.
"""
from .scene import PersonAnnotation, Scene, SceneSettings, render_scene
from .video import VideoSettings, render_video
from .video_files import generate_videos
from .writer import generate_dataset

__all__ = ["PersonAnnotation", "Scene", "SceneSettings", "VideoSettings", "generate_dataset",
           "generate_videos", "render_scene", "render_video"]
