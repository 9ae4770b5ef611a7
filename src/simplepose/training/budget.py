"""A training run bound to a time budget (`train.max_minutes` > 0): how far along it is, the lr
it runs at, when it validates and when it stops.

Progress is max(training time spent / budget, epochs done / `train.epochs`), taken at every
step, and the config's lr schedule is read at that fraction of its epochs: a slow machine
anneals to the end of its schedule within the budget instead of being cut off mid-schedule,
and a fast one ends at its epochs as before. Validation falls at fixed fractions of the run
(`VAL_FRACTIONS`: four points, the last one the end), and the run stops at the step where
progress reaches 1, so the last checkpoint is the annealed one.

Why wall time and not an epoch count calibrated from the first steps' speed: the speed of a
run on a shared machine changes as other work comes and goes (the demo measured 45-94
samples/s within one run on a busy 2-core laptop-class machine), and a count fixed early is
then wrong in either direction: too many epochs and the run is cut off at a high lr again, too
few and budget is left unused. Following the clock anneals on time whatever the speed does.
The price is that two runs of one config on different machines see different lr sequences,
which a budget already implies (the old guard stopped them at different epochs). A run
without a budget is unchanged: epoch-based and bit-for-bit the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

#: Fractions of a budgeted run after which it validates (at the end of the epoch that crosses each).
VAL_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


@dataclass
class TimeBudget:
    """The clock and the epoch count of one run.

    Args:
        seconds: the budget (train.max_minutes * 60).
        epochs: train.epochs (the schedule's length, and a cap).
        steps_per_epoch: optimizer steps per epoch (the loader's length).
        spent_before: training seconds of the process(es) this run resumes.
    """

    seconds: float
    epochs: int
    steps_per_epoch: int
    spent_before: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> float:
        """Training seconds so far, resumed runs included."""
        return self.spent_before + time.monotonic() - self.started

    def progress(self, epoch: int, step_in_epoch: int, spent: float) -> float:
        """Fraction of the run done (0 to 1) before step `step_in_epoch` of `epoch` (0-based),
        `spent` seconds in."""
        by_epochs = (epoch + step_in_epoch / max(self.steps_per_epoch, 1)) / max(self.epochs, 1)
        return min(1.0, max(by_epochs, spent / self.seconds))

    def lr_factor(self, schedule: Callable[[float], float], progress: float) -> float:
        """The schedule's factor (a function of the epoch) at `progress` of its epochs."""
        return schedule(progress * self.epochs)


def validation_due(before: float, after: float) -> bool:
    """Whether an epoch that took the run from progress `before` to `after` crossed a validation point."""
    return any(before < f <= after for f in VAL_FRACTIONS)


def set_step_lr(
    optimizer,
    scheduler,
    budget: TimeBudget | None,
    epoch: int,
    step_in_epoch: int,
    step: int,
    warmup_iters: int,
    spent: float = 0.0,
) -> float:
    """Set each param group's lr for the run's next optimizer step; returns the progress (budget
    runs; 0.0 otherwise). `scheduler` is the run's per-epoch LambdaLR (its base lrs and factor).

    Epoch-based runs keep the scheduler's epoch lr, with the linear warm-up of the first
    `warmup_iters` steps on top (exactly as before budgets existed); budget runs read the
    schedule at their progress (see `TimeBudget`), the warm-up on top as well.
    """
    lrs, progress = scheduler.get_last_lr(), 0.0
    if budget is not None:
        progress = budget.progress(epoch, step_in_epoch, spent)
        factor = budget.lr_factor(scheduler.lr_lambdas[0], progress)
        lrs = [base * factor for base in scheduler.base_lrs]
    elif step >= warmup_iters:
        return progress
    warm = min(1.0, (step + 1) / warmup_iters) if warmup_iters else 1.0
    for group, lr in zip(optimizer.param_groups, lrs):
        group["lr"] = lr * warm
    return progress
