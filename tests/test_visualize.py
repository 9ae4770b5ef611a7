"""Drawing: sides in their colours, unconfident joints hidden, ids, video writing."""

import cv2
import numpy as np

from simplepose.core.poses import Poses
from simplepose.core.skeleton import COCO
from simplepose.core.visualize import SIDE_COLORS, VideoWriter, draw_poses


def pose_at(x0, conf):
    kp = np.zeros((1, 17, 3))
    kp[0, :, 0] = x0 + np.arange(17) * 10
    kp[0, :, 1] = 100
    kp[0, :, 2] = conf
    return kp


def test_sides_coloured_and_unconfident_joints_hidden(tmp_path):
    image = np.zeros((200, 600, 3), np.uint8)
    kp = np.concatenate([pose_at(20, 0.9), pose_at(300, 0.1)])
    poses = Poses(kp, np.array([[0, 0, 10, 10], [0, 0, 10, 10.0]]), np.ones(2))
    out = draw_poses(image, poses, COCO, kpt_thresh=0.3, show_boxes=False)
    lw, rw = COCO.index("left_wrist"), COCO.index("right_wrist")
    assert tuple(out[100, int(kp[0, lw, 0])]) == SIDE_COLORS["left"]
    assert tuple(out[100, int(kp[0, rw, 0])]) == SIDE_COLORS["right"]
    assert not out[:, 290:].any()  # the second person's joints are all under the threshold
    assert not image.any()  # the input is left alone


def test_track_ids_drawn_and_video_written(tmp_path):
    image = np.zeros((120, 160, 3), np.uint8)
    poses = Poses(pose_at(10, 0.9), np.array([[20, 30, 100, 110.0]]), np.ones(1)).with_track_ids([3])
    out = draw_poses(image, poses, COCO, show_ids=True)
    assert out[30:111, 20].any()  # the box edge
    path = tmp_path / "v.mp4"
    with VideoWriter(path, fps=10) as w:
        for _ in range(3):
            w.write(out)
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 3
