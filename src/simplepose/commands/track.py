"""`simplepose track --checkpoint CKPT VIDEO_OR_FRAME_DIR [--detections FILE] [--out DIR]`

Multi-person pose tracking (the paper's flow-based tracker) on an mp4/avi video or a folder
of frames. Writes to --out (default `tracking/`): NAME.json (PoseTrack 2018 predictions, one
entry per frame, track ids) and NAME.mp4 (skeletons, ids and short trails drawn). Prints
the frames per second of tracking (detection lookup, flow, pose estimation and matching).

Person boxes: --detections FILE (COCO results format; image_id = the frame's id: the `id`
of the matching image record of --frames-like FILE when given, else the 0-based frame index)
or --detector WEIGHTS (torchvision Faster R-CNN, needs torchvision). Tracker values come from
the `track` section of --config and --set track.KEY=VALUE (see config.TrackConfig).
"""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="multi-person pose tracking in a video or a folder of frames")
    p.add_argument("source", metavar="VIDEO_OR_FRAME_DIR")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--detections", help="person boxes in the COCO results format")
    p.add_argument("--detector", metavar="WEIGHTS", help="torchvision Faster R-CNN weights (needs torchvision)")
    p.add_argument("--frames-like", metavar="POSETRACK_JSON",
                   help="a PoseTrack file of this video: its frame records (ids, file names) are used for the output")
    p.add_argument("--out", default="tracking")
    p.add_argument("--name", help="output name (default: the video's or folder's name)")
    p.add_argument("--config", help="YAML config (its model/data sections override the checkpoint's; its track section is used)")
    p.add_argument("--runtime", dest="overrides", action="append", default=[], type=lambda v: f"test.runtime={v}", metavar="NAME", help="inference runtime: auto (default), eager, fast, compile, onnx, onnx-int8 (sets test.runtime)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. track.similarity=flow_oks")
    p.add_argument("--layout", choices=("auto", "model", "posetrack"), default="auto",
                   help="joints written: the model's own or PoseTrack's layout (the official tool needs the latter)")
    p.add_argument("--no-video", action="store_true", help="skip the drawn video")
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--trusted", action="store_true", help="allow pickled objects in the checkpoint")
    p.set_defaults(run=run)


def _detector(args: argparse.Namespace, frame_ids):
    from ..detector import DetectionsFile, TorchvisionDetector

    if args.detections:
        det = DetectionsFile(args.detections)  # the tracker applies its own score threshold
        if frame_ids and not any(i in det.table for i in frame_ids):
            raise ValueError(f"{args.detections}: no detection has an image_id of these frames "
                             f"(frames are {frame_ids[0]}..{frame_ids[-1]}; pass --frames-like for PoseTrack ids)")
        return det
    if args.detector:
        return TorchvisionDetector(args.detector, score_thresh=0.0, device=args.device or "cpu")
    raise ValueError("track needs person boxes: give --detections FILE or --detector WEIGHTS")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..config import config_from_dict, config_to_dict, load_config, merge, parse_overrides
    from ..predictor import TopDownPredictor
    from ..tracking.pipeline import open_frames, track_video
    from ..tracking.posetrack_io import read_posetrack
    from ..weights import load_checkpoint

    source = open_frames(args.source)
    frames_like = read_posetrack(args.frames_like) if args.frames_like else None
    frame_ids = [f.image_id for f in frames_like.frames] if frames_like else list(range(len(source.names)))
    detector = _detector(args, frame_ids)
    loaded = load_checkpoint(args.checkpoint, trusted=args.trusted)
    if args.config:
        cfg = load_config(args.config, args.overrides)
    else:  # the checkpoint's own config, with the overrides on top
        base = config_to_dict(loaded.config) if loaded.config is not None else {}
        cfg = config_from_dict(merge(base, parse_overrides(args.overrides)), f"{args.checkpoint} (stored config)")
    track_cfg = cfg.track
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    overrides = {"flip_test": False} if args.no_flip else {}
    predictor = TopDownPredictor.from_config(loaded.model, cfg, device=device, **overrides)
    name = args.name or (source.path.stem if source.is_video else source.path.name)
    done = track_video(source, predictor, track_cfg, detector, args.out, name, frames_like, args.layout,
                       draw_video=not args.no_video)
    result = done.run
    tracks = {int(i) for p in result.poses for i in (p.track_ids if p.track_ids is not None else [])}
    print(f"{len(result.poses)} frames, {len(tracks)} tracks, {result.fps:.1f} frames/s "
          f"(detection lookup, flow, pose estimation, matching; {track_cfg.similarity}, device {device})")
    print(f"wrote {done.json_path}" + ("" if done.video_path is None else f" and {done.video_path}"))
    return 0
