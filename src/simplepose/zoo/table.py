"""The model zoo's table: one row per file a user can ask for by name.

Rows are data, read from the places that publish the files (2026-12-03):
  * mmpose 1.x SimpleBaseline COCO rows and their DARK variants: the model-zoo metafiles
    `configs/body_2d_keypoint/topdown_heatmap/coco/resnet_coco.yml` and `resnet_dark_coco.yml`
    of open-mmlab/mmpose. The ResNet-101 384x288 row there links the 256x192 file; the real
    one is mmpose 0.x's `res101_coco_384x288-8c71bdc9_20200709.pth`.
  * mmpose MPII and PoseTrack18 rows (0.x files): `.../mpii/resnet_mpii.yml`,
    `.../posetrack18/resnet_posetrack18.yml`.
  * torchvision's ImageNet ResNet V1 files, the paper's starting point.
  * The official checkpoints (microsoft/human-pose-estimation.pytorch), which sit behind
    OneDrive / Google Drive folder links with no file URL or hash: rows without URLs that say
    where to get them by hand.
  * rtmlib's YOLOX person detectors (mmdeploy ONNX bundles, zipped).
  * HRNet (2026-12-06): mmpose's COCO rows (`.../coco/hrnet_coco.yml`, `hrnet_dark_coco.yml`,
    `hrnet_udp_coco.yml`; the UDP-regress row needs another head and is left out) and MPII rows
    (`.../mpii/hrnet_mpii.yml`); the ImageNet HRNet files mmpose's configs start from
    (`pretrain_models/hrnet_w32-36af842e.pth`, `hrnet_w48-8ef0771d.pth`: format "imagenet",
    loaded through `model.pretrained`); the authors' checkpoints (leoxiaobin/deep-high-resolution-net.pytorch
    README, RGB input) as hand-placed rows.

`sha256` is what the publisher gives: the first 8 hex digits in the file name (mmpose,
torchvision). The YOLOX zips' names carry the hash of the .pth they were exported from, not
of the zip, so no digest of the zip is published; for YOLOX-tiny and -m the digest of the
`end2end.onnx` inside is pinned (`member_sha256`, as recorded by a project that verified
the files), and the others are checked against the digest recorded at their first download.

Rows of one's own: a YAML list in the file named by `$SIMPLEPOSE_MODELS` adds rows or
replaces rows of the same name (see `ModelRow` for the fields).
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from ..core.suggest import did_you_mean
from ..core.words import plural

MODELS_ENV = "SIMPLEPOSE_MODELS"
#: What `predict`, `track` and `PoseEstimator` use when told nothing else.
DEFAULT_MODEL, DEFAULT_DETECTOR = "coco-res50-256x192", "yolox-m"
FORMATS = ("mmpose", "official", "torchvision", "imagenet", "simplepose", "onnx-zip", "onnx")
KINDS = {
    "mmpose": "pose",
    "official": "pose",
    "simplepose": "pose",
    "torchvision": "backbone",
    "imagenet": "backbone",
    "onnx-zip": "detector",
    "onnx": "detector",
}
_HEX = re.compile(r"^[0-9a-f]{8,64}$")


class ZooError(ValueError):
    """A zoo row, download or cache problem; always one line naming the row, URL or folder."""


@dataclass(frozen=True)
class ModelRow:
    """One downloadable (or hand-placed) file and what a model built from it needs.

    Fields (the same in `$SIMPLEPOSE_MODELS` YAML rows):
        name: what users type (`--model NAME`, `model.pretrained: NAME`).
        urls: tried in order (primary, then mirrors); empty = get the file by hand (`manual`).
        sha256: hex prefix (at least 8 digits) or the full digest of the downloaded file;
            "" = none published (the digest of the first download is recorded and kept).
        format: mmpose | official | torchvision | simplepose | onnx-zip | onnx.
        color: channel order the network was trained on: "rgb" (mmpose) or "bgr" (official).
        input_size: network input (w, h).
        skeleton: joint layout (coco, mpii, posetrack, crowdpose); "" for backbones/detectors.
        decoder: the heatmap decoder it was evaluated with (see `codec.DECODERS`).
        metric, reported: the published figure and where it is published.
        size: bytes when known exactly (checked), else 0; approx_mb: for the table.
        member, member_sha256: the file used inside a zip bundle, and its digest if known.
        manual: for rows without URLs, where to get the file by hand.
    """

    name: str
    urls: tuple[str, ...] = ()
    sha256: str = ""
    format: str = "mmpose"
    color: str = "rgb"
    input_size: tuple[int, int] = (192, 256)
    skeleton: str = "coco"
    decoder: str = "mmpose"
    metric: str = ""
    reported: str = ""
    size: int = 0
    approx_mb: float = 0.0
    member: str = ""
    member_sha256: str = ""
    manual: str = ""

    @property
    def kind(self) -> str:
        """ "pose", "backbone" or "detector"."""
        return KINDS[self.format]

    @property
    def filename(self) -> str:
        """The downloaded file's name in the cache (the URL's last path part)."""
        if self.urls:
            return Path(urlparse(self.urls[0]).path).name
        return self.manual_filename

    @property
    def manual_filename(self) -> str:
        """For a row without URLs, the file name the user is asked to place in the cache."""
        return f"{self.name}.pth"

    @property
    def dataset(self) -> str:
        return self.skeleton or {"backbone": "imagenet", "detector": "person"}[self.kind]


_MMPOSE = "https://download.openmmlab.com/mmpose/"
_COCO1 = _MMPOSE + "v1/body_2d_keypoint/topdown_heatmap/coco/"
_OLD = _MMPOSE + "top_down/resnet/"
_YOLOX = _MMPOSE + "v1/projects/rtmposev1/onnx_sdk/"
_TV = "https://download.pytorch.org/models/"
_MMPOSE_ZOO = "mmpose model zoo, configs/body_2d_keypoint/topdown_heatmap/"
_OFFICIAL = (
    "the official Simple Baselines release (github.com/microsoft/human-pose-estimation.pytorch, "
    "README 'Download pretrained models': OneDrive / Google Drive folder models/pytorch/"
)
#: Approximate fp32 file sizes (MB) of the pose networks: ~4 bytes per parameter.
_MB = {50: 136, 101: 212, 152: 274}
_SIZES = {(192, 256): "256x192", (288, 384): "384x288", (256, 256): "256x256"}


def _mmpose_digest(url: str) -> str:
    """The 8 hex digits of sha256 that mmpose writes into each file's name (`-04af38ce_20220923.pth`)."""
    found = re.search(r"-([0-9a-f]{8})_\d{8}\.pth$", url)
    if found is None:
        raise ValueError(f"{url}: not an mmpose file name (-<sha256[:8]>_<date>.pth)")
    return found.group(1)


def _mm(depth: int, size: tuple[int, int], url: str, ap: float, dark: bool = False) -> ModelRow:
    digest = _mmpose_digest(url)
    tag = "-dark" if dark else ""
    return ModelRow(
        name=f"coco-res{depth}{tag}-{_SIZES[size]}",
        urls=(url,),
        sha256=digest,
        input_size=size,
        decoder="dark" if dark else "mmpose",
        metric=f"COCO val AP {ap:.1f}",
        reported=_MMPOSE_ZOO + ("coco/resnet_dark_coco.yml" if dark else "coco/resnet_coco.yml"),
        approx_mb=_MB[depth],
    )


def _official(dataset: str, depth: int, size: tuple[int, int], metric: str) -> ModelRow:
    folder = "pose_coco" if dataset == "coco" else "pose_mpii"
    return ModelRow(
        name=f"official-{dataset}-res{depth}-{_SIZES[size]}",
        format="official",
        color="bgr",
        decoder="paper",
        input_size=size,
        skeleton=dataset,
        metric=metric,
        approx_mb=_MB[depth],
        reported="github.com/microsoft/human-pose-estimation.pytorch README",
        manual=_OFFICIAL + f"{folder}/pose_resnet_{depth}_{_SIZES[size]}.pth.tar)",
    )


def _yolox(size: str, digest: str, side: int, member_sha256: str = "", mb: float = 0.0) -> ModelRow:
    return ModelRow(
        name=f"yolox-{size}",
        urls=(f"{_YOLOX}yolox_{size}_8xb8-300e_humanart-{digest}.zip",),
        format="onnx-zip",
        color="bgr",
        input_size=(side, side),
        skeleton="",
        decoder="",
        member="end2end.onnx",
        member_sha256=member_sha256,
        metric="person detector, trained on Human-Art",
        reported="github.com/Tau-J/rtmlib README (detectors)",
        approx_mb=mb,
    )


_HRNET_OLD = _MMPOSE + "top_down/hrnet/"
#: Approximate fp32 file sizes (MB) of the HRNet pose networks (28.5M and 63.6M parameters).
_HRNET_MB = {32: 110, 48: 244}
_HRNET_OFFICIAL = (
    "the official HRNet release (github.com/leoxiaobin/deep-high-resolution-net.pytorch, README "
    "'Download pretrained models': GoogleDrive / OneDrive folder models/pytorch/"
)


def _hrnet(width: int, size: tuple[int, int], url: str, ap: float, variant: str = "") -> ModelRow:
    """An mmpose HRNet COCO row; `variant` "" (plain), "dark" or "udp" (its decoder and metafile)."""
    digest = _mmpose_digest(url)
    return ModelRow(
        name=f"coco-hrnet-w{width}{'-' + variant if variant else ''}-{_SIZES[size]}",
        urls=(url,),
        sha256=digest,
        input_size=size,
        decoder=variant or "mmpose",
        metric=f"COCO val AP {ap:.1f}",
        reported=_MMPOSE_ZOO + f"coco/hrnet{'_' + variant if variant else ''}_coco.yml",
        approx_mb=_HRNET_MB[width],
    )


def _hrnet_official(dataset: str, width: int, size: tuple[int, int], metric: str) -> ModelRow:
    return ModelRow(
        name=f"official-{dataset}-hrnet-w{width}-{_SIZES[size]}",
        format="official",
        color="rgb",
        decoder="paper",
        input_size=size,
        skeleton=dataset,
        metric=metric,
        approx_mb=_HRNET_MB[width],
        reported="github.com/leoxiaobin/deep-high-resolution-net.pytorch README",
        manual=_HRNET_OFFICIAL + f"pose_{dataset}/pose_hrnet_w{width}_{_SIZES[size]}.pth)",
    )


BUILTIN: tuple[ModelRow, ...] = (
    _mm(50, (192, 256), _COCO1 + "td-hm_res50_8xb64-210e_coco-256x192-04af38ce_20220923.pth", 71.8),
    _mm(50, (288, 384), _COCO1 + "td-hm_res50_8xb64-210e_coco-384x288-7b8db90e_20220923.pth", 73.1),
    _mm(101, (192, 256), _COCO1 + "td-hm_res101_8xb64-210e_coco-256x192-065d3625_20220926.pth", 72.8),
    _mm(101, (288, 384), _OLD + "res101_coco_384x288-8c71bdc9_20200709.pth", 74.9),
    _mm(152, (192, 256), _COCO1 + "td-hm_res152_8xb32-210e_coco-256x192-0345f330_20220928.pth", 73.6),
    _mm(152, (288, 384), _COCO1 + "td-hm_res152_8xb32-210e_coco-384x288-7fbb906f_20220927.pth", 75.0),
    _mm(50, (192, 256), _COCO1 + "td-hm_res50_dark-8xb64-210e_coco-256x192-c129dcb6_20220926.pth", 72.4, True),
    _mm(50, (288, 384), _COCO1 + "td-hm_res50_dark-8xb64-210e_coco-384x288-8b90b538_20220926.pth", 73.5, True),
    _mm(101, (192, 256), _COCO1 + "td-hm_res101_dark-8xb64-210e_coco-256x192-528ec248_20220926.pth", 73.3, True),
    _mm(101, (288, 384), _COCO1 + "td-hm_res101_dark-8xb64-210e_coco-384x288-487d40a4_20220926.pth", 74.9, True),
    _mm(152, (192, 256), _COCO1 + "td-hm_res152_dark-8xb32-210e_coco-256x192-f754df5f_20221031.pth", 74.3, True),
    _mm(152, (288, 384), _COCO1 + "td-hm_res152_dark-8xb32-210e_coco-384x288-329f8454_20221031.pth", 75.7, True),
    *(
        ModelRow(
            name=f"mpii-res{d}-256x256",
            urls=(f"{_OLD}res{d}_mpii_256x256-{h}_20200812.pth",),
            sha256=h,
            input_size=(256, 256),
            skeleton="mpii",
            metric=f"MPII val PCKh@0.5 {p}",
            reported=_MMPOSE_ZOO + "mpii/resnet_mpii.yml",
            approx_mb=_MB[d],
        )
        for d, h, p in ((50, "418ffc88", 88.2), (101, "416f5d71", 88.8), (152, "3ecba29d", 88.9))
    ),
    ModelRow(
        name="posetrack18-res50-256x192",
        urls=(_OLD + "res50_posetrack18_256x192-a62807c7_20201028.pth",),
        sha256="a62807c7",
        skeleton="posetrack",
        metric="PoseTrack18 val mAP 81.2 (GT boxes)",
        reported=_MMPOSE_ZOO + "posetrack18/resnet_posetrack18.yml",
        approx_mb=_MB[50],
    ),
    *(
        ModelRow(
            name=f"resnet{d}",
            urls=(f"{_TV}resnet{d}-{h}.pth",),
            sha256=h,
            format="torchvision",
            skeleton="",
            decoder="",
            input_size=(224, 224),
            metric=f"ImageNet top-1 {t}",
            reported=f"torchvision ResNet{d}_Weights.IMAGENET1K_V1",
            approx_mb=mb,
        )
        for d, h, t, mb in (
            (18, "f37072fd", 69.758, 45),
            (34, "b627a593", 73.314, 84),
            (50, "0676ba61", 76.130, 98),
            (101, "63fe2227", 77.374, 171),
            (152, "394f9c45", 78.312, 231),
        )
    ),
    _official("coco", 50, (192, 256), "COCO val AP 70.4"),
    _official("coco", 50, (288, 384), "COCO val AP 72.2"),
    _official("coco", 101, (192, 256), "COCO val AP 71.4"),
    _official("coco", 101, (288, 384), "COCO val AP 73.6"),
    _official("coco", 152, (192, 256), "COCO val AP 72.0"),
    _official("coco", 152, (288, 384), "COCO val AP 74.3"),
    _official("mpii", 50, (256, 256), "MPII val PCKh@0.5 88.5"),
    _official("mpii", 101, (256, 256), "MPII val PCKh@0.5 89.1"),
    _official("mpii", 152, (256, 256), "MPII val PCKh@0.5 89.6"),
    _hrnet(32, (192, 256), _HRNET_OLD + "hrnet_w32_coco_256x192-c78dce93_20200708.pth", 74.6),
    _hrnet(32, (288, 384), _HRNET_OLD + "hrnet_w32_coco_384x288-d9f0d786_20200708.pth", 76.0),
    _hrnet(48, (192, 256), _HRNET_OLD + "hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth", 75.6),
    _hrnet(48, (288, 384), _HRNET_OLD + "hrnet_w48_coco_384x288-314c8528_20200708.pth", 76.7),
    _hrnet(32, (192, 256), _COCO1 + "td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192-0e00bf12_20220914.pth", 75.7, "dark"),
    _hrnet(32, (288, 384), _COCO1 + "td-hm_hrnet-w32_dark-8xb64-210e_coco-384x288-9bab4c9b_20220917.pth", 76.6, "dark"),
    _hrnet(48, (192, 256), _COCO1 + "td-hm_hrnet-w48_dark-8xb32-210e_coco-256x192-e1ebdd6f_20220913.pth", 76.4, "dark"),
    _hrnet(48, (288, 384), _COCO1 + "td-hm_hrnet-w48_dark-8xb32-210e_coco-384x288-39c3c381_20220916.pth", 77.2, "dark"),
    _hrnet(32, (192, 256), _COCO1 + "td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192-73ede547_20220914.pth", 76.2, "udp"),
    _hrnet(32, (288, 384), _COCO1 + "td-hm_hrnet-w32_udp-8xb64-210e_coco-384x288-9a3f7c85_20220914.pth", 76.8, "udp"),
    _hrnet(48, (192, 256), _COCO1 + "td-hm_hrnet-w48_udp-8xb32-210e_coco-256x192-3feaef8f_20220913.pth", 76.8, "udp"),
    _hrnet(48, (288, 384), _COCO1 + "td-hm_hrnet-w48_udp-8xb32-210e_coco-384x288-70d7ab01_20220913.pth", 77.3, "udp"),
    *(
        ModelRow(
            name=f"mpii-hrnet-w{w}-256x256",
            urls=(f"{_HRNET_OLD}hrnet_w{w}_mpii_256x256-{h}_20200812.pth",),
            sha256=h,
            input_size=(256, 256),
            skeleton="mpii",
            metric=f"MPII val PCKh@0.5 {p}",
            reported=_MMPOSE_ZOO + "mpii/hrnet_mpii.yml",
            approx_mb=_HRNET_MB[w],
        )
        for w, h, p in ((32, "6c4f923f", 90.0), (48, "92cab7bd", 90.1))
    ),
    *(
        ModelRow(
            name=f"hrnet_w{w}",
            urls=(f"{_MMPOSE}pretrain_models/hrnet_w{w}-{h}.pth",),
            sha256=h,
            format="imagenet",
            skeleton="",
            decoder="",
            input_size=(224, 224),
            metric="ImageNet-pretrained HRNet (classification head skipped)",
            reported="mmpose configs' init_cfg (open-mmlab pretrain_models)",
            approx_mb=mb,
        )
        for w, h, mb in ((32, "36af842e", 164), (48, "8ef0771d", 310))
    ),
    _hrnet_official("coco", 32, (192, 256), "COCO val AP 74.4"),
    _hrnet_official("coco", 32, (288, 384), "COCO val AP 75.8"),
    _hrnet_official("coco", 48, (192, 256), "COCO val AP 75.1"),
    _hrnet_official("coco", 48, (288, 384), "COCO val AP 76.3"),
    _hrnet_official("mpii", 32, (256, 256), "MPII val PCKh@0.5 90.3"),
    _hrnet_official("mpii", 48, (256, 256), "MPII val PCKh@0.5 (not in the README's table)"),
    _yolox("nano", "40f6f0d0", 416),
    _yolox("tiny", "6f3252f9", 416, "ceb11c07298f95c50d7c5abeb906d03340c85f23aa79e3e66966e7fb6c307250", 20),
    _yolox("s", "3ef259a7", 640),
    _yolox("m", "c2c7a14a", 640, "3dea6513388889f0fff4b77bf7a26013600321b9eb9ceb0e9a400a82572f5f23", 97),
    _yolox("l", "ce1d7a62", 640),
    _yolox("x", "a39d44ed", 640),
)


def rows() -> list[ModelRow]:
    """The built-in rows, with `$SIMPLEPOSE_MODELS`'s rows added or replacing by name."""
    table: dict[str, ModelRow] = {r.name: r for r in BUILTIN}
    extra = os.environ.get(MODELS_ENV)
    if extra:
        for row in read_rows(extra):
            table[row.name] = row
    return list(table.values())


def get_row(name: str) -> ModelRow:
    """The row called `name`; an unknown name is one line listing the similar ones."""
    table = {r.name: r for r in rows()}
    if name in table:
        return table[name]
    raise ZooError(f"no model named {name!r}{did_you_mean(name, table)} (`simplepose models` lists the zoo)")


def read_rows(path: str) -> list[ModelRow]:
    """Rows from a YAML list (the `$SIMPLEPOSE_MODELS` file); errors name the file, row and field."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ZooError(f"{MODELS_ENV}={path}: file not found") from None
    except (OSError, yaml.YAMLError) as e:
        raise ZooError(f"{MODELS_ENV}={path}: cannot read it as YAML ({' '.join(str(e).split())[:200]})") from None
    if not isinstance(data, list):
        raise ZooError(f"{path}: expected a YAML list of rows (- name: ...), got {type(data).__name__}")
    return [_row_from_dict(item, f"{path}: row {i + 1}") for i, item in enumerate(data)]


def _row_from_dict(item: Any, where: str) -> ModelRow:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ZooError(f"{where}: a row is a mapping with a non-empty 'name'")
    where = f"{where} ({item['name']})"
    fields = {f.name: f for f in dataclasses.fields(ModelRow)}
    unknown = sorted(set(item) - set(fields))
    if unknown:
        raise ZooError(f"{where}: unknown {plural(len(unknown), 'field')} {unknown}; known: {sorted(fields)}")
    values: dict[str, Any] = {}
    for key, value in item.items():
        if key == "urls":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(
                isinstance(u, str) and urlparse(u).scheme in ("http", "https") for u in value
            ):
                raise ZooError(f"{where}: field 'urls' must be a list of http(s) URLs, got {value!r}")
            value = tuple(value)
        elif key == "input_size":
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)):
                raise ZooError(f"{where}: field 'input_size' must be [width, height], got {value!r}")
            value = (value[0], value[1])
        elif key in ("size",):
            if not isinstance(value, int) or value < 0:
                raise ZooError(f"{where}: field 'size' must be a byte count, got {value!r}")
        elif key == "approx_mb":
            value = float(value)
        elif value is None:
            value = ""
        else:
            value = str(value)
        values[key] = value
    row = ModelRow(**values)
    if row.format not in FORMATS:
        raise ZooError(f"{where}: field 'format' must be one of {', '.join(FORMATS)}, got {row.format!r}")
    for key in ("sha256", "member_sha256"):
        digest = getattr(row, key)
        if digest and not _HEX.match(digest):
            raise ZooError(f"{where}: field {key!r} must be 8 to 64 lowercase hex digits, got {digest!r}")
    if row.color not in ("rgb", "bgr"):
        raise ZooError(f"{where}: field 'color' must be rgb or bgr, got {row.color!r}")
    if not row.urls and not row.manual:
        raise ZooError(f"{where}: give 'urls' (or 'manual': where to get the file by hand)")
    return row
