"""simplepose: Simple Baselines for Human Pose Estimation and Tracking, in PyTorch."""

__version__ = "0.1.0"
