"""Training: the loop and what it needs.

The loop (`engine.train`: checkpoints, resume, validation, DDP), optimiser, schedule and
mixed precision (`optim`), the paper's loss (`loss`), time budgets (`budget`), torchrun and
DDP (`distributed`), the metrics log and its curves (`train_log`), and the compact release
file made from a run (`release`).

May import: the parts below it (`core/`, `formats/`, `config`, `nets/`, `data/`,
`evaluation/`, `zoo/`) and, for validation, `inference/`, `runtimes/` and the evaluation
runners; never `commands/`, `api`, `demo` or `bench/`.
"""
