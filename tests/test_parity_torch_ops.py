"""Parity with PyTorch (CPU, float32) for the conv and loss op families: forward values and
gradients of every input, within float32 tolerance."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: parity tests need it (pip install torch==2.13.0)"
)
F = torch.nn.functional


def _close(got, want, rtol=1e-4, atol=1e-5):
    """float32 tolerance, scaled by the magnitude of the reference."""
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * max(1.0, float(np.abs(want).max(initial=0))))


def _both(array, requires_grad=True):
    """The same float32 data as a tmt tensor and a torch tensor."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    return tc.Tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _backward_both(ours, theirs, rng=None):
    """The same cotangent into both: a random one from ``rng``, else the default (1 for a loss)."""
    if rng is None:
        ours.backward()
        theirs.backward()
        return
    g = rng.standard_normal(ours.shape).astype(np.float32)
    ours.backward(g)
    theirs.backward(torch.from_numpy(g))


def _assert_agree(ours, theirs, inputs, rng=None):
    """The same value; then, after the same backward, the same gradient for each input given as
    a (tmt tensor, torch tensor) pair."""
    _close(ours.data, theirs)
    _backward_both(ours, theirs, rng)
    for mine, torch_one in inputs:
        _close(mine.grad, torch_one.grad)


# ---------------------------------------------------------------------------- conv and pooling

CONV_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding
    ((4, 1, 28, 28), (16, 3, 3), 1, 1),
    ((4, 16, 14, 14), (32, 3, 3), 1, 1),
    ((2, 3, 9, 7), (4, 3, 2), 2, (1, 0)),
    ((2, 2, 8, 8), (5, 5, 5), 3, 2),
    ((3, 4, 6, 6), (2, 1, 1), 1, 0),
    ((2, 3, 10, 11), (6, 3, 3), (2, 1), (0, 2)),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES, ids=str)
def test_conv2d(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    o, kh, kw = w_shape
    x, tx = _both(rng.standard_normal(x_shape))
    w, tw = _both(rng.standard_normal((o, x_shape[1], kh, kw)) * 0.3)
    b, tb = _both(rng.standard_normal(o))
    ours = tc.ops.conv2d(x, w, b, stride=stride, padding=padding)
    theirs = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    _assert_agree(ours, theirs, [(x, tx), (w, tw), (b, tb)], rng)


POOL_CASES = [
    ((4, 16, 28, 28), 2, None),
    ((2, 3, 9, 9), 3, 2),
    ((2, 3, 7, 8), (2, 3), (1, 2)),
    ((2, 2, 7, 7), 2, None),
]


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "relu ties"])
@pytest.mark.parametrize("x_shape, pool, stride", POOL_CASES, ids=str)
def test_max_pool2d(x_shape, pool, stride, ties):
    rng = np.random.default_rng(1)
    data = rng.standard_normal(x_shape)
    if ties:  # what a pooling layer after ReLU sees: many equal zeros in one window
        data = np.maximum(data, 0)
    x, tx = _both(data)
    ours = tc.ops.max_pool2d(x, pool_size=pool, stride=stride)
    theirs = F.max_pool2d(tx, pool, stride=stride)
    _close(ours.data, theirs, rtol=0, atol=0)
    _backward_both(ours, theirs, rng)
    _close(x.grad, tx.grad, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- softmax and losses


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis", [((8, 10), -1), ((8, 10), 0), ((2, 3, 5), 1), ((4, 6), 1)])
def test_softmax_family(name, shape, axis):
    rng = np.random.default_rng(2)
    x, tx = _both(rng.standard_normal(shape) * 4)
    ours = getattr(tc.ops, name)(x, axis=axis)
    theirs = getattr(F, name)(tx, dim=axis)
    _assert_agree(ours, theirs, [(x, tx)], rng)


@pytest.mark.parametrize("target_kind", ["labels", "one-hot", "probabilities"])
def test_cross_entropy(target_kind):
    rng = np.random.default_rng(3)
    logits, t_logits = _both(rng.standard_normal((16, 10)) * 3)
    labels = rng.integers(0, 10, 16)
    if target_kind == "labels":
        target, t_target = labels, torch.from_numpy(labels)
    else:
        rows = np.eye(10)[labels] if target_kind == "one-hot" else rng.dirichlet(np.ones(10), 16)
        target = rows.astype(np.float32)
        t_target = torch.from_numpy(target)
    ours = tc.ops.cross_entropy(logits, target)
    theirs = F.cross_entropy(t_logits, t_target)
    _assert_agree(ours, theirs, [(logits, t_logits)])


def test_mse():
    rng = np.random.default_rng(4)
    pred, t_pred = _both(rng.standard_normal((8, 3)))
    target, t_target = _both(rng.standard_normal((8, 3)))
    ours, theirs = tc.ops.mse(pred, target), F.mse_loss(t_pred, t_target)
    _assert_agree(ours, theirs, [(pred, t_pred), (target, t_target)])


@pytest.mark.parametrize("edges", [False, True], ids=["interior", "p at 0 and 1"])
def test_binary_cross_entropy(edges):
    rng = np.random.default_rng(5)
    p_data = rng.uniform(0.02, 0.98, (6, 4))
    if edges:
        p_data[0, :] = [0.0, 1.0, 0.0, 1.0]
    t_data = rng.uniform(0, 1, (6, 4))
    t_data[0, :] = [0.0, 1.0, 1.0, 0.0]
    p, t_p = _both(p_data)
    target, t_target = _both(t_data)
    ours = tc.ops.binary_cross_entropy(p, target)
    theirs = F.binary_cross_entropy(t_p, t_target)
    _assert_agree(ours, theirs, [(p, t_p)])
    # d/dtarget at p in {0, 1}: tmt differentiates its clamped logs (finite, see the loss
    # module's convention) where PyTorch returns ±inf; everywhere else they agree.
    rows = slice(1, None) if edges else slice(None)
    _close(target.grad[rows], t_target.grad[rows])
    if edges:
        np.testing.assert_allclose(target.grad[0], np.array([100.0, -100.0, 100.0, -100.0]) / 24, rtol=1e-6)


def test_binary_cross_entropy_with_logits():
    rng = np.random.default_rng(6)
    z_data = rng.standard_normal((6, 4)) * 5
    z_data[0, :2] = [-200.0, 300.0]
    z, t_z = _both(z_data)
    target, t_target = _both(rng.uniform(0, 1, (6, 4)))
    ours = tc.ops.binary_cross_entropy_with_logits(z, target)
    theirs = F.binary_cross_entropy_with_logits(t_z, t_target)
    _assert_agree(ours, theirs, [(z, t_z), (target, t_target)])
