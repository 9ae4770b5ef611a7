"""simplepose: Simple Baselines for Human Pose Estimation and Tracking, in PyTorch.

    est = simplepose.PoseEstimator()          # COCO ResNet-50 256x192 + YOLOX-m, from the zoo
    poses = est("photo.jpg")
"""

__version__ = "0.1.0"
__all__ = ["PoseEstimator", "Poses"]


def __getattr__(name: str):
    # Lazy: `import simplepose` (and `simplepose --help`) stays free of torch until it is used.
    if name == "PoseEstimator":
        from .api import PoseEstimator

        return PoseEstimator
    if name == "Poses":
        from .poses import Poses

        return Poses
    raise AttributeError(f"module 'simplepose' has no attribute {name!r}")
