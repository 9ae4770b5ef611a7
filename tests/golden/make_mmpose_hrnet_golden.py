"""Make the mmpose HRNet golden fixture: what mmpose 1.3.2 itself predicts on the real COCO
sample photos with a seeded HRNet-W32 checkpoint in its own layout
(`hrnet_weights.write_mmpose_hrnet_checkpoint`), through its config
`td-hm_hrnet-w32_8xb64-210e_coco-256x192` (HRNet backbone, HeatmapHead without deconvolutions,
MSRAHeatmap codec 192x256 -> 48x64, sigma 2, flip test with the heatmap shift, RGB input).

Side run in the mmpose venv of `make_mmpose_golden.py` (its docstring says how to make it):

    /tmp/mmpose-venv/bin/python tests/golden/make_mmpose_hrnet_golden.py --fit   # refit the head first
    /tmp/mmpose-venv/bin/python tests/golden/make_mmpose_hrnet_golden.py         # the golden JSON

The backbone's weights come from the seed (the keys of mmpose's own model, prefixes stripped);
random heads give near-tied maxima, so the 17x32 final layer is fitted once (`--fit`, as
`make_mmpose_golden.fit_final_layer` does for the ResNet, on standardised features: the seeded
HRNet's activations are large) and kept in `mmpose_hrnet_final_layer.npz`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_mmpose_golden as mg  # noqa: E402

CONFIG = "body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py"
OUT = os.path.join(HERE, "mmpose_hrnet_coco_golden.json")


def mmpose_shapes(cfg_path: str):
    """(key, shape, dtype) of mmpose's own HRNet-W32 pose model, `backbone.`/`head.` stripped."""
    from mmpose.apis import init_model

    model = init_model(cfg_path, None, device="cpu")  # no checkpoint: mmpose's own module tree
    return [
        (k.split(".", 1)[1], v.shape, v.dtype)
        for k, v in model.state_dict().items()
        if k.startswith(("backbone.", "head."))
    ]


def build(ckpt: str, cfg_path: str):
    from mmpose.apis import init_model

    model = init_model(cfg_path, ckpt, device="cpu")
    t, codec = model.cfg.model.test_cfg, model.cfg.codec
    assert t.flip_test and t.flip_mode == "heatmap" and t.shift_heatmap, t
    assert (codec.type, tuple(codec.input_size), tuple(codec.heatmap_size), codec.sigma) == (
        "MSRAHeatmap",
        (192, 256),
        (48, 64),
        2,
    ), codec
    return model


def fit(data_dir: str, cfg_path: str, shapes, steps: int = 1500):
    """The 17x32 head fitted as the ResNet fixture's (`make_mmpose_golden.fit_head`), on
    standardised features: the seeded activations run into the thousands."""
    import numpy as np
    import torch
    from hrnet_weights import write_mmpose_hrnet_checkpoint

    zero = {"weight": np.zeros((17, 32), np.float32), "bias": np.zeros(17, np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        write_mmpose_hrnet_checkpoint(os.path.join(tmp, "h.pth"), shapes, final_layer=zero)
        model = build(os.path.join(tmp, "h.pth"), cfg_path)
    fo, fm, flat = mg.head_features_and_targets(model, data_dir)
    fo, fm = fo.double(), fm.double()
    scale = fo.std()
    fo, fm = (fo / scale).float(), (fm / scale).float()
    # 32 channels fit less sharply than the ResNet's 256: more, larger steps.
    head = mg.fit_head(fo, fm, flat, seed=0, steps=steps, lr=0.05, log_every=300)
    head["weight"] = (torch.from_numpy(head["weight"]) / scale.float()).numpy().astype(np.float32)
    return head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=mg.DEFAULT_DATA)
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    mg._stub_missing_modules()
    import mmengine
    import mmpose
    import numpy as np
    import torch
    from hrnet_weights import MMPOSE_FINAL_LAYER_FILE, SEED, write_mmpose_hrnet_checkpoint
    from mmpose.apis import inference_topdown
    from mmpose_weights import state_dict_digest

    torch.set_num_threads(min(2, torch.get_num_threads()))
    cfg_path = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", CONFIG)
    shapes = mmpose_shapes(cfg_path)
    if args.fit:
        head = fit(args.data, cfg_path, shapes)
        np.savez(MMPOSE_FINAL_LAYER_FILE, weight=head["weight"], bias=head["bias"])
        print(f"wrote {MMPOSE_FINAL_LAYER_FILE}")
    with tempfile.TemporaryDirectory() as tmp:
        sd = write_mmpose_hrnet_checkpoint(os.path.join(tmp, "h.pth"), shapes)
        model = build(os.path.join(tmp, "h.pth"), cfg_path)
    images = []
    for name, boxes, _ in mg.read_people(args.data):
        entry = {"file_name": name, "boxes_xyxy": boxes, "keypoints": [], "keypoint_scores": []}
        if boxes:
            for r in inference_topdown(
                model, os.path.join(args.data, name), bboxes=np.array(boxes), bbox_format="xyxy"
            ):
                entry["keypoints"].append(r.pred_instances.keypoints[0].astype(float).tolist())
                entry["keypoint_scores"].append(r.pred_instances.keypoint_scores[0].astype(float).tolist())
        images.append(entry)
    golden = {
        "description": "mmpose 1.3.2 inference_topdown with tests/golden/hrnet_weights.write_mmpose_hrnet_checkpoint "
        "(seeded HRNet-W32, fitted head) on the real COCO sample photos, each non-crowd person's GT box; "
        "keypoints (x, y) in image pixels.",
        "config": os.path.basename(CONFIG)[:-3],
        "seed": SEED,
        "tensors": len(sd),
        "state_dict_sha256": state_dict_digest(sd),
        "versions": {
            "mmpose": mmpose.__version__,
            "mmengine": mmengine.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "images": images,
    }
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {sum(len(i['keypoints']) for i in images)} people, {len(sd)} tensors")


if __name__ == "__main__":
    main()
