"""train.amp=auto: bf16 only where it is native (never emulated, never fp16)."""

import pytest
import torch

import simplepose.training.engine as engine
from simplepose.core.hardware import CpuFeatures


@pytest.mark.parametrize("native,want", [(True, "bf16"), (False, "")])
def test_amp_auto_on_cpu_follows_native_bf16(native, want, monkeypatch):
    monkeypatch.setattr(engine, "cpu_features", lambda: CpuFeatures("t", "AVX512", frozenset(), native, True))
    assert engine.resolve_amp("auto", torch.device("cpu")) == want
    assert engine.resolve_amp("fp16", torch.device("cpu")) == "fp16"  # an explicit choice stays
    assert engine.resolve_amp("", torch.device("cpu")) == ""


def test_amp_auto_trains_and_records_what_ran(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # numbers, not speed: one thread stays quick on busy cores
    try:
        run_tiny_training(tmp_path)
    finally:
        torch.set_num_threads(before)


def run_tiny_training(tmp_path):
    from simplepose.config import config_from_dict
    from simplepose.synthetic import generate_dataset

    generate_dataset(tmp_path / "d", 4, seed=0, val_fraction=0.0)
    cfg = config_from_dict(
        {
            "model": {"depth": 18, "width": 8, "deconv_filters": 16},
            "data": {
                "root": str(tmp_path / "d"),
                "train_ann": "annotations/train.json",
                "train_images": "images/train",
                "input_size": [32, 64],
                "heatmap_size": [8, 16],
                "workers": 0,
            },
            "train": {"epochs": 1, "batch_size": 8, "amp": "auto", "log_every": 0},
        }
    )
    result = engine.train(cfg, tmp_path / "run")
    written = (tmp_path / "run" / "config.yaml").read_text()
    assert result["epochs"] == 1 and "amp: auto" not in written
    assert f"amp: {engine.resolve_amp('auto', torch.device('cpu')) or chr(39) * 2}" in written
