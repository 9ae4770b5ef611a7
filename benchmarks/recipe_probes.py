"""Recipe probes: `simplepose train` runs from scratch that differ from a base config in one or
two settings, each scored on the same val with GT boxes, to choose a recipe by AP per CPU-minute.

    python benchmarks/recipe_probes.py --base configs/synthetic/res18_96x64.yaml --out runs/probes \\
        --probe base \\
        --probe input_64x48 data.input_size=[48,64] data.heatmap_size=[12,16] train.epochs=30 \\
        [--set train.epochs=18 ...]      # applied to every probe, before its own settings

Each probe is `simplepose train BASE --out OUT/NAME --set ...` in a subprocess with the common
`--set`s, then the probe's own, then `train.max_minutes=0` and validation once, after the last
epoch: a probe runs its whole schedule, so that its cosine ends where the real run's would.
Give each probe the epochs that fit the time you are choosing for (the table shows the
minutes each took). Probes run one after the other, alone: with 2 threads on 2 cores anything
else running slows training several times. A probe whose run finished before (its
metrics.jsonl ends with "done") is read, not trained again, so a killed sweep is resumed by
running the same command. Prints a Markdown table and writes OUT/probes.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from simplepose.core.fileio import atomic_write_json, prepare_output_dir
from simplepose.training.train_log import read_metrics


def probe_command(base: Path, out: Path, common: Sequence[str], own: Sequence[str]) -> list[str]:
    """The `simplepose train` command line of one probe (later `--set`s win)."""
    sets = [*common, *own, "train.max_minutes=0", "train.val_every=100000"]  # validate once: after the last epoch
    return [
        sys.executable,
        "-m",
        "simplepose",
        "train",
        str(base),
        "--out",
        str(out),
        *[arg for s in sets for arg in ("--set", s)],
    ]


def read_run(out: Path) -> dict[str, float]:
    """Epochs, training minutes, mean samples/s and the final val AP/AP50 of a finished run."""
    rows = read_metrics(out / "metrics.jsonl")
    epochs = [r for r in rows if r["tag"] == "epoch"]
    vals = [r for r in rows if r["tag"] == "val"]
    if not rows or rows[-1]["tag"] != "done" or not vals:
        raise RuntimeError(f"{out / 'metrics.jsonl'}: the run did not finish with a validation")
    seconds = sum(r["seconds"] for r in epochs)
    samples = sum(r["samples_per_s"] * r["seconds"] for r in epochs)
    return {
        "epochs": len(epochs),
        "train_min": seconds / 60,
        "samples_per_s": samples / max(seconds, 1e-9),
        "AP": vals[-1]["AP"],
        "AP50": vals[-1]["AP50"],
    }


def finished(out: Path) -> bool:
    log = out / "metrics.jsonl"
    return log.is_file() and (read_metrics(log) or [{}])[-1].get("tag") == "done"


def run_probe(base: Path, out: Path, common: Sequence[str], own: Sequence[str]) -> dict[str, float]:
    if not finished(out):
        start = time.perf_counter()
        done = subprocess.run(
            probe_command(base, out, common, own), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"probe {out.name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        print(f"probe {out.name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return read_run(out)


def table(results: list[dict]) -> str:
    lines = [
        "| probe | settings | epochs | train min | samples/s | AP | AP50 | AP per train min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {' '.join(r['settings']) or '(base)'} | {r['epochs']} | {r['train_min']:.1f} | "
            f"{r['samples_per_s']:.0f} | {r['AP']:.3f} | {r['AP50']:.3f} | {r['AP'] / max(r['train_min'], 1e-9):.4f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the config every probe starts from")
    parser.add_argument("--out", type=Path, default=Path("runs/probes"))
    parser.add_argument(
        "--set",
        dest="common",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override for every probe (repeatable)",
    )
    parser.add_argument(
        "--probe",
        action="append",
        nargs="+",
        required=True,
        metavar="NAME [KEY=VALUE ...]",
        help="a probe: its name, then its own overrides (repeatable)",
    )
    args = parser.parse_args(argv)
    names = [p[0] for p in args.probe]
    if len(set(names)) != len(names):
        parser.error(f"probe names repeat: {names}")
    prepare_output_dir(args.out)
    results = []
    for name, *own in args.probe:
        results.append({"name": name, "settings": own, **run_probe(args.base, args.out / name, args.common, own)})
        atomic_write_json(
            args.out / "probes.json", {"base": str(args.base), "common": args.common, "probes": results}, indent=1
        )
    print(f"base {args.base}" + (f", for every probe: {' '.join(args.common)}" if args.common else ""))
    print(table(results))


if __name__ == "__main__":
    main()
