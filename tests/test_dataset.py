import numpy as np
import pytest
import torch
from conftest import REAL_DATA as REAL
from torch.utils.data import DataLoader

from simplepose.core.codec import HeatmapCodec
from simplepose.core.fileio import read_image
from simplepose.core.geometry import box_to_center_scale, crop_affine, warp_points
from simplepose.core.skeleton import COCO, MPII
from simplepose.core.transforms import Normalize, crop_matrix
from simplepose.data.coco import load_coco_keypoints
from simplepose.data.dataset import TopDownDataset, lower_body_mask

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not found at {REAL}")

SIZE, HM = (192, 256), (48, 64)


@pytest.fixture(scope="module")
def coco():
    return load_coco_keypoints(REAL / "coco" / "test_coco.json", REAL / "coco")


def make(records, train=True, **kw):
    return TopDownDataset(records, COCO, HeatmapCodec(SIZE, HM, 2.0), SIZE, train=train, cache_images=True, **kw)


def test_item_is_a_dict_of_tensors_and_numbers_and_collates(coco):
    ds = make(coco.records)
    item = ds[0]
    assert item["image"].shape == (3, 256, 192) and item["image"].dtype == torch.float32
    assert item["target"].shape == (17, 64, 48) and item["target_weight"].shape == (17, 1)
    assert item["center"].shape == (2,) and item["scale"].shape == (2,)
    for k in ("rotation", "score", "image_id", "index", "flipped"):
        assert isinstance(item[k], (int, float))
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 256, 192) and batch["index"].tolist() == [0, 1, 2, 3]


def test_raw_images_are_the_uint8_crops_that_normalise_to_the_float_items(coco):
    """The GPU path: workers hand over uint8 crops, the step normalises them on its device."""
    from simplepose.training.engine import network_input

    floats, raws = make(coco.records), make(coco.records, raw_images=True)
    batch_f = next(iter(DataLoader(floats, batch_size=3)))
    batch_r = next(iter(DataLoader(raws, batch_size=3)))
    assert batch_r["image"].shape == (3, 256, 192, 3) and batch_r["image"].dtype == torch.uint8
    for key in ("target", "target_weight", "keypoints", "center", "scale"):
        assert torch.equal(batch_f[key], batch_r[key])
    for channels_last in (False, True):
        x = network_input(batch_r["image"], torch.device("cpu"), raws.normalize, channels_last)
        assert torch.equal(x, batch_f["image"]) and x.is_contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format
        )
    assert network_input(batch_f["image"], torch.device("cpu"), raws.normalize, False) is batch_f["image"]
    rgb = Normalize("rgb")
    assert torch.equal(rgb(batch_r["image"]), rgb(batch_r["image"].numpy()))


def test_eval_sample_is_the_plain_box_crop(coco):
    r = coco.records[0]
    item = make(coco.records, train=False)[0]
    c, s = box_to_center_scale(r.box, SIZE[0] / SIZE[1])
    np.testing.assert_allclose(item["center"].numpy(), c, rtol=1e-6)
    np.testing.assert_allclose(item["scale"].numpy(), s, rtol=1e-6)
    assert item["rotation"] == 0.0 and item["flipped"] == 0
    expected = warp_points(r.keypoints, crop_affine(c, s, 0.0, SIZE))
    vis = r.visible > 0
    np.testing.assert_allclose(item["keypoints"][vis, :2].numpy(), expected[vis], atol=1e-3)
    # the target peak sits on the joint's rounded heatmap pixel
    j = int(np.flatnonzero(vis & (item["target_weight"][:, 0].numpy() > 0))[0])
    peak = np.unravel_index(int(item["target"][j].argmax()), (64, 48))
    assert (peak[1], peak[0]) == tuple(int(v / 4 + 0.5) for v in expected[j])


def test_flipped_sample_equals_warping_the_mirrored_image(coco):
    ds = make(coco.records, scale_factor=0.0, rotation_prob=0.0)
    r = coco.records[1]
    image = read_image(r.image_path)
    width = image.shape[1]
    flips = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        item = ds[1]
        flips.add(item["flipped"])
        c = item["center"].numpy().astype(np.float64)
        mirrored_c = np.array([width - 1 - c[0], c[1]]) if item["flipped"] else c
        # the official way: mirror the array, move the centre, crop with the plain affine
        src = np.ascontiguousarray(image[:, ::-1]) if item["flipped"] else image
        m = crop_affine(mirrored_c, item["scale"].numpy().astype(np.float64), 0.0, SIZE)
        import cv2

        crop = cv2.warpAffine(src, m, SIZE, flags=cv2.INTER_LINEAR)
        ref = Normalize()(crop)[0]
        assert (item["image"] - ref).abs().max() < 0.05  # <= 1 grey level of rounding
        kps = r.keypoints.copy()
        vis = r.visible.copy()
        if item["flipped"]:
            kps[:, 0] = width - 1 - kps[:, 0]
            kps, vis = kps[COCO.flip_index], vis[COCO.flip_index]
        np.testing.assert_allclose(item["keypoints"][:, :2].numpy(), warp_points(kps, m), atol=1e-3)
        np.testing.assert_array_equal(item["keypoints"][:, 2].numpy(), vis)
    assert flips == {0, 1}


def test_rotated_sample_keypoints_follow_the_crop_matrix(coco):
    ds = make(coco.records, rotation_prob=1.0, flip=False)
    item = ds[2]
    assert item["rotation"] != 0.0 and -80 <= item["rotation"] <= 80
    m = crop_matrix(item["center"].double().numpy(), item["scale"].double().numpy(), item["rotation"], SIZE)
    np.testing.assert_allclose(item["keypoints"][:, :2].numpy(), warp_points(coco.records[2].keypoints, m), atol=1e-2)


def test_augmentation_distribution(coco):
    ds = make(coco.records)
    r = coco.records[0]
    _, base = box_to_center_scale(r.box, SIZE[0] / SIZE[1])
    draws = [ds.augmentation(r, np.random.default_rng([0, i])) for i in range(3000)]
    ratios = np.array([d[1][0] / base[0] for d in draws])
    rots = np.array([d[2] for d in draws])
    flips = np.array([d[3] for d in draws])
    assert ratios.min() >= 0.7 - 1e-9 and ratios.max() <= 1.3 + 1e-9
    # N(1, 0.3) clipped at +-1 sigma: 31.7% on the bounds, std 0.3 * sqrt(0.5161) = 0.2155
    assert abs(np.isclose(np.abs(ratios - 1), 0.3).mean() - 0.317) < 0.03 and abs(ratios.std() - 0.2155) < 0.01
    assert np.abs(rots).max() <= 80 and abs((rots != 0).mean() - 0.6) < 0.04
    assert abs(flips.mean() - 0.5) < 0.04


def test_same_seed_same_sample_new_epoch_new_sample(coco):
    a, b = make(coco.records, seed=3), make(coco.records, seed=3)
    assert torch.equal(a[5]["image"], b[5]["image"])
    b.set_epoch(1)
    assert not torch.equal(a[5]["image"], b[5]["image"])


def test_half_body_crop(coco):
    r = max(coco.records, key=lambda r: (r.visible > 0).sum())
    ds = make([r], half_body=True, half_body_prob=1.0, half_body_min_joints=0)
    lower = lower_body_mask(COCO)
    assert lower.tolist() == [False] * 11 + [True] * 6
    assert lower_body_mask(MPII)[[0, 1, 2, 3, 4, 5, 6]].all() and not lower_body_mask(MPII)[7:].any()
    center, scale = ds.half_body_crop(r.keypoints, r.visible, np.random.default_rng(0))
    chosen = [r.keypoints[(r.visible > 0) & part] for part in (~lower, lower)]
    match = [np.allclose(center, c.mean(0)) for c in chosen]
    assert any(match)
    pts = chosen[match.index(True)]
    w, h = pts.max(0) - pts.min(0)
    w, h = max(w, h * 0.75), max(h, w / 0.75)
    np.testing.assert_allclose(scale, np.array([w, h]) * 1.5, rtol=1e-6)


def test_paper_normalisation_is_bgr_with_rgb_stats():
    crop = np.zeros((1, 2, 2, 3), np.uint8)
    crop[..., 0], crop[..., 2] = 255, 0  # pure blue in BGR
    x = Normalize("bgr")(crop)
    assert x[0, 0, 0, 0] == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)  # channel 0 = B with the R stats
    y = Normalize("rgb")(crop)
    assert y[0, 2, 0, 0] == pytest.approx((1 - 0.406) / 0.225, rel=1e-5)


def test_missing_image_names_the_record(coco, tmp_path):
    import copy

    r = copy.copy(coco.records[0])
    r.image_path = str(tmp_path / "nope.jpg")
    with pytest.raises(FileNotFoundError, match="record 0 .*nope.jpg"):
        make([r])[0]


def test_samples_do_not_depend_on_the_worker_count(coco):
    from simplepose.data.dataset import worker_init

    ds = make(coco.records, half_body=True)
    ds.preload()
    ds.set_epoch(4)
    one = next(iter(DataLoader(ds, batch_size=6)))
    two = next(iter(DataLoader(ds, batch_size=6, num_workers=2, worker_init_fn=worker_init)))
    for key in ("image", "target", "target_weight", "rotation", "flipped"):
        assert torch.equal(one[key], two[key]), key


def test_an_epoch_without_augmentation_gives_the_plain_box_crops(coco):
    """`set_epoch(e, augment=False)` (data.augment_from): the crops of an eval dataset."""
    ds, plain = make(coco.records, half_body=True), make(coco.records, train=False)
    ds.set_epoch(3)
    assert any(ds[i]["flipped"] or ds[i]["rotation"] for i in range(len(ds)))
    ds.set_epoch(3, augment=False)
    for i in range(len(ds)):
        a, b = ds[i], plain[i]
        assert a["flipped"] == 0 and a["rotation"] == 0.0
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["target"], b["target"])


class Niceness(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import os

        return os.nice(0)  # this process's niceness


def test_worker_niceness_is_raised_in_the_workers_only():
    """What the engine asks of workers on CUDA (engine.LOADER_NICENESS), and not of the trainer."""
    import functools
    import os

    from simplepose.data.dataset import worker_init

    mine = os.nice(0)
    niced = DataLoader(Niceness(), batch_size=2, num_workers=1, worker_init_fn=functools.partial(worker_init, nice=5))
    plain = DataLoader(Niceness(), batch_size=2, num_workers=1, worker_init_fn=worker_init)
    assert next(iter(niced)).tolist() == [min(mine + 5, 19)] * 2
    assert next(iter(plain)).tolist() == [mine] * 2 and os.nice(0) == mine


@pytest.mark.parametrize("encoding,decoder", [("paper", "paper"), ("udp", "udp-dark")])
def test_targets_decode_back_to_the_image_joints(coco, encoding, decoder):
    """Sample -> target -> decoder -> inverse crop gives the annotated joints back, for the
    paper's targets and for UDP's (whose crop and stride differ)."""
    codec = HeatmapCodec(SIZE, HM, 2.0, encoding=encoding, decoder=decoder)
    ds = TopDownDataset(coco.records, COCO, codec, SIZE, train=False, cache_images=True)
    for index in range(3):
        item, r = ds[index], coco.records[index]
        ok = (r.visible > 0) & (item["target_weight"][:, 0].numpy() > 0)
        kp, _ = codec.decode(item["target"].numpy()[None], item["center"].numpy()[None], item["scale"].numpy()[None])
        err = np.abs(kp[0, ok] - r.keypoints[ok]).max()
        # paper: within the rounding to the heatmap grid (half a heatmap pixel = 2 px of crop, in image px);
        # UDP + DARK: sub-pixel exact targets decode within a small fraction of that.
        stride_img = item["scale"].numpy()[0] / HM[0]
        assert err <= (0.75 if encoding == "paper" else 0.1) * stride_img


def peak_xy(channel: np.ndarray) -> np.ndarray:
    """(2,) x, y of a heatmap channel's (h, w) highest pixel."""
    row, col = np.unravel_index(int(channel.argmax()), channel.shape)
    return np.array([col, row], dtype=np.float64)


@pytest.mark.parametrize("encoding", ["paper", "udp"])
def test_every_target_peaks_where_its_joint_is(coco, encoding):
    """Augmented training samples (scale, rotation, flip): each supervised joint's channel peaks
    on the heatmap pixel nearest its crop keypoint / stride, and that peak, taken back through
    the sample's own crop, lands on the annotated image joint."""
    import cv2

    codec = HeatmapCodec(SIZE, HM, 2.0, encoding=encoding)
    ds = TopDownDataset(coco.records, COCO, codec, SIZE, train=True, rotation_prob=1.0, cache_images=True)
    stride = codec.stride  # (2,) crop pixels per heatmap pixel: 4 (paper), (in - 1) / (hm - 1) (UDP)
    checked, flips = 0, set()
    for epoch in range(3):
        ds.set_epoch(epoch)
        for index, r in enumerate(coco.records):
            item = ds[index]
            flip = bool(item["flipped"])
            flips.add(flip)
            target, weight = item["target"].numpy(), item["target_weight"][:, 0].numpy()
            kp = item["keypoints"][:, :2].numpy().astype(np.float64)
            width = read_image(r.image_path).shape[1]
            matrix = crop_matrix(
                item["center"].double().numpy(),
                item["scale"].double().numpy(),
                item["rotation"],
                SIZE,
                flip_width=width if flip else 0.0,
                udp=encoding == "udp",
            )
            back = cv2.invertAffineTransform(matrix)
            image_kp = r.keypoints[COCO.flip_index] if flip else r.keypoints  # a mirrored left joint is the right one
            visible = r.visible[COCO.flip_index] if flip else r.visible
            nearest = np.trunc(kp / stride + 0.5)
            on_map = (nearest >= 0).all(1) & (nearest < np.array(HM)).all(1)
            assert (weight[(visible > 0) & on_map] == 1).all()  # labelled joints on the map supervise
            for j in np.flatnonzero((weight > 0) & on_map):
                peak = peak_xy(target[j])
                assert target[j].max() > 0.5
                # The nearest pixel: at most half a heatmap pixel from keypoint / stride on each axis.
                assert np.abs(peak - kp[j] / stride).max() <= 0.5 + 1e-3, (encoding, index, COCO.joints[j])
                # Back to the image: half a heatmap pixel per axis, through the crop's stretch.
                bound = 0.5 * np.linalg.norm(stride) * np.linalg.norm(back[:, :2], 2) + 1e-3
                image_peak = warp_points(peak * stride, back)
                assert np.linalg.norm(image_peak - image_kp[j]) <= bound, (encoding, index, COCO.joints[j])
                checked += 1
    assert flips == {False, True} and checked > 300


def test_unlabelled_joints_get_weight_zero_and_no_target(coco):
    ds = make(coco.records)
    unlabelled = 0
    for epoch in range(2):
        ds.set_epoch(epoch)
        for index, r in enumerate(coco.records):
            item = ds[index]
            visible = r.visible[COCO.flip_index] if item["flipped"] else r.visible
            np.testing.assert_array_equal(item["keypoints"][:, 2].numpy(), visible)
            off = visible == 0
            assert (item["target_weight"][off, 0] == 0).all() and (item["target"][off] == 0).all()
            unlabelled += int(off.sum())
    assert unlabelled > 0  # the sample file has unlabelled joints, so the check ran


@pytest.mark.parametrize("encoding", ["paper", "udp"])
def test_a_flipped_sample_swaps_left_and_right_joints(coco, encoding):
    """Same crop window (no scale or rotation augmentation) with and without the flip: the
    flipped sample's left wrist is where the plain sample's right wrist is, mirrored."""
    codec = HeatmapCodec(SIZE, HM, 2.0, encoding=encoding)
    ds = TopDownDataset(
        coco.records, COCO, codec, SIZE, train=True, scale_factor=0.0, rotation_prob=0.0, cache_images=True
    )
    index = 3
    items = {}
    for epoch in range(20):
        ds.set_epoch(epoch)
        item = ds[index]
        items.setdefault(item["flipped"], item)
    plain, flipped = items[0], items[1]
    assert torch.equal(plain["center"], flipped["center"]) and torch.equal(plain["scale"], flipped["scale"])
    # The mirror of a crop: x -> w - x for the paper's crop (the centre sits at w / 2),
    # x -> w - 1 - x for UDP's (centre at (w - 1) / 2); the same on the heatmap.
    mirror, hm_mirror = (SIZE[0], HM[0]) if encoding == "paper" else (SIZE[0] - 1, HM[0] - 1)
    a, b = plain["keypoints"].numpy(), flipped["keypoints"].numpy()
    left, right = COCO.index("left_wrist"), COCO.index("right_wrist")
    assert COCO.flip_index[left] == right and COCO.flip_index[right] == left
    swapped_matters = False
    for j, src in enumerate(COCO.flip_index):
        assert b[j, 2] == a[src, 2]
        if a[src, 2] == 0:
            continue
        assert abs(b[j, 0] - (mirror - a[src, 0])) < 1e-3 and abs(b[j, 1] - a[src, 1]) < 1e-3, COCO.joints[j]
        swapped_matters |= abs(b[j, 0] - (mirror - a[j, 0])) > 4  # without the swap this joint would be wrong
        if flipped["target_weight"][j, 0] > 0 and plain["target_weight"][src, 0] > 0:
            pa, pb = peak_xy(plain["target"][src].numpy()), peak_xy(flipped["target"][j].numpy())
            assert abs(pb[0] - (hm_mirror - pa[0])) <= 1 and pb[1] == pa[1], COCO.joints[j]
    assert swapped_matters
