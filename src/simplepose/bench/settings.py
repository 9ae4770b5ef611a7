"""What `simplepose bench` measures (no heavy imports: the CLI parser reads the defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from ..demo import DemoSettings

#: Every runtime of `simplepose.runtimes.RUNTIMES`, and auto (kept here as names, so that
#: building the command line does not import torch; tests/test_bench.py checks they agree).
ALL_RUNTIMES: tuple[str, ...] = ("auto", "eager", "fast", "compile", "onnx", "onnx-int8", "openvino", "openvino-int8")


@dataclass(frozen=True)
class BenchSettings:
    """What `simplepose bench` measures. `runtimes` default: every runtime and auto."""

    out_dir: str = "runs/bench"
    quick: bool = False
    checkpoint: str = ""  # trained model for the accuracy figures (demo-like config), else random weights
    data_dir: str = ""  # an existing `simplepose synth` folder, else a small set is generated
    demo_config: str = DemoSettings().config
    models: tuple[str, ...] = ("r18", "r50", "hrnet-w32", "demo")
    runtimes: tuple[str, ...] = ALL_RUNTIMES
    compile: bool = True  # measure torch.compile (tens of seconds of warm-up per model)
    seed: int = 0
    threads: int = 0  # torch intra-op threads (ONNX Runtime follows); 0 = torch's default
