"""Make the mmpose golden fixture: what mmpose 1.3.2 itself predicts with the synthetic
SimpleBaseline checkpoint of `mmpose_weights.py` on the real COCO sample photos.

NOT imported by the tests (mmpose is not installed there); it runs in a side virtual
environment. mmpose 1.3.2 runs on CPU from wheels alone (about two minutes):

    python3 -m venv /tmp/mmpose-venv
    P=/tmp/mmpose-venv/bin/pip
    $P install torch==2.13.0                  # the CPU wheel here
    $P install "numpy<2" mmcv-lite==2.1.0 mmengine==0.10.7 "setuptools>=77,<81"
    $P install --no-deps mmpose==1.3.2 xtcocotools==1.14.3
    $P install json_tricks munkres scipy six

then, from the repository root:

    /tmp/mmpose-venv/bin/python tests/golden/make_mmpose_golden.py            # the golden JSON
    /tmp/mmpose-venv/bin/python tests/golden/make_mmpose_golden.py --fit      # refit the final
        # layer (mmpose_final_layer.npz) first; only needed when the seed or the weights change

What it does: writes the checkpoint with `write_mmpose_checkpoint`, builds mmpose's own model
from mmpose's config `td-hm_res50_8xb64-210e_coco-256x192` (flip_test=True, flip_mode='heatmap',
shift_heatmap=True; MSRAHeatmap codec, input (192, 256), heatmaps (48, 64), sigma 2; RGB input
with the ImageNet mean/std), loads the checkpoint with `mmpose.apis.init_model` (mmengine's
loader; `meta.dataset_meta` gives the flip indices), and runs `mmpose.apis.inference_topdown`
on every image of `test_coco.json` with each non-crowd person's GT box (COCO xywh -> xyxy).

`mmpose.models` imports `mmcv.ops` (absent from mmcv-lite), `torchvision` and `mmdet.utils` for
heads and backbones the SimpleBaseline does not use: empty stand-in modules let it import.

`--fit`: runs the same inference with a zero final layer, takes the 256-channel features that
enter `head.final_layer` for each crop and its mirror, and fits the 1x1 layer so that the
flip-averaged heatmaps peak clearly at chosen pixels (`fit_final_layer`). Random final layers
give near-tied maxima instead, which float-level differences move by a whole body.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = "/work/shared/data/real/coco"
CONFIG = "body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py"
INPUT_W, INPUT_H, HM_W, HM_H, PADDING = 192, 256, 48, 64, 1.25


def _stub_missing_modules() -> None:
    """Empty stand-ins for modules `mmpose.models` imports but the SimpleBaseline never uses."""

    def attr(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__init__": lambda self, *a, **k: None})

    for name in [
        "mmcv.ops",
        "torchvision",
        "torchvision.ops",
        "torchvision.transforms",
        "mmdet",
        "mmdet.utils",
        "mmdet.models",
        "mmdet.models.utils",
        "mmdet.structures",
        "mmdet.structures.bbox",
    ]:
        try:
            __import__(name)
        except Exception:
            mod = types.ModuleType(name)
            mod.__path__ = []
            mod.__getattr__ = attr
            sys.modules[name] = mod


def read_people(data_dir: str):
    """[(file_name, boxes_xyxy [[x1, y1, x2, y2], ...], keypoints [(17, 3) lists])] per image, in file order."""
    with open(os.path.join(data_dir, "test_coco.json")) as f:
        coco = json.load(f)
    out = []
    for img in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == img["id"] and not a.get("iscrowd", 0)]
        boxes = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns]
        kps = [[a["keypoints"][3 * j : 3 * j + 3] for j in range(17)] for a in anns]
        out.append((img["file_name"], boxes, kps))
    return out


def build_model(ckpt_path: str):
    import mmpose
    from mmpose.apis import init_model

    cfg = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", CONFIG)
    model = init_model(cfg, ckpt_path, device="cpu")
    test_cfg = model.cfg.model.test_cfg
    assert test_cfg.flip_test and test_cfg.flip_mode == "heatmap" and test_cfg.shift_heatmap, test_cfg
    codec = model.cfg.codec
    assert (codec.type, tuple(codec.input_size), tuple(codec.heatmap_size), codec.sigma) == (
        "MSRAHeatmap",
        (INPUT_W, INPUT_H),
        (HM_W, HM_H),
        2,
    ), codec
    return model


def crop_frame(box_xyxy):
    """mmpose's GetBBoxCenterScale(padding=1.25) + TopdownAffine's aspect fix: (center, scale)."""
    import numpy as np

    x1, y1, x2, y2 = box_xyxy
    c = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    w, h = (x2 - x1) * PADDING, (y2 - y1) * PADDING
    if w > h * INPUT_W / INPUT_H:
        h = w * INPUT_H / INPUT_W
    else:
        w = h * INPUT_W / INPUT_H
    return c, np.array([w, h])


# Peaks for the two people without any labelled joint, (x, y) on the 48x64 heatmap, chosen on
# the border so the fixture tells the decoders' border rules apart: mmpose steps dx iff
# 1 < x < W-1 and y > 0, dy iff 1 < y < H-1 and x > 0; the paper steps both iff both inside.
BORDER_TARGETS = [
    (1, 30),
    (47, 20),
    (20, 1),
    (30, 63),
    (0, 40),
    (25, 0),
    (1, 12),
    (47, 50),
    (12, 63),
    (40, 1),
    (1, 1),
    (24, 32),
    (10, 20),
    (38, 44),
    (30, 10),
    (8, 56),
    (44, 6),
]


def fit_final_layer(data_dir: str, seed: int, steps: int = 400):
    """Fit the 17x256 + 17 final layer so that mmpose's flip-averaged heatmaps peak clearly at
    target pixels (see `head_features_and_targets` and `fit_head`)."""
    import numpy as np
    from mmpose_weights import write_mmpose_checkpoint

    zero = {"weight": np.zeros((17, 256), np.float32), "bias": np.zeros(17, np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "zero_head.pth")
        write_mmpose_checkpoint(path, seed, final_layer=zero)
        model = build_model(path)
    fo, fm, flat_target = head_features_and_targets(model, data_dir)
    return fit_head(fo, fm, flat_target, seed, steps, lr=0.01, log_every=100)


def head_features_and_targets(model, data_dir: str):
    """The features entering `head.final_layer` for every person's crop and its mirror, (N, C,
    64, 48) each, and the target pixel of each joint (N, 17) as a flat heatmap index: the
    annotated joints (rounded to heatmap pixels), the mean pose for a person's unlabelled
    joints, BORDER_TARGETS for people with none."""
    import numpy as np
    import torch
    from mmpose.apis import inference_topdown

    feats = []
    hook = model.head.final_layer.register_forward_hook(lambda m, i, o: feats.append(i[0].detach().clone()))
    f_orig, f_mirror, targets, labelled = [], [], [], []
    for name, boxes, kps in read_people(data_dir):
        if not boxes:
            continue
        feats.clear()
        inference_topdown(model, os.path.join(data_dir, name), bboxes=np.array(boxes), bbox_format="xyxy")
        assert len(feats) == 2, "expected one pass for the crops and one for their mirrors"
        f_orig.append(feats[0])
        f_mirror.append(feats[1])
        for box, kp in zip(boxes, kps):
            kp = np.array(kp, dtype=np.float64)
            c, s = crop_frame(box)
            xy = np.floor((kp[:, :2] - (c - s / 2)) / s * np.array([HM_W, HM_H]) + 0.5)
            targets.append(np.clip(xy, 0, [HM_W - 1, HM_H - 1]))
            labelled.append(kp[:, 2] > 0)
    hook.remove()
    targets, labelled = np.array(targets), np.array(labelled)
    mean_pose = np.floor(np.array([targets[labelled[:, j], j].mean(0) for j in range(17)]) + 0.5)
    for i in range(len(targets)):
        if not labelled[i].any():
            targets[i] = BORDER_TARGETS
        else:
            targets[i][~labelled[i]] = mean_pose[~labelled[i]]
    flat_target = torch.from_numpy((targets[..., 1] * HM_W + targets[..., 0]).astype(np.int64))  # (N, 17)
    return torch.cat(f_orig), torch.cat(f_mirror), flat_target


def fit_head(fo, fm, flat_target, seed: int, steps: int, lr: float, log_every: int):
    """A 17 x C + 17 final layer fitted by softmax cross-entropy over each heatmap's pixels on
    mmpose's flip-averaged heatmaps (flip-back and one-pixel shift included), so what is fitted is
    what is decoded; scaled so the peaks are about 1. {"weight": (17, C), "bias": (17,)}."""
    import numpy as np
    import torch
    from mmpose_weights import COCO_FLIP_INDICES

    flip = torch.tensor(COCO_FLIP_INDICES)
    torch.manual_seed(seed)
    w = (torch.randn(17, fo.shape[1]) * 0.01).requires_grad_()
    b = torch.zeros(17, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    for step in range(steps):
        h = torch.einsum("kc,nchw->nkhw", w, fo) + b[:, None, None]
        hm = torch.einsum("kc,nchw->nkhw", w, fm) + b[:, None, None]
        back = hm[:, flip].flip(3)
        back = torch.cat([back[..., :1], back[..., :-1]], dim=3)  # mmpose's shift_heatmap
        avg = 0.5 * (h + back)
        loss = torch.nn.functional.cross_entropy(avg.flatten(2).transpose(1, 2), flat_target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % log_every == 0 or step == steps - 1:
            print(f"fit step {step}: loss {loss.item():.4f}")
    with torch.no_grad():  # peaks of height about 1, whatever the logits' scale became
        peak = avg.flatten(2).max(2).values.median()
        w, b = w / peak, b / peak
    return {"weight": w.detach().numpy().astype(np.float32), "bias": b.detach().numpy().astype(np.float32)}


def run_golden(data_dir: str, seed: int, out_path: str) -> dict:
    import mmengine
    import mmpose
    import numpy as np
    import torch
    from mmpose.apis import inference_topdown
    from mmpose_weights import make_state_dict, state_dict_digest, write_mmpose_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "simplebaseline_res50_coco_256x192_synthetic.pth")
        write_mmpose_checkpoint(path, seed)
        model = build_model(path)
    images = []
    for name, boxes, _ in read_people(data_dir):
        entry = {"file_name": name, "boxes_xyxy": boxes, "keypoints": [], "keypoint_scores": []}
        if boxes:
            results = inference_topdown(model, os.path.join(data_dir, name), bboxes=np.array(boxes), bbox_format="xyxy")
            for r in results:
                entry["keypoints"].append(r.pred_instances.keypoints[0].astype(float).tolist())
                entry["keypoint_scores"].append(r.pred_instances.keypoint_scores[0].astype(float).tolist())
        images.append(entry)
    golden = {
        "description": "mmpose 1.3.2 inference_topdown (flip test, heatmap shift, MSRAHeatmap decode, RGB input) "
        "with tests/golden/mmpose_weights.write_mmpose_checkpoint(seed) on the real COCO sample "
        "photos, each non-crowd person's GT box; keypoints (x, y) in image pixels.",
        "config": "td-hm_res50_8xb64-210e_coco-256x192",
        "data": "data/real/coco/test_coco.json",
        "seed": seed,
        "state_dict_sha256": state_dict_digest(make_state_dict(seed)),
        "versions": {
            "mmpose": mmpose.__version__,
            "mmengine": mmengine.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "images": images,
    }
    with open(out_path, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    return golden


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder with test_coco.json and its images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "mmpose_res50_coco_golden.json"))
    parser.add_argument("--fit", action="store_true", help="refit mmpose_final_layer.npz first")
    args = parser.parse_args()
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # mmengine's loader, its own files
    sys.path.insert(0, HERE)  # mmpose_weights beside this script (a script, not the project's code)
    _stub_missing_modules()
    import numpy as np
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.fit:
        from mmpose_weights import FINAL_LAYER_FILE

        head = fit_final_layer(args.data, args.seed)
        np.savez(FINAL_LAYER_FILE, weight=head["weight"], bias=head["bias"])
        print(f"wrote {FINAL_LAYER_FILE}")
    golden = run_golden(args.data, args.seed, args.out)
    n = sum(len(i["keypoints"]) for i in golden["images"])
    print(f"wrote {args.out}: {len(golden['images'])} images, {n} people")


if __name__ == "__main__":
    main()
