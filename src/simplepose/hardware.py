"""What this CPU can do fast, detected at run time (never assumed from the machine it was
written on): native bf16 arithmetic, int8 dot products (VNNI), AMX tiles.

bf16 autocast on a CPU without native bf16 instructions is emulated and measured 2-3x
*slower* than fp32 on this project's AVX-512 machines without `avx512_bf16`, so the fast
path uses it only where `native_bf16` is true.
"""
from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from typing import FrozenSet

import torch

#: /proc/cpuinfo flags that give bf16 matrix arithmetic in hardware (x86).
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
#: Flags that give int8 dot products (VNNI): what ONNX Runtime's int8 kernels want.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU as the runtimes see it."""

    model: str  # "Intel(R) Xeon(R) ..." or the platform's processor string
    capability: str  # torch.backends.cpu.get_cpu_capability(): "AVX512", "AVX2", "DEFAULT", ...
    flags: FrozenSet[str]  # the relevant /proc/cpuinfo flags found (empty where unreadable)
    native_bf16: bool  # bf16 in hardware: avx512_bf16 / amx_bf16
    vnni: bool  # int8 dot products in hardware

    @property
    def threads(self) -> int:
        """torch's intra-op threads now (not cached: a program may change it)."""
        return torch.get_num_threads()

    def summary(self) -> str:
        """One line: model, capability, the flags that matter, threads."""
        shown = sorted(self.flags & (BF16_FLAGS | VNNI_FLAGS | {"avx2", "avx512f"}))
        return (f"{self.model}; torch capability {self.capability}; flags {' '.join(shown) or '-'}; "
                f"native bf16 {'yes' if self.native_bf16 else 'no'}; int8 VNNI {'yes' if self.vnni else 'no'}; "
                f"{self.threads} threads")


def read_cpu_flags(path: str = "/proc/cpuinfo") -> FrozenSet[str]:
    """The first processor's `flags` line of /proc/cpuinfo as a set; empty where unreadable
    (macOS, Windows, a sandbox)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _cpu_model(path: str = "/proc/cpuinfo") -> str:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """Detect once per process. Where /proc/cpuinfo is unreadable nothing counts as native
    bf16 (fp32 is the safe default); torch's capability string ("AVX512", "AVX2", ...) says
    which vector kernels torch itself dispatches to and is reported beside the flags."""
    flags = read_cpu_flags()
    capability = torch.backends.cpu.get_cpu_capability()
    native_bf16 = bool(flags & BF16_FLAGS)
    return CpuFeatures(
        model=_cpu_model(), capability=capability, flags=flags & (BF16_FLAGS | VNNI_FLAGS | {"avx2", "avx512f"}),
        native_bf16=native_bf16, vnni=bool(flags & VNNI_FLAGS),
    )
