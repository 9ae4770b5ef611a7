"""CUDA images/s of the eager, fast and auto runtimes (network alone, heatmaps copied back to
the host as the predictor needs them) for R18 and R50 at 256x192, and each one's largest
relative heatmap difference from eager fp32 (random weights).

    PYTHONPATH=src python benchmarks/runtimes_cuda.py

`simplepose bench` measures the CPU runtimes only; this is its CUDA counterpart for the network.
Each figure is one 1.5-second window after 5 warm-up calls: run it alone on the GPU.
"""

import time

import torch

from simplepose.nets.model import PoseResNet
from simplepose.runtimes import RuntimeSpec, build_runtime

torch.manual_seed(0)
print("device", torch.cuda.get_device_name(0), "torch", torch.__version__, flush=True)
for depth in (18, 50):
    m = PoseResNet(depth=depth, num_joints=17).eval().cuda()
    x16 = torch.randn(16, 3, 256, 192, device="cuda")
    with torch.no_grad():
        ref = m(x16).float().cpu().numpy()
    for name in ("eager", "fast", "auto"):
        rt = build_runtime(name, m, RuntimeSpec((192, 256), device="cuda", batch_size=32))
        out = rt.runner(x16)
        err = float(abs(out - ref).max() / (abs(ref).max() + 1e-12))
        for b in (1, 16, 64):
            x = torch.randn(b, 3, 256, 192, device="cuda")
            for _ in range(5):
                rt.runner(x)
            torch.cuda.synchronize()
            n, t = 0, time.perf_counter()
            while time.perf_counter() - t < 1.5:
                rt.runner(x)
                n += 1
            rate = n * b / (time.perf_counter() - t)
            print(
                f"R{depth} {name} ({rt.name}, {rt.precision}) b{b}: {rate:.0f} img/s; "
                f"max rel err vs eager fp32 {err:.1e}",
                flush=True,
            )
