"""Regenerate tests/golden/hrnet_official_golden.json: the official HRNet's heatmaps for
seeded weights, for W32 and W48 at 256x192 and 384x288.

Side run, torch only, with the authors' file fetched at the pinned commit (never committed):

    git clone https://github.com/leoxiaobin/deep-high-resolution-net.pytorch /tmp/hrnet-official
    git -C /tmp/hrnet-official checkout 6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1
    python tests/golden/make_hrnet_golden.py /tmp/hrnet-official/lib/models/pose_hrnet.py

The official `PoseHighResolutionNet(cfg)` is built from the experiment files' `MODEL.EXTRA`
(`hrnet_weights.official_extra`), given `hrnet_weights.seeded_state_dict` weights keyed by
its own state dict, run in eval mode on `seeded_input` in float64 and float32, and
summarised (`summarise`); the file records the official commit, the seed and each state
dict's digest, so tests/test_hrnet_golden.py knows it built the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from hrnet_weights import (  # noqa: E402 (after the sys.path line above)
    CASES,
    OFFICIAL_COMMIT,
    OFFICIAL_REPO,
    SEED,
    official_extra,
    seeded_input,
    seeded_state_dict,
    summarise,
)

OUT = HERE / "hrnet_official_golden.json"


def state_dict_digest(sd: dict) -> str:
    """sha256 over the keys, dtypes, shapes and bytes of a state dict, in order."""
    h = hashlib.sha256()
    for k, v in sd.items():
        t = v.detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pose_hrnet", help="the official lib/models/pose_hrnet.py")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("official_pose_hrnet", args.pose_hrnet)
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)  # type: ignore[union-attr]

    torch.set_num_threads(max(1, torch.get_num_threads()))
    cases = []
    for width, hw in CASES:
        net = official.PoseHighResolutionNet({"MODEL": {"NUM_JOINTS": 17, "EXTRA": official_extra(width)}}).eval()
        sd = seeded_state_dict((k, v.shape, v.dtype) for k, v in net.state_dict().items())
        net.load_state_dict(sd)
        x = seeded_input(hw)
        with torch.no_grad():
            hm32 = net(x)
            hm64 = net.double()(x.double())
        cases.append(
            dict(
                width=width,
                input_hw=list(hw),
                state_dict_sha256=state_dict_digest(sd),
                tensors=len(sd),
                fp32=summarise(hm32),
                fp64=summarise(hm64),
            )
        )
        print(
            f"W{width} {hw[0]}x{hw[1]}: {len(sd)} tensors, heatmaps {tuple(hm32.shape)}, "
            f"|fp32 - fp64| max {(hm32.double() - hm64).abs().max().item():.2e}"
        )
    Path(args.out).write_text(
        json.dumps(
            dict(
                official=f"github.com/{OFFICIAL_REPO} lib/models/pose_hrnet.py @ {OFFICIAL_COMMIT}",
                seed=SEED,
                torch=torch.__version__,
                cases=cases,
            ),
            separators=(",", ":"),
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
