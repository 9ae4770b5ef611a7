"""Training engine on the 4 real COCO images: overfitting, resume after a kill, AMP, failures."""

import json
import math

import pytest
import torch
from conftest import REAL_DATA as REAL

from simplepose import engine
from simplepose.config import config_from_dict
from simplepose.nets.weights import read_weights_file as read_checkpoint  # the safe loader must read them

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not found at {REAL}")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on the shared 2-core machine that is several times faster than two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(side=64, **train):
    """R18 at width 16 with a 32-filter head (the CLI tests' tiny model) at side x side input, no
    augmentation: a fraction of a second per epoch on CPU. What is checked here is the engine's
    bookkeeping (schedules, resume, logs, checkpoints), which the network's width does not change;
    at width 16 the loss still falls on every step of the overfitting run (to 0.60 of the first)."""
    return config_from_dict(
        {
            "model": {"depth": 18, "width": 16, "num_joints": 17, "deconv_filters": 32},
            "data": {
                "root": str(REAL / "coco"),
                "train_ann": "test_coco.json",
                "train_images": ".",
                "input_size": [side, side],
                "heatmap_size": [side // 4, side // 4],
                "sigma": 2.0,
                "workers": 0,
                "cache_images": True,
                "scale_factor": 0.0,
                "rotation_prob": 0.0,
                "flip": False,
            },
            "train": {"batch_size": 16, "val_every": 0, "log_every": 1, **train},
        }
    )


def test_overfitting_drives_the_loss_down_steadily(tmp_path):
    losses = []
    result = engine.train(tiny_config(epochs=8), tmp_path, step_callback=lambda e, i, loss: losses.append(loss))
    assert len(losses) == 8 and result["epochs"] == 8
    rises = sum(b > a for a, b in zip(losses, losses[1:]))
    assert rises <= 1, losses
    assert losses[-1] < 0.75 * losses[0], losses
    lines = [json.loads(rec) for rec in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [rec["loss"] for rec in lines if rec["tag"] == "train"] == pytest.approx(losses)
    assert {"loss", "lr", "samples_per_s"} <= set(lines[0]) and lines[-1]["tag"] == "done"
    assert (tmp_path / "last.pth").exists() and (tmp_path / "config.yaml").exists()


class Killed(Exception):
    pass


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    cfg = tiny_config(32, epochs=2, batch_size=7, lr_steps=[1], lr_factor=0.5, warmup_epochs=1.0)
    engine.train(cfg, tmp_path / "ref")

    def kill(epoch, it, loss):
        if (epoch, it) == (1, 0):  # mid-epoch 2: after its first step, before its checkpoint
            raise Killed

    with pytest.raises(Killed):
        engine.train(cfg, tmp_path / "run", step_callback=kill)
    ckpt = read_checkpoint(tmp_path / "run" / "last.pth")
    assert ckpt["epoch"] == 1 and ckpt["step"] == 2
    assert ckpt["scheduler"]["last_epoch"] == 1 and ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)
    assert all(s["step"] == 2 for s in ckpt["optimizer"]["state"].values())  # Adam's step counts

    resumed = []
    engine.train(cfg, tmp_path / "run", resume=True, step_callback=lambda e, i, loss: resumed.append((e, loss)))
    assert [e for e, _ in resumed] == [1, 1]
    ref, run = read_checkpoint(tmp_path / "ref" / "last.pth"), read_checkpoint(tmp_path / "run" / "last.pth")
    for k, v in ref["state_dict"].items():
        assert torch.allclose(v.float(), run["state_dict"][k].float(), atol=1e-6), k
    assert run["scheduler"]["last_epoch"] == 2 and run["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)
    lines = [json.loads(rec) for rec in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    lrs = [rec["lr"] for rec in lines if rec["tag"] == "train"]
    assert lrs == pytest.approx([5e-4, 1e-3, 5e-4, 5e-4])  # warm-up over epoch 1, then x0.5 at epoch 2


def test_bf16_autocast_on_cpu(tmp_path):
    losses = []

    def one_step(epoch, it, loss):
        losses.append(loss)
        raise Killed

    with pytest.raises(Killed):
        engine.train(tiny_config(32, epochs=1, batch_size=4, amp="bf16"), tmp_path, step_callback=one_step)
    assert len(losses) == 1 and 0 < losses[0] < 1
    with pytest.raises(ValueError, match="fp16"):
        engine.train(tiny_config(32, epochs=1, amp="fp16"), tmp_path / "x", device="cpu")


def test_non_finite_loss_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "build_loss", lambda tc: lambda p, t, w: p.float().mean() * float("nan"))
    with pytest.raises(
        FloatingPointError, match=r"non-finite loss nan at epoch 1, step 1 of 1 \(step 1 of the run\)"
    ) as e:
        engine.train(tiny_config(32, epochs=1), tmp_path)
    assert isinstance(e.value, ValueError)  # what the command line reports as one line


def test_loss_read_a_step_late_changes_only_when_it_is_read(tmp_path, monkeypatch):
    """On CUDA the loss is read one step late (engine.LOSS_READ_LAG, so the host queues the next
    step meanwhile): the same losses, log lines and callbacks in the same order, and a
    non-finite loss still names its own step."""
    cfg = tiny_config(32, epochs=2, batch_size=2)

    def run(out):
        seen = []
        engine.train(cfg, out, step_callback=lambda e, i, loss: seen.append((e, i, loss)))
        lines = [json.loads(rec) for rec in (out / "metrics.jsonl").read_text().splitlines()]
        return seen, [(rec["step"], rec["loss"], rec["lr"]) for rec in lines if rec["tag"] == "train"]

    now = run(tmp_path / "now")
    monkeypatch.setattr(engine, "LOSS_READ_LAG", {"cpu": 1})
    assert run(tmp_path / "late") == now and len(now[0]) > 2
    calls, seen = [], []

    def nan_at_second(p, t, w):
        calls.append(1)
        return p.float().mean() * (float("nan") if len(calls) == 2 else 1.0)

    monkeypatch.setattr(engine, "build_loss", lambda tc: nan_at_second)
    with pytest.raises(
        FloatingPointError, match=r"non-finite loss nan at epoch 1, step 2 of \d+ \(step 2 of the run\)"
    ):
        engine.train(cfg, tmp_path / "nan", step_callback=lambda e, i, loss: seen.append(i))
    assert seen == [0] and len(calls) == 3  # step 3 was queued before step 2's loss was read


def test_augmentation_starts_at_its_fraction_of_the_run(tmp_path, monkeypatch):
    import dataclasses

    from simplepose.data.dataset import TopDownDataset

    calls, set_epoch = [], TopDownDataset.set_epoch
    monkeypatch.setattr(
        TopDownDataset,
        "set_epoch",
        lambda self, e, augment=True: (calls.append((e, augment)), set_epoch(self, e, augment)),
    )
    cfg = tiny_config(32, epochs=4, batch_size=8)
    engine.train(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, augment_from=0.5)), tmp_path / "a")
    assert calls == [(0, False), (1, False), (2, True), (3, True)]
    with pytest.raises(ValueError, match=r"data.augment_from = 1.0 is not a fraction"):
        engine.train(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, augment_from=1.0)), tmp_path / "b")


def test_joint_count_mismatch_is_an_error(tmp_path):
    cfg = tiny_config(epochs=1)
    import dataclasses

    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, num_joints=16))
    with pytest.raises(ValueError, match="num_joints = 16 but the training data has 17"):
        engine.train(cfg, tmp_path)


class FakeClock:
    """`time.monotonic` for budget.py: every reading moves the clock on by `tick` seconds."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 1000.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_a_time_budget_anneals_the_schedule_on_the_clock_and_validates_four_times(tmp_path, monkeypatch):
    """A slow machine (every clock reading 0.5 s on) with a 6 s budget and 40 epochs: the cosine
    follows the time spent, reaches ~0 as the budget ends, the run stops there, validates at
    four points of the run, and the last checkpoint knows the time spent (for a resume)."""
    import dataclasses
    import sys
    import types

    from simplepose import budget

    monkeypatch.setattr(budget.time, "monotonic", FakeClock(0.5))
    fake = types.ModuleType("simplepose.evaluation.runner")
    fake.evaluate_model = lambda model, cfg, device, out_dir=None, on_bad=None: {"AP": 0.1}
    monkeypatch.setitem(sys.modules, "simplepose.evaluation.runner", fake)
    cfg = tiny_config(32, epochs=40, max_minutes=0.1, lr=1e-3, lr_schedule="cosine", val_every=1)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, val_ann="test_coco.json", val_images="."))
    result = engine.train(cfg, tmp_path)
    lines = [json.loads(rec) for rec in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    lrs = [rec["lr"] for rec in lines if rec["tag"] == "train"]
    assert 3 <= result["epochs"] < 40  # the clock, not the epoch count, ended it
    assert lrs == sorted(lrs, reverse=True) and lrs[0] > 0.9e-3 and lrs[-1] < 0.1e-3  # annealed in time
    assert len([rec for rec in lines if rec["tag"] == "val"]) == 4  # at 1/4, 1/2, 3/4 and the end
    assert [rec["progress"] for rec in lines if rec["tag"] == "epoch"][-1] == 1.0
    last = read_checkpoint(tmp_path / "last.pth")
    assert last["epoch"] == result["epochs"] and last["spent_s"] >= 6.0


def test_without_a_budget_the_epochs_rule(tmp_path, monkeypatch):
    from simplepose import budget

    monkeypatch.setattr(budget.time, "monotonic", FakeClock(1000.0))  # no clock is read at all
    result = engine.train(tiny_config(32, epochs=2, lr_schedule="cosine"), tmp_path)
    assert result["epochs"] == 2 and "spent_s" not in read_checkpoint(tmp_path / "last.pth")


def test_validation_keeps_the_best_checkpoint(tmp_path, monkeypatch):
    """The evaluation runner is called every val_every epochs; best.pth follows the best AP."""
    import sys
    import types

    aps = iter([0.1, 0.3, 0.2])
    calls = []

    def evaluate_model(model, cfg, device, out_dir=None, on_bad=None):
        calls.append((model.training, str(device)))
        return {"AP": next(aps), "AP50": 0.5}

    fake = types.ModuleType("simplepose.evaluation.runner")
    fake.evaluate_model = evaluate_model
    monkeypatch.setitem(sys.modules, "simplepose.evaluation.runner", fake)
    cfg = tiny_config(32, epochs=3, val_every=1)
    import dataclasses

    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, val_ann="test_coco.json", val_images="."))
    result = engine.train(cfg, tmp_path)
    assert calls == [(False, "cpu")] * 3  # evaluated in eval mode
    assert result["best"] == {"metric": "AP", "value": 0.3, "epoch": 2}
    assert read_checkpoint(tmp_path / "best.pth")["epoch"] == 2
    assert read_checkpoint(tmp_path / "last.pth")["epoch"] == 3
    lines = [json.loads(rec) for rec in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [rec["AP"] for rec in lines if rec["tag"] == "val"] == [0.1, 0.3, 0.2]


def test_cosine_schedule_and_channels_last_training(tmp_path):
    cfg = tiny_config(32, epochs=3, batch_size=4, lr=1e-3, lr_schedule="cosine")
    plain = []
    engine.train(cfg, tmp_path / "plain", step_callback=lambda e, i, loss: plain.append(loss))
    lines = [json.loads(rec) for rec in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines()]
    lrs = {rec["epoch"]: rec["lr"] for rec in lines if rec["tag"] == "train"}
    assert [lrs[e] for e in (1, 2, 3)] == pytest.approx([1e-3, 0.75e-3, 0.25e-3])  # (1 + cos(pi e / 3)) / 2
    nhwc = []
    engine.train(
        tiny_config(32, epochs=3, batch_size=4, lr=1e-3, lr_schedule="cosine", channels_last=True),
        tmp_path / "nhwc",
        step_callback=lambda e, i, loss: nhwc.append(loss),
    )
    # The same arithmetic in another memory layout: the same run up to float rounding, which
    # Adam's normalised steps let grow a little over the run.
    assert nhwc[:3] == pytest.approx(plain[:3], rel=1e-3)
    assert nhwc == pytest.approx(plain, rel=0.05)
    ckpt = read_checkpoint(tmp_path / "nhwc" / "last.pth")
    assert ckpt["state_dict"]["conv1.weight"].is_contiguous(memory_format=torch.channels_last)


def test_a_finished_run_resumed_with_more_epochs_follows_the_longer_schedule(tmp_path):
    engine.train(tiny_config(32, epochs=2, batch_size=8, lr=1e-3, lr_schedule="cosine"), tmp_path)
    result = engine.train(tiny_config(32, epochs=4, batch_size=8, lr=1e-3, lr_schedule="cosine"), tmp_path, resume=True)
    assert result["epochs"] == 4
    lines = [json.loads(rec) for rec in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    lrs = {rec["epoch"]: rec["lr"] for rec in lines if rec["tag"] == "train"}
    # Epochs 1-2 on the 2-epoch cosine (1, 0.5), then epochs 3-4 on the 4-epoch one at its
    # epochs 2 and 3 (0.5, 0.146), not at the old schedule's end (0).
    half_cos = [(1 + math.cos(math.pi * e / 4)) / 2 for e in (2, 3)]
    assert [lrs[e] for e in (1, 2, 3, 4)] == pytest.approx([1e-3, 0.5e-3] + [1e-3 * f for f in half_cos])


def test_unknown_lr_schedule_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="lr_schedule = 'linear'"):
        engine.train(tiny_config(32, epochs=1, lr_schedule="linear"), tmp_path)


def test_init_from_takes_an_mmpose_checkpoint_as_predict_does(tmp_path):
    """mmpose's files prefix the keys (`backbone.`, `head.`); fine-tuning from one starts from
    exactly its weights, as `predict --checkpoint` reads them."""
    from simplepose.config import build_model_kwargs
    from simplepose.nets.model import PoseResNet

    path = tmp_path / "mmpose_style.pth"
    cfg = tiny_config(init_from=str(path))
    source = PoseResNet(**build_model_kwargs(cfg.model))
    head = ("deconv_layers.", "final_layer.")
    state = {("head." if k.startswith(head) else "backbone.") + k: v for k, v in source.state_dict().items()}
    torch.save({"meta": {"mmpose_version": "1.3.2"}, "state_dict": state}, path)
    model = engine.build_model(cfg, 17, resuming=False)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
