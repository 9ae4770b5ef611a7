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
    import numpy as np
    import torch
    from hrnet_weights import write_mmpose_hrnet_checkpoint
    from mmpose.apis import inference_topdown
    from mmpose_weights import COCO_FLIP_INDICES

    zero = {"weight": np.zeros((17, 32), np.float32), "bias": np.zeros(17, np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        write_mmpose_hrnet_checkpoint(os.path.join(tmp, "h.pth"), shapes, final_layer=zero)
        model = build(os.path.join(tmp, "h.pth"), cfg_path)
    feats = []
    hook = model.head.final_layer.register_forward_hook(lambda m, i, o: feats.append(i[0].detach().clone()))
    fo, fm, targets, labelled = [], [], [], []
    for name, boxes, kps in mg.read_people(data_dir):
        if not boxes:
            continue
        feats.clear()
        inference_topdown(model, os.path.join(data_dir, name), bboxes=np.array(boxes), bbox_format="xyxy")
        assert len(feats) == 2
        fo.append(feats[0])
        fm.append(feats[1])
        for box, kp in zip(boxes, kps):
            kp = np.array(kp, dtype=np.float64)
            c, s = mg.crop_frame(box)
            xy = np.floor((kp[:, :2] - (c - s / 2)) / s * np.array([mg.HM_W, mg.HM_H]) + 0.5)
            targets.append(np.clip(xy, 0, [mg.HM_W - 1, mg.HM_H - 1]))
            labelled.append(kp[:, 2] > 0)
    hook.remove()
    targets, labelled = np.array(targets), np.array(labelled)
    mean_pose = np.floor(np.array([targets[labelled[:, j], j].mean(0) for j in range(17)]) + 0.5)
    for i in range(len(targets)):
        if not labelled[i].any():
            targets[i] = mg.BORDER_TARGETS
        else:
            targets[i][~labelled[i]] = mean_pose[~labelled[i]]
    fo, fm = torch.cat(fo).double(), torch.cat(fm).double()
    scale = fo.std()  # standardised features: the seeded activations are in the thousands
    fo, fm = (fo / scale).float(), (fm / scale).float()
    flat = torch.from_numpy((targets[..., 1] * mg.HM_W + targets[..., 0]).astype(np.int64))
    flip = torch.tensor(COCO_FLIP_INDICES)
    torch.manual_seed(0)
    w = (torch.randn(17, 32) * 0.01).requires_grad_()
    b = torch.zeros(17, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)  # 32 channels fit less sharply than the ResNet's 256: more, larger steps
    for step in range(steps):
        h = torch.einsum("kc,nchw->nkhw", w, fo) + b[:, None, None]
        back = (torch.einsum("kc,nchw->nkhw", w, fm) + b[:, None, None])[:, flip].flip(3)
        back = torch.cat([back[..., :1], back[..., :-1]], dim=3)  # mmpose's shift_heatmap
        avg = 0.5 * (h + back)
        loss = torch.nn.functional.cross_entropy(avg.flatten(2).transpose(1, 2), flat)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 300 == 0 or step == steps - 1:
            print(f"fit step {step}: loss {loss.item():.4f}")
    with torch.no_grad():
        peak = avg.flatten(2).max(2).values.median()
        w, b = w / peak / scale.float(), b / peak
    return {"weight": w.detach().numpy().astype(np.float32), "bias": b.detach().numpy().astype(np.float32)}


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
