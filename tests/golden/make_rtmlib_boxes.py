"""Regenerate rtmlib_yolox_boxes.json: the boxes rtmlib's own YOLOX class returns on the fake
end2end.onnx graphs of tests/yolox_fake.py, for tests/test_onnx_detector.py to compare with.

rtmlib is not a dependency of simplepose; run this in a side virtual environment:

    python3 -m venv /tmp/rtmlib-venv
    /tmp/rtmlib-venv/bin/pip install --no-deps rtmlib        # its deps pull two full OpenCV wheels
    /tmp/rtmlib-venv/bin/pip install numpy onnx onnxruntime opencv-python-headless tqdm
    /tmp/rtmlib-venv/bin/python tests/golden/make_rtmlib_boxes.py

(from the repository root; nothing is downloaded: rtmlib is given the local model file).
The JSON holds each case (input size, image size, people as painted by `paint_people`) and
rtmlib's boxes (N, 4) xyxy in image pixels, unclipped, in the graph's order.
"""

import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # a script, not a package: tests/yolox_fake.py beside it

from rtmlib import YOLOX  # noqa: E402 (after the sys.path line above)
from yolox_fake import make_yolox_onnx, paint_people  # noqa: E402 (after the sys.path line above)

# (input size, width, height, people: (slot, cell box (i0, j0, i1, j1), green)).
PEOPLE = [[0, [0, 0, 2, 1], 230], [3, [1, 3, 5, 4], 200], [7, [4, 6, 6, 6], 180], [5, [5, 0, 6, 1], 60]]
CASES = [
    (416, 977, 533, PEOPLE),  # landscape, downscaled
    (416, 411, 731, PEOPLE),  # portrait, downscaled
    (416, 300, 251, PEOPLE),  # upscaled
    (640, 977, 533, PEOPLE),
    (640, 411, 731, PEOPLE),
    (640, 1283, 719, PEOPLE),
    (640, 640, 640, PEOPLE),  # the input size: fed unresized
    # Row 13's centre (input y 432) is inside the resized height 435 but the cell ends at 448:
    # rtmlib returns y2 = 700 > 680, which simplepose clips to the image.
    (640, 1000, 680, [[2, [12, 3, 13, 5], 250]]),
]


def main() -> None:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, width, height, people in CASES:
            model = Path(tmp, f"end2end_{size}.onnx")
            if not model.exists():
                model.write_bytes(make_yolox_onnx(size))
            # (H, W) order for YOLOX's model_input_size; 'human' is the default mode.
            det = YOLOX(str(model), model_input_size=(size, size), backend="onnxruntime", device="cpu")
            image = paint_people(width, height, size, [(s, tuple(c), g) for s, c, g in people], allow_edge=True)
            boxes = det(image)
            out.append(
                {
                    "input_size": size,
                    "width": width,
                    "height": height,
                    "people": people,
                    "boxes": [[float(v) for v in b] for b in boxes],
                }
            )
    path = HERE / "rtmlib_yolox_boxes.json"
    lines = ",\n  ".join(json.dumps(case) for case in out)  # one case a line: small, readable diffs
    path.write_text(f'{{"rtmlib": "{version("rtmlib")}",\n "cases": [\n  {lines}\n ]}}\n')
    print(f"wrote {path} ({len(out)} cases)")


if __name__ == "__main__":
    main()
