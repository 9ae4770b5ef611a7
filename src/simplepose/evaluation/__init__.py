"""Evaluation: the metrics, and the runners that drive a predictor over a validation set.

COCO keypoint AP/AR equal to pycocotools (`cocoeval`), MPII PCKh (`pckh`), PoseTrack mAP
and MOTA (`posetrack`, `clear_mot`); `runner` and `mpii_runner` run a `TopDownPredictor`
over a set and score it (the table `runner.EVALUATORS`).

May import: `core/`, `formats/`, `config`, `data/`; the runners (layer 3) also
`inference/` and `runtimes/`.
"""
