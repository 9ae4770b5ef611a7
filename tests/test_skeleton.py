"""Skeleton helpers: joints shared by name between two skeletons."""

import numpy as np

from simplepose.core.skeleton import COCO, CROWDPOSE, MPII, POSETRACK, common_joints


def test_common_joints_pairs_every_shared_name_in_the_first_skeletons_order():
    for a, b in ((COCO, POSETRACK), (POSETRACK, COCO), (MPII, COCO), (COCO, CROWDPOSE)):
        pairs = common_joints(a, b)
        assert all(a.joints[i] == b.joints[j] for i, j in pairs)
        assert [a.joints[i] for i, _ in pairs] == [n for n in a.joints if n in b.joints]
        assert [i for i, _ in pairs] == sorted(i for i, _ in pairs)
    # COCO's eyes are not PoseTrack joints, PoseTrack's head_bottom / head_top not COCO's.
    shared = {COCO.joints[i] for i, _ in common_joints(COCO, POSETRACK)}
    assert "nose" in shared and "left_ankle" in shared
    assert not shared & {"left_eye", "right_eye", "head_bottom", "head_top"}
    assert common_joints(COCO, COCO) == [(i, i) for i in range(COCO.num_joints)]


def test_common_joints_carries_keypoints_across_skeletons():
    # What writing a COCO model's poses in PoseTrack's joint order does, joint by joint.
    kp = np.arange(COCO.num_joints * 2, dtype=float).reshape(-1, 2)
    out = np.full((POSETRACK.num_joints, 2), np.nan)
    for i, j in common_joints(COCO, POSETRACK):
        out[j] = kp[i]
    for j, name in enumerate(POSETRACK.joints):
        if name in COCO.joints:
            np.testing.assert_array_equal(out[j], kp[COCO.index(name)])
        else:
            assert np.isnan(out[j]).all()
