"""The zoo's one converter: a verified pose file (mmpose or official) -> a plain checkpoint.

It runs once per model, after the download's hash matched. The published file is read
safely (`weights.read_weights_file`: `weights_only` with numpy's array rebuilding allowed),
the keys renamed as `foreign.strip_mmpose_keys` says, the weights checked against the
network they describe, and a simplepose checkpoint written: the state dict plus the row's
config (colour order, decoder, input and heatmap size, skeleton), so the model runs as it
was trained and later loads need no allow-list.
"""

from __future__ import annotations

from pathlib import Path

from ..config import config_to_dict
from ..nets.build import build_network
from ..nets.checkpoint import FORMAT, VERSION, atomic_save
from ..nets.foreign import pose_config, strip_mmpose_keys
from ..nets.weights import extract_state_dict, infer_architecture, load_state_dict_strict, read_weights_file
from .table import ModelRow, ZooError


def convert_pose_file(row: ModelRow, raw: Path, dest: Path, key: str = "") -> None:
    """Write `dest`: the pose network of `raw` (format `row.format`) with `row`'s config;
    `key` (`files.derived_key`) is recorded in it with the row's source."""
    source = f"{raw} (model {row.name})"
    sd, mmpose = strip_mmpose_keys(extract_state_dict(read_weights_file(raw), source))
    if row.format == "mmpose" and not mmpose:
        raise ZooError(f"{source}: the row says mmpose format but the keys have no backbone./head. prefixes")
    kwargs = infer_architecture(sd, "pytorch", source)
    cfg = pose_config(
        kwargs, row.input_size, row.color, row.decoder or "paper", row.skeleton or None, source=f"zoo row {row.name}"
    )
    load_state_dict_strict(build_network(**kwargs), sd, source)  # the weights fit the network they describe
    atomic_save(
        {
            "format": FORMAT,
            "version": VERSION,
            "config": config_to_dict(cfg),
            "state_dict": {k: v.contiguous() for k, v in sd.items()},
            "zoo": {"model": row.name, "file": row.filename, "format": row.format, "sha256": row.sha256, "key": key},
        },
        dest,
    )
