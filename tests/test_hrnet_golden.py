"""Our HRNet equals the authors' `lib/models/pose_hrnet.py` (pinned in golden/hrnet_weights.py):
the same seeded weights (randomised BatchNorm included), loaded by key, give the official
heatmaps to float rounding (tests/golden/hrnet_official_golden.json, made by
golden/make_hrnet_golden.py in a side run with the official file).

The suite runs both widths at 256x192 (a few seconds each on one core);
SIMPLEPOSE_FULL_GOLDEN=1 adds 384x288.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from hrnet_weights import CASES, SEED, seeded_input, seeded_state_dict, summarise  # noqa: E402
from mmpose_weights import state_dict_digest  # noqa: E402

from simplepose.nets.hrnet import PoseHighResolutionNet  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "golden" / "hrnet_official_golden.json").read_text())
FULL = os.environ.get("SIMPLEPOSE_FULL_GOLDEN") == "1"


def _case(width: int, hw) -> dict:
    return next(c for c in GOLDEN["cases"] if c["width"] == width and tuple(c["input_hw"]) == tuple(hw))


@pytest.mark.parametrize("width, hw", [c for c in CASES if FULL or c[1] == (256, 192)])
def test_heatmaps_equal_the_official_code(width, hw):
    golden = _case(width, hw)
    assert GOLDEN["seed"] == SEED
    model = PoseHighResolutionNet(width).eval()
    sd = seeded_state_dict((k, v.shape, v.dtype) for k, v in model.state_dict().items())
    assert state_dict_digest(sd) == golden["state_dict_sha256"]  # the same weights under the same names
    model.load_state_dict(sd, strict=True)
    with torch.no_grad():
        ours = summarise(model(seeded_input(hw)))
    ref = golden["fp32"]
    scale = ref["absmax"]
    assert ours["shape"] == ref["shape"] == [1, 17, hw[0] // 4, hw[1] // 4]
    # float32 rounding: the official fp32 run differs from its own fp64 one by ~1e-6 of the scale.
    for key in ("mean", "std", "absmax"):
        assert abs(ours[key] - ref[key]) <= 1e-5 * scale, key
    for name in ("joint_sums", "corner"):
        worst = max(abs(a - b) for a, b in zip(ours[name], ref[name]))
        assert worst <= (1e-5 * scale * (hw[0] * hw[1] // 16) if name == "joint_sums" else 1e-5 * scale), (name, worst)
    assert ours["joint_argmax"] == ref["joint_argmax"]
