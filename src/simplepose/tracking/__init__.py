"""The paper's flow-based pose tracker (its Algorithm 1), which its authors never released.

Optical flow between frames (`flow`), the similarities between poses (`similarity`, a
table of kinds), the tracker that propagates joints, adds their boxes and matches greedily
(`tracker.PoseTracker`), and a video's whole run to PoseTrack JSON and a drawn video
(`pipeline`).

May import: `core/`, `formats/`, `config`, `nets/`, `inference/`, `runtimes/`.
"""
