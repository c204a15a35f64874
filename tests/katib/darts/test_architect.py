"""The architecture step changes only the alphas, the weight step only the weights; second order is exact."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from katib.darts.architect import Architect, weight_step
from katib.darts.search import SearchNetwork

LR, MOMENTUM, DECAY = 0.05, 0.9, 3e-4


def setup(space, unrolled, dtype=torch.float32, layers=2):
    torch.manual_seed(0)
    net = SearchNetwork(
        space, input_shape=(1, 8, 8), num_classes=3, init_channels=4, num_layers=layers, num_nodes=2
    )
    net = net.to(dtype)
    w_opt = torch.optim.SGD(net.weight_parameters(), LR, momentum=MOMENTUM, weight_decay=DECAY)
    a_opt = torch.optim.Adam(net.arch_parameters(), 3e-3, betas=(0.5, 0.999), weight_decay=1e-3)
    architect = Architect(net, a_opt, w_momentum=MOMENTUM, w_weight_decay=DECAY, unrolled=unrolled)
    g = torch.Generator().manual_seed(1)
    batches = [
        (torch.randn(8, 64, generator=g, dtype=dtype), torch.randint(0, 3, (8,), generator=g))
        for _ in range(3)
    ]
    return net, w_opt, architect, batches


def snapshot(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def changed(before, after, keys):
    return [k for k in keys if not torch.equal(before[k], after[k])]


@pytest.mark.parametrize("unrolled", [False, True])
def test_architecture_step_changes_the_alphas_and_nothing_else(small_space, unrolled):
    net, w_opt, architect, (train, valid, _) = setup(small_space, unrolled)
    weight_step(net, w_opt, *train, grad_clip=5.0)  # so that momentum buffers exist
    before = snapshot(net)
    architect.step(train, valid, lr=LR, w_optimizer=w_opt)
    after = snapshot(net)
    alpha_keys = {"alpha_normal", "alpha_reduce"}
    assert set(changed(before, after, before)) == alpha_keys  # no weight, no batch-norm statistic


def test_weight_step_changes_weights_but_never_the_alphas(small_space):
    net, w_opt, _, (train, _, _) = setup(small_space, unrolled=False)
    before = snapshot(net)
    weight_step(net, w_opt, *train, grad_clip=5.0)
    after = snapshot(net)
    assert not changed(before, after, ["alpha_normal", "alpha_reduce"])
    assert all(a.grad is None for a in net.arch_parameters())
    assert changed(before, after, [k for k in before if k.startswith("cells.")])


def test_first_order_gradient_depends_only_on_the_validation_batch(small_space):
    _net, w_opt, architect, (a, b, c) = setup(small_space, unrolled=False)
    g1, _ = architect.gradient(a, b, lr=LR, w_optimizer=w_opt)
    g2, _ = architect.gradient(c, b, lr=LR, w_optimizer=w_opt)
    g3, _ = architect.gradient(a, c, lr=LR, w_optimizer=w_opt)
    assert all(torch.equal(x, y) for x, y in zip(g1, g2, strict=True))
    assert not torch.allclose(g1[0], g3[0])


def test_first_and_second_order_give_different_gradients(small_space):
    net, w_opt, first, (train, valid, _) = setup(small_space, unrolled=False)
    second = Architect(net, first.alpha_optimizer, w_momentum=MOMENTUM, w_weight_decay=DECAY, unrolled=True)
    g_first, _ = first.gradient(train, valid, lr=LR, w_optimizer=w_opt)
    g_second, _ = second.gradient(train, valid, lr=LR, w_optimizer=w_opt)
    assert all(torch.isfinite(g).all() for g in g_second)
    assert not torch.allclose(g_first[0], g_second[0])


def test_second_order_gradient_matches_exact_differentiation_through_the_virtual_step(small_space):
    """The finite-difference formula against autograd's exact unrolled gradient, in float64.

    A ReLU network's gradient jumps where an activation changes sign, so the comparison uses a step far
    below the paper's 0.01 / ||dw'|| to stay clear of such kinks on this tiny batch.
    """
    net, w_opt, architect, (train, valid, _) = setup(small_space, unrolled=True, dtype=torch.float64)
    assert architect.fd_scale == 0.01
    architect.fd_scale = 1e-6
    weight_step(net, w_opt, *train, grad_clip=5.0)  # momentum buffers take part in the virtual step
    approx, _ = architect.gradient(train, valid, lr=LR, w_optimizer=w_opt)
    assert torch.linalg.vector_norm(approx[0]) > 0

    params = dict(net.named_parameters())
    alphas = {n: p for n, p in params.items() if n.startswith("alpha_")}
    weights = {n: p for n, p in params.items() if n not in alphas}

    def loss(tensors, batch):
        buffers = {n: b.clone() for n, b in net.named_buffers()}
        return F.cross_entropy(functional_call(net, {**tensors, **buffers}, (batch[0],)), batch[1])

    grads = torch.autograd.grad(loss({**weights, **alphas}, train), list(weights.values()), create_graph=True)
    virtual = {
        n: w - LR * (MOMENTUM * w_opt.state[w]["momentum_buffer"] + g + DECAY * w)
        for (n, w), g in zip(weights.items(), grads, strict=True)
    }
    exact = torch.autograd.grad(loss({**virtual, **alphas}, valid), list(alphas.values()))
    first_order = torch.autograd.grad(loss({**weights, **alphas}, valid), list(alphas.values()))
    for a, e, f in zip(approx, exact, first_order, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-6, atol=1e-9)
        assert not torch.allclose(a, f)


@pytest.mark.parametrize("unrolled", [False, True])
def test_alphas_move_only_in_architecture_steps_during_a_search(small_space, unrolled):
    net, w_opt, architect, batches = setup(small_space, unrolled)
    start = net.alpha_normal.detach().clone()
    for train, valid in itertools.pairwise(batches):
        alphas = net.alpha_normal.detach().clone()
        weight_step(net, w_opt, *train, grad_clip=5.0)
        assert torch.equal(net.alpha_normal, alphas)
        architect.step(train, valid, lr=LR, w_optimizer=w_opt)
        assert not torch.equal(net.alpha_normal, alphas)
    assert not torch.equal(net.alpha_normal, start)


def test_zero_gradient_clip_turns_clipping_off(small_space):
    net, w_opt, _, (train, _, _) = setup(small_space, unrolled=False)
    loss, logits = weight_step(net, w_opt, *train, grad_clip=0.0)
    assert logits.shape == (8, 3) and loss > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.weight_parameters())
