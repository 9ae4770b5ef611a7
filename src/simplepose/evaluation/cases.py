"""Generated COCO keypoint evaluation cases (ground truth + predictions) for tests and benchmarks.

Each case mixes what makes evaluation code go wrong: missed people, false positives,
duplicates, crowd regions, people without labelled joints, small / medium / large people,
tied scores.
"""

from __future__ import annotations

import numpy as np

from ..core.skeleton import COCO


def generated_case(num_images: int, seed: int = 0, max_people: int = 8) -> tuple[dict, list[dict]]:
    """A COCO keypoints ground-truth dict and a results list for it.

    Returns:
        (gt, results): gt has images, annotations (with crowd regions and unlabelled people)
        and the COCO person category; results follow the COCO results format.
    """
    rng = np.random.default_rng(seed)
    k = COCO.num_joints
    images, anns, results = [], [], []
    ann_id = 1
    for img_id in range(1, num_images + 1):
        width, height = 640, 480
        images.append({"id": img_id, "file_name": f"{img_id:012d}.jpg", "width": width, "height": height})
        for _ in range(int(rng.integers(0, max_people + 1))):
            size = float(np.exp(rng.uniform(np.log(12), np.log(300))))  # small to large people
            w, h = size * rng.uniform(0.4, 0.8), size
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            kx, ky = x + rng.uniform(0, w, k), y + rng.uniform(0, h, k)
            v = rng.choice([0, 1, 2], size=k, p=[0.3, 0.2, 0.5])
            if rng.random() < 0.08:
                v[:] = 0  # a person with no labelled joints (ignored by the protocol)
            crowd = int(rng.random() < 0.05)
            if crowd:
                v[:] = 0
            kp = np.stack([kx * (v > 0), ky * (v > 0), v], axis=1)
            area = w * h * rng.uniform(0.4, 0.7)
            anns.append(
                {
                    "id": ann_id,
                    "image_id": img_id,
                    "category_id": 1,
                    "iscrowd": crowd,
                    "bbox": [x, y, w, h],
                    "area": area,
                    "num_keypoints": int((v > 0).sum()),
                    "keypoints": [round(float(c), 2) for c in kp.reshape(-1)],
                }
            )
            ann_id += 1
            if crowd or rng.random() < 0.15:
                continue  # missed person
            for _dup in range(1 + int(rng.random() < 0.1)):  # sometimes a duplicate
                noise = rng.normal(0, rng.uniform(0.005, 0.08) * np.sqrt(area), (k, 2))
                px, py = kx + noise[:, 0], ky + noise[:, 1]
                results.append(_result(img_id, px, py, rng))
        for _ in range(int(rng.poisson(1.0))):  # false positives
            size = float(np.exp(rng.uniform(np.log(12), np.log(300))))
            x, y = rng.uniform(0, width - size), rng.uniform(0, height - size)
            results.append(_result(img_id, x + rng.uniform(0, size * 0.6, k), y + rng.uniform(0, size, k), rng))
    gt = {
        "images": images,
        "annotations": anns,
        "categories": [
            {
                "id": 1,
                "name": "person",
                "keypoints": list(COCO.joints),
                "skeleton": [[a + 1, b + 1] for a, b in COCO.limbs],
            }
        ],
    }
    return gt, results


def _result(img_id: int, px: np.ndarray, py: np.ndarray, rng: np.random.Generator) -> dict:
    conf = rng.uniform(0, 1, len(px))
    # Scores rounded to two decimals so that ties occur and tie-breaking is exercised.
    score = round(float(rng.uniform(0.05, 1.0)), 2)
    kp = np.stack([px, py, conf], axis=1).reshape(-1)
    return {"image_id": img_id, "category_id": 1, "keypoints": [round(float(c), 3) for c in kp], "score": score}
