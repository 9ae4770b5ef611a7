"""int8 against eager fp32: keypoint displacement (px) of onnx-int8 and openvino-int8.

1. The mmpose-format golden ResNet-50 (tests/golden) on the real COCO photos with their GT
   boxes, calibrated on those photos (whole-image crops, as `export --int8` does);
2. the two shipped models on a synthetic val set (`--synthetic DIR` from `simplepose synth`),
   calibrated on its train images.
Each is also compared with eager fp32 on its own images with +-1 grey level of noise: the
displacement fp32 itself shows under a change no one can see, the floor int8 is judged against.
Also prints each model's peak margin: (top heatmap value - best value over 3 heatmap px away) /
heatmap range, the headroom any reduced precision has before a joint jumps to another peak.
The golden R50's heatmaps do not peak clearly on the real photos (a random backbone; only its
final layer was fitted), so `--fitted CKPT` measures the same R50 after fine-tuning on those
photos' 14 people until its heatmaps do (~12 min on 2 cores; write the golden file with
`python -c "import sys; sys.path.insert(0, 'tests/golden'); import mmpose_weights as m;
m.write_mmpose_checkpoint('golden_r50.pth')"` first):
  simplepose train configs/coco/res50_256x192.yaml --out runs/r50fit --set model.pretrained= \
    --set data.root=$REAL/coco --set data.train_ann=test_coco.json --set data.train_images=. \
    --set data.val_ann=test_coco.json --set data.val_images=. --set train.init_from=golden_r50.pth \
    --set train.epochs=400 --set train.batch_size=7 --set "train.lr_steps=[]" --set train.val_every=0 \
    --set data.workers=0 --set train.amp=auto --set test.detections= --set data.color=rgb \
    --set train.max_minutes=12 --set data.scale_factor=0 --set data.rotation_prob=0
`--seeds K` draws the floor's noise K times (it varies from draw to draw); `--front-stride 8`
also leaves the second stage in fp32 (`onnx_paths.FRONT_STRIDE`, 4 by default). Each int8
runtime's speed (img/s at batch 1 and 16, random crops) is printed beside its displacement.
Usage: python benchmarks/int8_displacement.py --real ../shared/data/real --synthetic DIR [--fitted runs/r50fit/last.pth]
       [--seeds 3] [--front-stride 8]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from simplepose.bench.accuracy import grey_noise
from simplepose.inference.predictor import TopDownPredictor
from simplepose.runtimes import onnx_paths

ROOT = Path(__file__).resolve().parents[1]


def margins(heatmaps: np.ndarray) -> np.ndarray:
    out = []
    for h in heatmaps.reshape(-1, *heatmaps.shape[2:]):
        i = np.unravel_index(h.argmax(), h.shape)
        yy, xx = np.mgrid[: h.shape[0], : h.shape[1]]
        far = (np.abs(yy - i[0]) > 3) | (np.abs(xx - i[1]) > 3)
        out.append((h.max() - h[far].max()) / (h.max() - h.min()))
    return np.array(out)


def report(label, got, want):
    d = np.linalg.norm(got[..., :2] - want[..., :2], axis=-1)
    sure = want[..., 2] >= 0.3
    print(
        f"{label}: mean {d.mean():.3f} px, max {d.max():.1f} px, max among conf>=0.3 "
        f"{d[sure].max():.1f} px, joints > 8 px (conf>=0.3): {int((d[sure] > 8).sum())} of {int(sure.sum())}"
    )


def speed(predictor: TopDownPredictor) -> str:
    """img/s of the predictor's runtime alone at batch 1 and 16 (random crops, ~1 s each)."""
    w, h = predictor.input_size
    out = []
    for n in (1, 16):
        x = torch.randn(n, 3, h, w)
        predictor.runtime.runner(x)
        reps = max(3, 48 // n)
        start = time.perf_counter()
        for _ in range(reps):
            predictor.runtime.runner(x)
        out.append(reps * n / (time.perf_counter() - start))
    return f"{out[0]:.1f} / {out[1]:.1f} img/s at batch 1 / 16"


def compare(model, cfg_kwargs, images, boxes, calibration, label, seeds=1):
    ref = TopDownPredictor(model, runtime="eager", **cfg_kwargs)
    want = np.concatenate([p.keypoints for p in ref.predict_batch(images, boxes)])
    # The floor any reduced precision is judged against: fp32 itself on noisy images.
    for seed in range(seeds):
        report(
            f"{label} eager fp32, input +-1 grey level (draw {seed})",
            np.concatenate([p.keypoints for p in ref.predict_batch(grey_noise(images, seed), boxes)]),
            want,
        )
    crops = []
    for im, b in zip(images, boxes):
        from simplepose.core.transforms import crop_people

        c, s = ref.crop_boxes(b)
        crops.append(crop_people(im, c, s, ref.input_size)[0])
    m = margins(ref.heatmaps(np.concatenate(crops)))
    quantiles = np.round(np.quantile(m, [0, 0.05, 0.25, 0.5]), 4).tolist()
    print(f"{label}: peak margin / range quantiles 0/5/25/50%: {quantiles}")
    for name in ("onnx-int8", "openvino-int8"):
        try:
            p = TopDownPredictor(model, runtime=name, calibration=str(calibration), **cfg_kwargs)
        except ValueError as e:
            print(f"{label} {name}: not measured ({e})")
            continue
        report(f"{label} {name}", np.concatenate([x.keypoints for x in p.predict_batch(images, boxes)]), want)
        print(f"{label} {name}: {speed(p)}")
    print(f"{label} eager fp32: {speed(ref)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", default=os.environ.get("SIMPLEPOSE_REAL_DATA", "/work/shared/data/real"))
    ap.add_argument("--synthetic", default="")
    ap.add_argument("--fitted", default="", help="also a checkpoint fine-tuned on the real photos (see above)")
    ap.add_argument("--seeds", type=int, default=1, help="draws of the floor's noise")
    ap.add_argument(
        "--front-stride",
        type=int,
        default=onnx_paths.FRONT_STRIDE,
        help="int8 leaves in fp32 the layers at 1/N of the input or finer",
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    onnx_paths.FRONT_STRIDE = args.front_stride
    print(
        f"int8 front in fp32: layers at 1/{args.front_stride} of the input or finer; {torch.get_num_threads()} threads"
    )
    from simplepose.config import Config
    from simplepose.core.transforms import Normalize
    from simplepose.nets.weights import load_checkpoint

    sys.path.insert(0, str(ROOT / "tests" / "golden"))
    from mmpose_weights import write_mmpose_checkpoint

    golden = json.loads((ROOT / "tests" / "golden" / "mmpose_res50_coco_golden.json").read_text())
    coco = Path(args.real) / "coco"
    with tempfile.TemporaryDirectory() as tmp:
        ck = Path(tmp) / "golden_res50-coco-256x192.pth"
        write_mmpose_checkpoint(str(ck), seed=0)
        loaded = load_checkpoint(str(ck))
    cfg = loaded.config or Config()
    kw = dict(
        input_size=cfg.data.input_size,
        heatmap_size=cfg.data.heatmap_size,
        decoder=cfg.test.decoder,
        normalize=Normalize(cfg.data.color, cfg.data.mean, cfg.data.std),
    )
    images = [cv2.imread(str(coco / im["file_name"])) for im in golden["images"]]
    boxes = [np.array(im["boxes_xyxy"]) for im in golden["images"]]
    compare(loaded.model.eval(), kw, images, boxes, coco, "golden R50, real COCO photos", args.seeds)
    if args.fitted:
        loaded = load_checkpoint(args.fitted)
        cfg = loaded.config
        kw = dict(
            input_size=cfg.data.input_size,
            heatmap_size=cfg.data.heatmap_size,
            decoder=cfg.test.decoder,
            normalize=Normalize(cfg.data.color, cfg.data.mean, cfg.data.std),
        )
        compare(loaded.model.eval(), kw, images, boxes, coco, "golden R50 fitted to the real photos", args.seeds)
    if args.synthetic:
        from simplepose.bench.inputs import accuracy_config, load_val_images

        images, boxes = load_val_images(Path(args.synthetic), 100)
        for size in ("96x64", "128x96"):
            loaded = load_checkpoint(str(ROOT / "src" / "simplepose" / "models" / f"synthetic_res18_{size}.pth"))
            cfg = accuracy_config(loaded.config, Path(args.synthetic))
            kw = dict(
                input_size=cfg.data.input_size,
                heatmap_size=cfg.data.heatmap_size,
                decoder=cfg.test.decoder,
                normalize=Normalize(cfg.data.color, cfg.data.mean, cfg.data.std),
                sigma=cfg.data.sigma,
            )
            compare(
                loaded.model.eval(),
                kw,
                images,
                boxes,
                Path(args.synthetic) / "images" / "train",
                f"shipped {size} model, synthetic val",
                args.seeds,
            )


if __name__ == "__main__":
    main()
