"""From an image to poses.

`TopDownPredictor` (boxes -> crops -> network -> decoded joints in image pixels,
`predictor`), the paper's rescoring and OKS-NMS and the COCO results they give
(`postprocess`), person boxes from files and detectors (`detector`, `onnx_detector`,
`person_boxes`), predict's loop over photos and videos (`prediction`) and the ONNX export
(`export`).

May import: `core/`, `formats/`, `config`, `nets/`, `data/`, `evaluation/`'s metrics, `zoo/`
and `runtimes/`; never `training/`, `tracking/`, `commands/`, `api` or `demo`.
"""
