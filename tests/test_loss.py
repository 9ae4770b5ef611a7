import torch

from simplepose.training.loss import JointsMSELoss, JointsOHKMLoss


def official_mse(pred, gt, w):
    """The paper's loop: per joint, 0.5 * MSE over batch and pixels of w*pred vs w*gt; mean of joints."""
    n, k = pred.shape[:2]
    total = 0.0
    for j in range(k):
        p = pred[:, j].reshape(n, -1) * w[:, j]
        g = gt[:, j].reshape(n, -1) * w[:, j]
        total += 0.5 * torch.nn.functional.mse_loss(p, g)
    return total / k


def test_mse_matches_the_official_per_joint_loop():
    g = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(3, 5, 8, 6, generator=g), torch.rand(3, 5, 8, 6, generator=g)
    w = (torch.rand(3, 5, 1, generator=g) > 0.3).float()
    loss = JointsMSELoss()(pred, gt, w)
    assert torch.allclose(loss, official_mse(pred, gt, w))
    assert torch.allclose(JointsMSELoss()(pred, gt, w[..., 0]), loss)  # (N, K) weights too
    assert torch.allclose(JointsMSELoss(use_target_weight=False)(pred, gt, w), 0.5 * ((pred - gt) ** 2).mean())


def test_zero_weight_joint_has_no_gradient():
    pred = torch.rand(2, 3, 4, 4, requires_grad=True)
    w = torch.tensor([[1.0, 0.0, 1.0]] * 2)
    JointsMSELoss()(pred, torch.rand(2, 3, 4, 4), w).backward()
    assert pred.grad[:, 1].abs().max() == 0 and pred.grad[:, 0].abs().max() > 0


def test_ohkm_averages_the_hardest_joints_per_sample():
    pred = torch.zeros(2, 4, 2, 2)
    gt = torch.zeros(2, 4, 2, 2)
    gt[0, :, 0, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0])  # joint losses 0.5 * v^2 / 4
    gt[1, 0, 0, 0] = 2.0
    w = torch.ones(2, 4, 1)

    def per(v):
        return 0.5 * v**2 / 4

    expected = ((per(4.0) + per(3.0)) / 2 + (per(2.0) + 0) / 2) / 2
    assert torch.allclose(JointsOHKMLoss(topk=2)(pred, gt, w), torch.tensor(expected))
    assert torch.allclose(JointsOHKMLoss(topk=4)(pred, gt, w), JointsMSELoss()(pred, gt, w))
