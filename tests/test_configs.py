from pathlib import Path

import pytest

from simplepose.config import ConfigError, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))

# The structure of the official experiments/coco/resnet50/256x192_d256x3_adam_lr1e-3.yaml,
# written by hand (values changed here and there so that the mapping is visible).
OFFICIAL = """\
GPUS: '0,1,2,3'
DATA_DIR: ''
OUTPUT_DIR: 'output'
LOG_DIR: 'log'
WORKERS: 6
PRINT_FREQ: 100
DATASET:
  DATASET: 'coco'
  ROOT: 'data/coco/'
  TEST_SET: 'val2017'
  TRAIN_SET: 'train2017'
  FLIP: true
  ROT_FACTOR: 35
  SCALE_FACTOR: 0.25
MODEL:
  NAME: 'pose_resnet'
  PRETRAINED: 'models/pytorch/imagenet/resnet101-5d3b4d8f.pth'
  IMAGE_SIZE:
  - 288
  - 384
  NUM_JOINTS: 17
  EXTRA:
    TARGET_TYPE: 'gaussian'
    HEATMAP_SIZE:
    - 72
    - 96
    SIGMA: 3
    FINAL_CONV_KERNEL: 1
    DECONV_WITH_BIAS: false
    NUM_DECONV_LAYERS: 3
    NUM_DECONV_FILTERS: [256, 256, 256]
    NUM_DECONV_KERNELS: [4, 4, 4]
    NUM_LAYERS: 101
LOSS:
  USE_TARGET_WEIGHT: true
TRAIN:
  BATCH_SIZE: 24
  SHUFFLE: true
  BEGIN_EPOCH: 0
  END_EPOCH: 150
  RESUME: false
  OPTIMIZER: 'adam'
  LR: 0.002
  LR_FACTOR: 0.2
  LR_STEP:
  - 80
  - 110
  WD: 0.0001
  GAMMA1: 0.99
  GAMMA2: 0.0
  MOMENTUM: 0.9
  NESTEROV: false
TEST:
  BATCH_SIZE: 16
  COCO_BBOX_FILE: 'data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json'
  BBOX_THRE: 1.0
  FLIP_TEST: true
  IMAGE_THRE: 0.1
  IN_VIS_THRE: 0.2
  MODEL_FILE: ''
  NMS_THRE: 1.0
  OKS_THRE: 0.9
  USE_GT_BBOX: false
DEBUG:
  DEBUG: true
  SAVE_BATCH_IMAGES_GT: true
"""


def test_paper_configs_exist_and_load():
    names = {f"{p.parent.name}/{p.stem}" for p in CONFIGS}
    for d in (50, 101, 152):
        assert {f"coco/res{d}_256x192", f"coco/res{d}_384x288", f"mpii/res{d}_256x256", f"mpii/res{d}_384x384"} <= names
    assert "posetrack/res50_256x192_finetune" in names
    for path in (p for p in CONFIGS if p.parent.name != "synthetic"):  # the demo's own recipe differs
        cfg = load_config(path)
        w, h = cfg.data.input_size
        assert tuple(cfg.data.heatmap_size) == (w // 4, h // 4), path
        assert cfg.data.sigma == (3.0 if h >= 384 else 2.0), path
        assert cfg.train.optimizer == "adam" and cfg.train.weight_decay == 0.0
        if cfg.model.backbone == "hrnet":  # the HRNet authors' recipe: RGB, 210 epochs
            assert f"hrnet_w{cfg.model.hrnet_width}_{h}x{w}" == path.stem, path
            assert cfg.data.color == "rgb" and cfg.data.half_body and cfg.model.pretrained == path.stem[:9]
            assert (cfg.train.lr, cfg.train.lr_steps, cfg.train.epochs) == (1e-3, (170, 200), 210)
            continue
        assert str(cfg.model.depth) in path.stem and f"{h}x{w}" in path.stem, path
        assert cfg.data.color == "bgr"  # the official checkpoints' pixel order
        if path.parent.name == "posetrack":
            assert (cfg.train.lr, cfg.train.lr_steps, cfg.train.epochs) == (1e-4, (10, 15), 20) and cfg.train.init_from
        else:
            assert (cfg.train.lr, cfg.train.lr_steps, cfg.train.epochs) == (1e-3, (90, 120), 140)
            assert cfg.model.num_joints == (17 if path.parent.name == "coco" else 16)


def test_command_line_override():
    cfg = load_config(CONFIGS[0], ["train.lr=5e-4", "data.input_size=[96,128]"])
    assert cfg.train.lr == 5e-4 and cfg.data.input_size == (96, 128)


def test_official_experiment_file_is_mapped(tmp_path):
    p = tmp_path / "256x192_d256x3_adam_lr1e-3.yaml"
    p.write_text(OFFICIAL)
    cfg = load_config(p, ["train.epochs=3"])
    assert (cfg.model.depth, cfg.model.num_joints, cfg.model.deconv_filters, cfg.model.deconv_kernels) == (
        101,
        17,
        256,
        4,
    )
    assert cfg.model.pretrained.endswith("resnet101-5d3b4d8f.pth")
    assert cfg.data.input_size == (288, 384) and cfg.data.heatmap_size == (72, 96) and cfg.data.sigma == 3.0
    assert (cfg.data.rotation_factor, cfg.data.scale_factor, cfg.data.workers) == (35.0, 0.25, 6)
    assert cfg.data.root == "data/coco/" and cfg.data.train_ann == "annotations/person_keypoints_train2017.json"
    assert cfg.data.val_images == "images/val2017"
    assert (cfg.train.batch_size, cfg.train.lr, cfg.train.lr_factor, cfg.train.lr_steps) == (24, 0.002, 0.2, (80, 110))
    assert cfg.train.epochs == 3  # overrides apply after the mapping
    assert cfg.train.weight_decay == 0.0  # the official Adam ignores WD
    assert cfg.test.flip_test and not cfg.test.use_gt_boxes and cfg.test.det_score_thresh == 0.1
    assert cfg.test.detections.endswith("AP_H_56_person.json") and cfg.test.batch_size == 16


def test_official_mpii_layout(tmp_path):
    text = (
        OFFICIAL.replace("DATASET: 'coco'", "DATASET: mpii")
        .replace("'val2017'", "valid")
        .replace("'train2017'", "train")
    )
    p = tmp_path / "mpii.yaml"
    p.write_text(text.replace("NUM_JOINTS: 17", "NUM_JOINTS: 16"))
    cfg = load_config(p)
    assert (
        cfg.data.dataset == "mpii"
        and cfg.data.train_ann == "annot/train.json"
        and cfg.data.val_ann == "annot/valid.json"
    )


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("LOSS:\n", "LOSS:\n  SURPRISE: 1\n", "unknown key LOSS.SURPRISE"),
        ("TARGET_TYPE: 'gaussian'", "TARGET_TYPE: 'offset'", "TARGET_TYPE"),
        ("NUM_DECONV_FILTERS: [256, 256, 256]", "NUM_DECONV_FILTERS: [256, 128, 256]", "differ"),
    ],
)
def test_official_file_errors(tmp_path, old, new, message):
    p = tmp_path / "x.yaml"
    p.write_text(OFFICIAL.replace(old, new))
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_override_types_are_checked():
    cfg = load_config(None, ["train.epochs=12", "train.lr=5e-4", "data.input_size=[288,384]"])
    assert cfg.train.epochs == 12 and isinstance(cfg.train.epochs, int) and cfg.train.lr == 5e-4
    assert cfg.data.input_size == (288, 384)
    for bad in ("train.epochs=1.5", "train.lr=fast", "test.flip_test=3"):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            load_config(None, [bad])


def test_collapse_per_layer():
    from simplepose.core.per_layer import collapse_per_layer

    assert collapse_per_layer([256, 256, 256]) == 256 and collapse_per_layer((4,)) == 4
    assert collapse_per_layer([256, 128, 256]) == [256, 128, 256]
    assert collapse_per_layer([], 256) == 256 and collapse_per_layer([]) == []


def test_official_per_layer_lists_become_one_value(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text(
        OFFICIAL.replace("NUM_DECONV_FILTERS: [256, 256, 256]", "NUM_DECONV_FILTERS: [128, 128, 128]").replace(
            "NUM_DECONV_KERNELS: [4, 4, 4]", "NUM_DECONV_KERNELS: 3"
        )
    )  # a scalar is one layer's value
    cfg = load_config(p)
    assert cfg.model.deconv_filters == 128 and cfg.model.deconv_kernels == 3


def test_choice_settings_match_their_registries_and_are_checked_with_the_config():
    from simplepose.config import CHOICES, ConfigError, check_overrides
    from simplepose.core.codec import DECODERS, ENCODINGS
    from simplepose.tracking.tracker import SIMILARITIES

    assert sorted(CHOICES["data.encoding"]) == sorted(ENCODINGS)
    assert sorted(CHOICES["test.decoder"]) == sorted(DECODERS)
    assert sorted(CHOICES["track.similarity"]) == sorted(SIMILARITIES)
    with pytest.raises(ConfigError, match=r"--set: test.decoder: 'dork' is not one of .*; did you mean dark\?"):
        check_overrides(["test.decoder=dork"])
    check_overrides(["test.decoder=udp-dark", "track.similarity=box_iou", "data.encoding=udp"])
