"""The synthetic people generator: annotation invariants, determinism, videos and their files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simplepose.core.geometry import hflip_affine, warp_points
from simplepose.core.skeleton import COCO
from simplepose.data.coco import load_coco_keypoints
from simplepose.formats.detections import load_detections
from simplepose.formats.posetrack import read_posetrack
from simplepose.synthetic import SceneSettings, VideoSettings, generate_dataset, generate_videos, render_scene
from simplepose.synthetic.render import FACE, JOINT_PARTS, OCCLUDER, PARTS
from simplepose.synthetic.video import render_video

SMALL = SceneSettings(width=(160, 256), height=(160, 256), person_height=(40.0, 240.0))
SMALL_VIDEO = VideoSettings(width=256, height=160, people=(1, 2))


@pytest.fixture(scope="module")
def scenes():
    return [render_scene(np.random.default_rng(i), SMALL) for i in range(40)]


def _pixel(xy):
    return int(round(xy[1])), int(round(xy[0]))


def _check_annotation(label_map, ann, kp, vis, part_map=None):
    """Visible joints on the person's own pixels, box = visible extent holding them, area = mask."""
    h, w = label_map.shape
    mask = label_map == ann.label
    assert ann.area == int(mask.sum()) > 0
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert ann.bbox == [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
    x, y, bw, bh = ann.bbox
    for j in range(COCO.num_joints):
        if vis[j] == 0:
            continue
        assert 0 <= kp[j, 0] <= w - 1 and 0 <= kp[j, 1] <= h - 1
        r, c = _pixel(kp[j])
        if vis[j] == 2:
            assert label_map[r, c] == ann.label, COCO.joints[j]
            assert x <= c < x + bw and y <= r < y + bh
            if part_map is not None:
                assert part_map[r, c] in JOINT_PARTS[j], (COCO.joints[j], PARTS[part_map[r, c]])
        elif part_map is not None:
            # Hidden: under another person or object, under another of its own parts,
            # or a face landmark on the far side of its own head.
            own = label_map[r, c] == ann.label
            assert (not own) or part_map[r, c] not in JOINT_PARTS[j] or FACE[j], COCO.joints[j]


def test_annotations_agree_with_the_rendered_image(scenes):
    n_people = n_hidden = n_cut = 0
    for scene in scenes:
        h, w = scene.codes.shape
        assert scene.image.shape == (h, w, 3) and scene.image.dtype == np.uint8
        label_map, part_map = scene.label_map, scene.part_map
        for ann in scene.annotations:
            kp, vis = ann.keypoints[:, :2], ann.keypoints[:, 2].astype(int)
            _check_annotation(label_map, ann, kp, vis, part_map)
            inside = ((ann.projected >= 0) & (ann.projected <= [w - 1, h - 1])).all(1)
            assert np.array_equal(vis > 0, inside)  # 0 exactly for joints outside the image
            assert np.all(kp[vis == 0] == 0) and ann.num_keypoints == int((vis > 0).sum())
            n_people += 1
            n_hidden += bool((vis == 1).any())
            n_cut += bool((vis == 0).any())
    assert n_people >= 80
    assert n_hidden >= n_people / 3, (n_hidden, n_people)
    assert n_cut >= n_people / 10, (n_cut, n_people)


def test_some_joints_are_hidden_by_other_people_and_by_own_parts(scenes):
    by_other = by_self = 0
    for scene in scenes:
        lm = scene.label_map
        for ann in scene.annotations:
            for j in np.flatnonzero(ann.keypoints[:, 2] == 1):
                other = lm[_pixel(ann.keypoints[j])]
                by_other += other not in (0, ann.label)
                by_self += other == ann.label
    assert by_other > 0 and by_self > 0


def test_flipped_image_gives_a_valid_annotation(scenes):
    for scene in scenes[:10]:
        w = scene.codes.shape[1]
        flipped = scene.label_map[:, ::-1]
        for ann in scene.annotations:
            # The training flip: mirror the points by the image's flip affine, then swap left/right
            # joints with the skeleton's flip_index (as TopDownDataset does).
            kp = warp_points(ann.keypoints[:, :2], hflip_affine(w))[COCO.flip_index]
            vis = ann.keypoints[COCO.flip_index, 2]
            x, y, bw, bh = ann.bbox
            flipped_ann = type(ann)(
                np.concatenate([kp, vis[:, None]], 1),
                [w - x - bw, y, bw, bh],
                ann.area,
                ann.head_box,
                ann.label,
                ann.projected,
            )
            _check_annotation(flipped, flipped_ann, kp, vis.astype(int))
            # The joint now called left is where the right one was.
            le, re = COCO.index("left_elbow"), COCO.index("right_elbow")
            if ann.keypoints[re, 2] > 0:
                assert kp[le, 0] == pytest.approx(w - 1 - ann.keypoints[re, 0])


def test_faces_cue_the_facing_direction(scenes):
    # Eyes are seen only on people turned towards the camera: some people show both, some neither.
    both = neither = 0
    for scene in scenes:
        for ann in scene.annotations:
            v = ann.keypoints[1:3, 2]
            both += bool((v == 2).all())
            neither += bool((v == 1).all())
    assert both > 0 and neither > 0


def test_occluders_are_labelled_apart_from_people(scenes):
    assert any((s.label_map == OCCLUDER).any() for s in scenes)


def _dataset(tmp_path: Path, name: str, seed: int) -> Path:
    out = tmp_path / name
    generate_dataset(out, 6, seed=seed, val_fraction=0.5, settings=SMALL)
    return out


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a, b, c = _dataset(tmp_path, "a", 3), _dataset(tmp_path, "b", 3), _dataset(tmp_path, "c", 4)
    files = [
        "annotations/train.json",
        "annotations/val.json",
        "annotations/val_detections.json",
        "images/train/000000.jpg",
        "images/val/000002.jpg",
    ]
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / files[0]).read_bytes() != (c / files[0]).read_bytes()
    coco = json.loads((a / "annotations/train.json").read_text())
    assert [im["file_name"] for im in coco["images"]] == ["000000.jpg", "000001.jpg", "000002.jpg"]
    assert coco["categories"][0]["keypoints"] == list(COCO.joints)
    assert coco["categories"][0]["skeleton"] == [[i + 1, j + 1] for i, j in COCO.limbs]
    for ann in coco["annotations"]:
        assert len(ann["keypoints"]) == 51 and ann["iscrowd"] == 0 and ann["category_id"] == 1
        assert ann["num_keypoints"] == sum(v > 0 for v in ann["keypoints"][2::3])
    for im in coco["images"]:
        assert cv2.imread(str(a / "images/train" / im["file_name"])).shape[:2] == (im["height"], im["width"])
    dets = json.loads((a / "annotations/val_detections.json").read_text())
    val_ids = {im["id"] for im in json.loads((a / "annotations/val.json").read_text())["images"]}
    assert all(d["image_id"] in val_ids and d["category_id"] == 1 and 0 < d["score"] < 1 for d in dets)
    assert json.loads((a / "meta.json").read_text())["images"]["seed"] == 3
    # The project's own readers take the files as they are.
    read = load_coco_keypoints(a / "annotations/val.json", a / "images/val")
    assert read.skeleton.joints == COCO.joints and read.records
    assert all(Path(r.image_path).is_file() for r in read.records)
    assert set(load_detections(a / "annotations/val_detections.json")) <= set(read.images)


def test_worker_processes_do_not_change_the_output(tmp_path):
    one = _dataset(tmp_path, "one", 7)
    two = tmp_path / "two"
    generate_dataset(two, 6, seed=7, val_fraction=0.5, settings=SMALL, workers=2)
    for f in ("annotations/train.json", "annotations/val.json", "images/val/000001.jpg"):
        assert (one / f).read_bytes() == (two / f).read_bytes(), f


def test_video_track_ids_survive_occlusion():
    frames = [anns for _, anns in render_video(np.random.default_rng(5), 40, SMALL_VIDEO)]
    # Track 1 walks behind track 0 (the crossing pair): its visible joints drop for a few frames.
    visible = np.array([next((int((a.keypoints[:, 2] == 2).sum()) for a in f if a.label == 2), 0) for f in frames])
    full = 0.6 * np.median(visible[visible > 0])
    seen = np.flatnonzero(visible >= full)
    occluded = [t for t in range(seen[0], seen[-1]) if visible[t] < full]
    assert len(occluded) >= 3, visible
    # Ids are consistent: each track's box moves smoothly from frame to frame, across the occlusion too.
    last = {}
    for t, anns in enumerate(frames):
        assert len({a.label for a in anns}) == len(anns)
        for a in anns:
            centre = np.array(a.projected).mean(0)
            if a.label in last:
                t0, c0 = last[a.label]
                assert np.linalg.norm(centre - c0) <= 12.0 * (t - t0), (a.label, t)
            last[a.label] = (t, centre)


def test_posetrack_files(tmp_path):
    summary = generate_videos(tmp_path, 1, frames=12, seed=1, settings=SMALL_VIDEO)
    name = summary["clips"][0]["name"]
    gt = json.loads((tmp_path / "posetrack/annotations/val" / f"{name}.json").read_text())
    assert gt["categories"][0]["keypoints"] == list(COCO.joints)
    ids = [im["id"] for im in gt["images"]]
    assert len(ids) == 12 == len(set(ids))
    for im in gt["images"]:
        assert (tmp_path / im["file_name"]).is_file() and im["nframes"] == 12 and im["is_labeled"]
        assert im["frame_id"] == im["id"] and im["ignore_regions_x"] == im["ignore_regions_y"] == []
    per_frame = {}
    for a in gt["annotations"]:
        assert a["image_id"] in ids and len(a["keypoints"]) == 51 and len(a["bbox_head"]) == 4
        assert a["scores"] == [] and a["category_id"] == 1 and isinstance(a["track_id"], int)
        per_frame.setdefault(a["image_id"], []).append(a["track_id"])
    assert all(len(t) == len(set(t)) for t in per_frame.values())
    assert len({a["id"] for a in gt["annotations"]}) == len(gt["annotations"])
    dets = json.loads((tmp_path / "posetrack/detections" / f"{name}.json").read_text())
    assert dets and all(d["image_id"] in ids for d in dets)
    # The project's PoseTrack reader takes the file as it is, track ids and head boxes included.
    video = read_posetrack(tmp_path / "posetrack/annotations/val" / f"{name}.json")
    assert video.skeleton.joints == COCO.joints and [f.image_id for f in video.frames] == ids
    read_ids = [[p.track_id for p in f.people] for f in video.frames]
    assert read_ids == [[a["track_id"] for a in gt["annotations"] if a["image_id"] == i] for i in ids]
    assert all(p.head_box is not None for f in video.frames for p in f.people)
    # PoseTrack files are COCO-like: the project's COCO reader keeps track ids and head boxes too.
    read = load_coco_keypoints(tmp_path / "posetrack/annotations/val" / f"{name}.json", tmp_path)
    assert {r.track_id for r in read.records} == {a["track_id"] for a in gt["annotations"]}
    assert all(r.head_box is not None and Path(r.image_path).is_file() for r in read.records)
    cap = cv2.VideoCapture(str(tmp_path / "videos" / f"{name}.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12


def test_synth_command(tmp_path, capsys):
    from simplepose.cli import main

    out = tmp_path / "data"
    args = [
        "synth",
        "--out",
        str(out),
        "--images",
        "4",
        "--val-fraction",
        "0.25",
        "--size",
        "96-128",
        "--videos",
        "1",
        "--frames",
        "3",
        "--video-size",
        "128x96",
        "--max-people",
        "3",
    ]
    assert main(args) == 0
    assert len(list((out / "images/train").glob("*.jpg"))) == 3 and len(list((out / "images/val").glob("*.jpg"))) == 1
    assert len(list((out / "videos/000001_synth").glob("*.jpg"))) == 3
    meta = json.loads((out / "meta.json").read_text())
    assert meta["images"]["settings"]["width"] == [96, 128] and meta["videos"]["frames"] == 3
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(out), "--size", "big"])
    assert "--size" in capsys.readouterr().err
