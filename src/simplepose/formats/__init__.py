"""File formats, read, checked and written in one place each (the bottom layer).

- `posetrack`: PoseTrack 2018 per-video files (ground truth and predictions).
- `detections`: person detections in the COCO results format.
"""
