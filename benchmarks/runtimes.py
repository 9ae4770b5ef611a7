"""Every inference runtime, the predictor, training set-ups and data loading in one run,
as ratios to eager fp32 (the script behind `simplepose bench`; same arguments).

    python benchmarks/runtimes.py [--quick] [--checkpoint runs/demo/train/best.pth] [--data data/synthetic]

Run it alone: with 2 threads on 2 cores anything else running slows torch many times over.
"""

from __future__ import annotations

import sys

from simplepose.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
