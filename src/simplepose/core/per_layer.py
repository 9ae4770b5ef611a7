"""Per-layer values of the deconvolution head, written as one value when the layers agree.

Our configs (`ModelConfig.deconv_filters: 256`) and the printed architecture give one value
for every deconvolution layer; the official experiment files (`NUM_DECONV_FILTERS: [256,
256, 256]`), state dicts and `PoseResNet.architecture()` give one per layer. This module is
the one place that turns such a list into the single value. It sits at the bottom of the
package (no imports of its own), so `config_official`, `weights` and `commands.info` can all
use it without importing `config`.
"""

from __future__ import annotations

from collections.abc import Sequence


def collapse_per_layer(values: Sequence[int], default: int | None = None) -> int | list[int]:
    """(L,) per-layer values -> the one value when all L agree, else the list (L,) itself.

    An empty sequence (a head without deconvolutions) gives `default` when one is given,
    else the empty list. Callers that cannot take a list (a config field) check for it.
    """
    values = list(values)
    if not values:
        return [] if default is None else default
    return values[0] if len(set(values)) == 1 else values
