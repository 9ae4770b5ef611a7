"""Training logs: `metrics.jsonl` always (one JSON object a line), TensorBoard when installed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append scalars to `<out>/metrics.jsonl` and, if `tensorboard` is importable, to TensorBoard.

    Only the main process should create one (others pass `enabled=False`).
    """

    def __init__(self, out_dir: Path, enabled: bool = True, append: bool = False) -> None:
        """`append` continues an existing log (a resumed run); otherwise a new run starts it anew."""
        self.enabled = enabled
        self.path = Path(out_dir) / "metrics.jsonl"
        self.writer: Any | None = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not append:
            self.path.unlink(missing_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(out_dir) / "tb"))
        except ImportError:  # tensorboard is optional: say so once, with the extra that adds it
            self.writer = None
            print(
                f"TensorBoard logs off: tensorboard is not installed (`pip install 'simplepose[tensorboard]'`); "
                f"metrics go to {self.path}"
            )

    def write(self, step: int, tag: str, values: dict[str, Any]) -> None:
        """One line {"tag": tag, "step": step, **values}; numbers also go to TensorBoard."""
        if not self.enabled:
            return
        line = {"tag": tag, "step": int(step), **values}
        with open(self.path, "a") as f:
            f.write(json.dumps(line) + "\n")
        if self.writer is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    self.writer.add_scalar(f"{tag}/{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(path: Path) -> list:
    """All lines of a metrics.jsonl file as dicts."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
