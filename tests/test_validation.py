"""The bad-input corpus through every reader: one error naming the file, the record and the
field, or a counted skip; valid records beside a broken one are still used under skip."""

import contextlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simplepose.config import ConfigError, load_config
from simplepose.core.fileio import FileFormatError, OutputError, output_path, prepare_output_dir
from simplepose.core.skeleton import COCO
from simplepose.data.coco import load_coco_keypoints
from simplepose.evaluation.cocoeval import evaluate_coco_keypoints
from simplepose.formats.check import Skips, outside_image
from simplepose.formats.detections import load_detections
from simplepose.formats.posetrack import parse_posetrack
from simplepose.inference.detector import DetectionsFile

K = 17


def _kp(x=10.0):
    return [x, x, 2] * K


def _gt():
    return {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
            {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "keypoints": _kp(),
                "num_keypoints": K,
                "bbox": [5, 5, 20, 40],
                "area": 800.0,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "keypoints": _kp(30),
                "num_keypoints": K,
                "bbox": [25, 25, 20, 40],
                "area": 800.0,
                "iscrowd": 0,
            },
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO.joints), "skeleton": []}],
    }


def _results():
    return [
        {"image_id": 1, "category_id": 1, "keypoints": _kp(), "score": 0.9},
        {"image_id": 2, "category_id": 1, "keypoints": _kp(30), "score": 0.8},
    ]


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))  # Python writes NaN / Infinity as bare tokens, as a sloppy tool would
    return p


RESULT_CASES = {
    "NaN keypoint": (
        lambda r: r[0]["keypoints"].__setitem__(0, float("nan")),
        r"entry \[0\]: field 'keypoints'\[0\] is nan",
    ),
    "infinite keypoint": (
        lambda r: r[1]["keypoints"].__setitem__(4, float("inf")),
        r"entry \[1\]: field 'keypoints'\[4\]",
    ),
    "NaN score": (lambda r: r[0].__setitem__("score", float("nan")), r"entry \[0\]: field 'score' is nan"),
    "string score": (lambda r: r[0].__setitem__("score", "0.9"), r"entry \[0\]: field 'score' must be a number"),
    "missing category": (lambda r: r[1].pop("category_id"), r"entry \[1\]: missing field 'category_id'"),
    "wrong category": (
        lambda r: r[0].__setitem__("category_id", 7),
        r"entry \[0\]: field 'category_id' = 7 is not a category",
    ),
    "bbox on some entries": (lambda r: r[1].__setitem__("bbox", [1, 2, 3, 4]), r"entry \[1\]: field 'bbox' is present"),
    "unknown image": (lambda r: r[0].__setitem__("image_id", 99), r"entry \[0\]: field 'image_id' = 99"),
    "short keypoints": (
        lambda r: r[0].__setitem__("keypoints", _kp()[:-3]),
        r"entry \[0\]: field 'keypoints' has 48 numbers, expected 51",
    ),
}


GT_CASES = {
    "repeated image id": (lambda g: g["images"][1].__setitem__("id", 1), r"images\[1\]: id 1 is used twice"),
    "repeated annotation id": (
        lambda g: g["annotations"][1].__setitem__("id", 1),
        r"annotations\[1\]: id 1 is used twice",
    ),
    "annotation of an unknown image": (
        lambda g: g["annotations"][0].__setitem__("image_id", 5),
        r"annotations\[0\]: field 'image_id' = 5",
    ),
    "no person category": (lambda g: g["categories"][0].pop("keypoints"), "no person category"),
    "NaN ground-truth keypoint": (
        lambda g: g["annotations"][1]["keypoints"].__setitem__(3, float("nan")),
        r"annotations\[1\]: field 'keypoints'\[3\]",
    ),
}


CASES = [("results", name, *RESULT_CASES[name]) for name in sorted(RESULT_CASES)] + [
    ("gt", name, *GT_CASES[name]) for name in sorted(GT_CASES)
]


@pytest.mark.parametrize("which,case,breaks,message", CASES, ids=[f"{w}: {c}" for w, c, _, _ in CASES])
def test_bad_results_and_ground_truth_are_refused_naming_the_record(which, case, breaks, message, tmp_path):
    """One broken record of a results file or a ground truth: one error naming file, record, field."""
    doc = _results() if which == "results" else _gt()
    breaks(doc)
    path = _write(tmp_path, f"{which}.json", doc)
    with pytest.raises(FileFormatError, match=rf"{which}\.json: .*" + message):
        evaluate_coco_keypoints(_gt(), path) if which == "results" else evaluate_coco_keypoints(path, _results())
    assert evaluate_coco_keypoints(_gt(), _results())["AP"] == pytest.approx(1.0)  # the valid files score


def test_a_truncated_ground_truth_names_the_file(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(_gt())[:100])
    with pytest.raises(FileFormatError, match=r"gt\.json: not valid JSON"):
        evaluate_coco_keypoints(path, _results())


def test_detections_broken_fields_are_errors_and_zero_size_boxes_counted_skips(tmp_path):
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 40], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [5, 5, 0, 40], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [5, 5, 20, 0.0], "score": 0.7},
    ]
    skips = Skips()
    table = load_detections(_write(tmp_path, "d.json", dets), skips=skips)
    assert list(table) == [1] and len(table[1][0]) == 1  # the valid box beside the broken ones is used
    assert skips == {"zero-size detection box": 2}
    with pytest.raises(FileFormatError, match=r"d\.json: detection \[1\]: field 'bbox' has zero width"):
        load_detections(tmp_path / "d.json", strict=True)
    for field, value, message in (
        ("bbox", [1, 2, float("nan"), 4], r"'bbox'\[2\] is nan"),
        ("bbox", [1, 2, 3], "'bbox' has 3 numbers, expected 4"),
        ("bbox", [1, 2, -3, 4], "'bbox' has a negative width or height"),
        ("bbox", [1, 2, float("inf"), 4], r"'bbox'\[2\] is inf"),
        ("score", "high", "'score' must be a number"),
        ("image_id", 1.5, "'image_id' must be a whole number"),
    ):
        bad = [dict(dets[0], **{field: value})]
        with pytest.raises(FileFormatError, match=r"b\.json: detection \[0\]: field " + message):
            load_detections(_write(tmp_path, "b.json", bad))


def test_boxes_outside_the_image_are_skipped_and_counted(tmp_path):
    # A zero-width box on the edge is cropped as the pixel column there: inside; an inverted one is not.
    assert outside_image(
        np.array(
            [
                [200, 200, 300, 300],
                [-50, -50, -1, -1],
                [90, 90, 150, 150],
                [0, 0, 0, 50.0],
                [60, 10, 50, 20],
                [100.4, 0, 100.4, 9],
            ]
        ),
        100,
        100,
    ).tolist() == [True, True, False, False, True, False]
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [500, 500, 20, 40], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [90, 90, 50, 50], "score": 0.8},
    ]
    table = DetectionsFile(_write(tmp_path, "d.json", dets))
    boxes, scores = table(np.zeros((100, 100, 3), np.uint8), 1)
    assert boxes.tolist() == [[90, 90, 140, 140]] and scores.tolist() == [0.8]  # unclipped, as the paper crops
    assert table.skips == {"box outside its image": 1}


def test_coco_reader_refuses_or_skips_a_broken_person(tmp_path):
    gt = _gt()
    gt["annotations"][0]["keypoints"][0] = float("nan")
    path = _write(tmp_path, "train.json", gt)
    with pytest.raises(FileFormatError, match=r"train\.json: annotations\[0\] \(id 1\): field 'keypoints'\[0\] is nan"):
        load_coco_keypoints(path)
    skips = Skips()
    records = load_coco_keypoints(path, skips=skips).records
    assert [r.ann_id for r in records] == [2] and sum(skips.values()) == 1
    gt = _gt()
    gt["images"][1]["id"] = 1
    with pytest.raises(FileFormatError, match=r"images\[1\]: image id 1 is used twice"):
        load_coco_keypoints(_write(tmp_path, "dup.json", gt))


def test_posetrack_reader_refuses_non_finite_and_non_integer_fields():
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "annotations": [{"id": 1, "image_id": 1, "track_id": 0, "keypoints": _kp()}],
        "categories": [{"id": 1, "keypoints": list(COCO.joints)}],
    }
    assert parse_posetrack(doc, "v.json").frames[0].people[0].track_id == 0
    doc["annotations"][0]["keypoints"][5] = float("inf")
    with pytest.raises(FileFormatError, match=r"v\.json: annotation \[0\] \(id 1\): field 'keypoints'\[5\] is inf"):
        parse_posetrack(doc, "v.json")
    doc["annotations"][0]["keypoints"] = _kp()
    doc["annotations"][0]["track_id"] = "zero"
    with pytest.raises(FileFormatError, match="field 'track_id' must be a whole number"):
        parse_posetrack(doc, "v.json")


def test_config_refuses_non_finite_numbers(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  lr: .nan\n")
    with pytest.raises(ConfigError, match="train.lr.*finite"):
        load_config(p)


def test_output_folders_are_checked_and_names_kept_inside(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot write to output folder"):
        prepare_output_dir(tmp_path / "file" / "out")
    out = prepare_output_dir(tmp_path / "out")
    stale = out / "last.pth.abcd1234.tmp"  # what a killed atomic write leaves
    stale.write_text("half")
    keep = out / "notes.tmp"
    keep.write_text("mine")
    prepare_output_dir(out)
    assert not stale.exists() and keep.exists()
    for bad in ("../x", "a/b", "/etc/x", "", ".."):
        with pytest.raises(ValueError, match="plain file name"):
            output_path(out, bad)
    assert output_path(out, "clip.json") == out / "clip.json"


def test_atomic_writes_get_the_permissions_of_any_new_file(tmp_path):
    from simplepose.core.fileio import atomic_write_json

    atomic_write_json(tmp_path / "results.json", [1])
    (tmp_path / "plain.json").write_text("[1]")
    # mkstemp alone gives 0600; a plain new file gets 0666 less the umask (0644 under the usual 022).
    assert (tmp_path / "results.json").stat().st_mode & 0o777 == (tmp_path / "plain.json").stat().st_mode & 0o777


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "image_id",
                    "category_id",
                    "bbox",
                    "score",
                    "keypoints",
                    "track_id",
                    "file_name",
                    "images",
                    "annotations",
                    "categories",
                    "width",
                    "height",
                    "area",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(JSONISH)
def test_readers_raise_only_the_project_error_on_random_records(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("r") / "f.json"
    path.write_text(json.dumps(doc))
    for read in (
        lambda: load_detections(path),
        lambda: load_coco_keypoints(path),
        lambda: parse_posetrack(doc, "f.json"),
        lambda: evaluate_coco_keypoints(_gt(), path),
        lambda: evaluate_coco_keypoints(path, _results()),
    ):
        with contextlib.suppress(FileFormatError):
            read()


def _posetrack_doc():
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "ignore_regions_x": [[1, 2, 3]], "ignore_regions_y": [[1, 2, 2]]}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "track_id": 0,
                "keypoints": _kp(),
                "scores": [0.5] * K,
                "bbox": [1, 2, 3, 4],
                "bbox_head": [1, 1, 2, 2],
            }
        ],
        "categories": [{"id": 1, "keypoints": list(COCO.joints), "skeleton": [[1, 2]]}],
    }


LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=2)
    | st.lists(st.integers(0, 2), max_size=3)
    | st.just({})
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["gt", "results", "detections", "posetrack"]), st.integers(0, 50), LEAF)
def test_one_broken_field_of_a_valid_file_gives_only_the_project_error(tmp_path_factory, kind, pick, junk):
    """Start from a valid file, replace one field of one record (or one top-level field) by junk."""
    doc = {
        "gt": _gt,
        "results": _results,
        "posetrack": _posetrack_doc,
        "detections": lambda: [{"image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 40], "score": 0.9}],
    }[kind]()
    slots = []  # (container, key) pairs that can be replaced
    for top in doc if isinstance(doc, list) else [doc]:
        slots += [(top, k) for k in top]
        for value in top.values():
            if isinstance(value, list):
                slots += [(rec, k) for rec in value if isinstance(rec, dict) for k in rec]
    container, key = slots[pick % len(slots)]
    container[key] = junk
    path = tmp_path_factory.mktemp("m") / "f.json"
    path.write_text(json.dumps(doc))
    read = {
        "gt": lambda: (load_coco_keypoints(path), evaluate_coco_keypoints(path, _results())),
        "results": lambda: evaluate_coco_keypoints(_gt(), path),
        "detections": lambda: load_detections(path),
        "posetrack": lambda: parse_posetrack(doc, "f.json"),
    }[kind]
    with contextlib.suppress(FileFormatError):
        read()
