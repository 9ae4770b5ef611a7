"""What this machine can run, detected at run time (never assumed from the machine it was
written on): the devices this torch reaches (`check_device`, `check_precision`), and what the
CPU does fast: native bf16 arithmetic, int8 dot products (VNNI), AMX tiles.

bf16 autocast on a CPU without native bf16 instructions is emulated and measured 2-3x
*slower* than fp32 on this project's AVX-512 machines without `avx512_bf16`, so the fast
path uses it only where `native_bf16` is true.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass

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
    flags: frozenset[str]  # the relevant /proc/cpuinfo flags found (empty where unreadable)
    native_bf16: bool  # bf16 in hardware: avx512_bf16 / amx_bf16
    vnni: bool  # int8 dot products in hardware

    @property
    def threads(self) -> int:
        """torch's intra-op threads now (not cached: a program may change it)."""
        return torch.get_num_threads()

    def summary(self) -> str:
        """One line: model, capability, the flags that matter, threads."""
        shown = sorted(self.flags & (BF16_FLAGS | VNNI_FLAGS | {"avx2", "avx512f"}))
        return (
            f"{self.model}; torch capability {self.capability}; flags {' '.join(shown) or '-'}; "
            f"native bf16 {'yes' if self.native_bf16 else 'no'}; int8 VNNI {'yes' if self.vnni else 'no'}; "
            f"{self.threads} threads"
        )


def read_cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
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
        model=_cpu_model(),
        capability=capability,
        flags=flags & (BF16_FLAGS | VNNI_FLAGS | {"avx2", "avx512f"}),
        native_bf16=native_bf16,
        vnni=bool(flags & VNNI_FLAGS),
    )


class DeviceError(ValueError):
    """A device or precision this machine cannot run; one line saying what is there instead."""


def available_devices() -> list[str]:
    """The devices this torch runs on here: "cpu", then "cuda:0" ... and "mps" where present."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def default_device() -> str:
    """cuda where a CUDA GPU is visible, else cpu."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(text: str | None, what: str = "--device") -> str:
    """`text` if this machine can run it (or the default device when `text` is empty), else a
    DeviceError naming it and the devices that are here; `what` is how the caller spells the
    setting ("--device", "device="). Nothing is allocated on the device: a cheap check that
    runs before any download, model load or output folder."""
    if not text:
        return default_device()
    here = f"; devices here: {', '.join(available_devices())}"
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise DeviceError(f"{what} {text}: not a device name (cpu, cuda, cuda:N, mps){here}") from None
    problem = _device_problem(device)
    if problem:
        raise DeviceError(f"{what} {text}: {problem}{here}")
    return text


def _device_problem(device: torch.device) -> str:
    if device.type == "cpu":
        return ""
    if device.type == "cuda":
        if torch.version.cuda is None and torch.version.hip is None:
            return "this torch has no CUDA (CPU build)"
        if not torch.cuda.is_available():
            hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
            return (
                f"no CUDA GPU visible (CUDA_VISIBLE_DEVICES={hidden!r})"
                if hidden is not None
                else f"no CUDA GPU found (torch {torch.__version__})"
            )
        count = torch.cuda.device_count()
        return f"there is no GPU {device.index} ({count} CUDA GPU(s) here)" if (device.index or 0) >= count else ""
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_built():
            return "this torch has no MPS (Apple GPU) support"
        return "" if mps.is_available() else "MPS is not available on this machine"
    module = getattr(torch, device.type, None)
    available = getattr(module, "is_available", None)
    return "" if callable(available) and available() else f"this torch cannot run on {device.type} here"


def check_precision(precision: str | None, device: str, what: str = "--precision") -> None:
    """A DeviceError when `device` cannot run `precision` ("bf16" / "fp16" autocast; None is
    fp32, which runs everywhere). bf16 on a CUDA GPU needs compute capability 8 (Ampere) or newer."""
    kind = torch.device(device).type
    if precision == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(
            f"{what} bf16: {torch.cuda.get_device_name(torch.device(device))} has no bf16; use fp16 or fp32"
        )
    if precision and kind not in ("cpu", "cuda"):
        raise DeviceError(f"{what} {precision}: runs on cpu and cuda, not on {kind}; use fp32")
