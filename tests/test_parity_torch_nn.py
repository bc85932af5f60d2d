"""Parity with PyTorch 2.13.0: every layer's forward and gradients (weights copied across), the
functional losses, and SGD / Adam / AdamW steps, equal within float32 tolerance."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch parity tests need torch (pip install torch==2.13.0)"
)

import tmt_core as tc  # noqa: E402
from tmt_nn import Conv2D, Dropout, Flatten, Linear, MaxPool2D, Network, ReLU, Sigmoid, Tanh  # noqa: E402
from tmt_nn import functional as F  # noqa: E402
from tmt_optim import SGD, Adam, AdamW  # noqa: E402

tnn = torch.nn
RTOL, ATOL = 1e-5, 1e-5


def close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def copy_into_torch(ours, theirs):
    """Copy our parameters into the twin torch layer (Linear weights are stored transposed)."""
    with torch.no_grad():
        if isinstance(ours, Linear):
            theirs.weight.copy_(torch.from_numpy(ours.weight.data.T.copy()))
        elif isinstance(ours, Conv2D):
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        if getattr(ours, "bias", None) is not None:
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))


def torch_twin(layer):
    """The torch module computing what our layer computes (activation included)."""
    if isinstance(layer, Network):
        return tnn.Sequential(*(torch_twin(child) for child in layer))
    if isinstance(layer, Linear):
        core = tnn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    elif isinstance(layer, Conv2D):
        core = tnn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride, padding=layer.padding, bias=layer.bias is not None)
    elif isinstance(layer, MaxPool2D):
        return tnn.MaxPool2d(layer.pool_size, stride=layer.stride)
    else:
        return {Flatten: tnn.Flatten, ReLU: tnn.ReLU, Tanh: tnn.Tanh, Sigmoid: tnn.Sigmoid}[type(layer)]()
    copy_into_torch(layer, core)
    activation = {None: None, "relu": tnn.ReLU, "tanh": tnn.Tanh, "sigmoid": tnn.Sigmoid}[layer.activation]
    return core if activation is None else tnn.Sequential(core, activation())


def torch_parameters(module):
    """(value, gradient) of each torch parameter as arrays, in our order, with Linear weights
    transposed to our (in, out) layout."""
    found = []
    for sub in module.modules():
        if isinstance(sub, (tnn.Linear, tnn.Conv2d)):
            flip = (lambda a: a.T) if isinstance(sub, tnn.Linear) else (lambda a: a)
            found.append((flip(sub.weight.detach().numpy()), None if sub.weight.grad is None else flip(sub.weight.grad.numpy())))
            if sub.bias is not None:
                found.append((sub.bias.detach().numpy(), None if sub.bias.grad is None else sub.bias.grad.numpy()))
    return found


def check_layer(layer, x, rtol=RTOL, atol=ATOL):
    """Forward, input gradient and every parameter gradient, for a random output cotangent."""
    twin = torch_twin(layer)
    ours_x = tc.Tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours_out, theirs_out = layer(ours_x), twin(theirs_x)
    close(ours_out.data, theirs_out, rtol, atol, "forward")
    cotangent = random(*ours_out.shape, seed=99)
    (ours_out * cotangent).sum().backward()
    (theirs_out * torch.from_numpy(cotangent)).sum().backward()
    close(ours_x.grad, theirs_x.grad, rtol, atol, "input gradient")
    check_parameters(layer, twin, rtol, atol)


def check_parameters(ours, twin, rtol=RTOL, atol=ATOL, values=False, what=""):
    """Every parameter's gradient (or value) equals its torch twin's."""
    theirs = torch_parameters(twin)
    assert len(ours.parameters()) == len(theirs)
    for (name, parameter), (value, grad) in zip(ours.named_parameters(), theirs):
        if values:
            close(parameter.data, value, rtol, atol, f"{name} {what}")
        else:
            close(parameter.grad, grad, rtol, atol, f"gradient of {name}")


# ---------------------------------------------------------------------------- layers


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(activation, bias):
    check_layer(Linear(7, 5, activation=activation, bias=bias, rng=0), random(6, 7))


@pytest.mark.parametrize(
    "in_channels, out_channels, kernel_size, stride, padding",
    [(1, 4, 3, 1, 0), (1, 16, 3, 1, 1), (3, 8, 3, 2, 1), (2, 5, (3, 2), 1, (1, 0)), (4, 6, 5, 1, 2), (16, 32, 3, 1, 1), (3, 4, 2, 2, 0)],
)
def test_conv2d(in_channels, out_channels, kernel_size, stride, padding):
    layer = Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding, rng=0)
    check_layer(layer, random(2, in_channels, 9, 8), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_conv2d_activation_and_no_bias(activation):
    check_layer(Conv2D(3, 4, 3, padding=1, activation=activation, bias=False, rng=1), random(2, 3, 7, 7), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pool_size, stride", [(2, None), (2, 2), (3, 1), (3, 2)])
def test_max_pool2d(pool_size, stride):
    check_layer(MaxPool2D(pool_size, stride), random(2, 3, 9, 8))


@pytest.mark.parametrize("pool_size, stride", [(2, None), (3, 1), (2, 1), (3, 3)])
@pytest.mark.parametrize("height, width", [(8, 8), (7, 9)], ids=["even", "odd"])
def test_max_pool2d_routes_tied_windows_as_pytorch_does(pool_size, stride, height, width):
    # Values in {0, 1, 2}: most windows hold their maximum two or more times.
    x = np.random.default_rng(7).integers(0, 3, (4, 3, height, width)).astype(np.float32)
    ours_x, theirs_x = tc.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = MaxPool2D(pool_size, stride)(ours_x), tnn.MaxPool2d(pool_size, stride)(theirs_x)
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    g = random(*ours.shape, seed=8)
    ours.backward(g)
    theirs.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(ours_x.grad, theirs_x.grad.numpy())


@pytest.mark.parametrize("pool_size, stride", [(2, None), (3, 1)])
def test_max_pool2d_with_nans_routes_each_window_as_pytorch_does(pool_size, stride):
    x = random(2, 3, 8, 8)
    x[np.random.default_rng(4).random(x.shape) < 0.3] = np.nan  # many windows with two or more
    ours_x, theirs_x = tc.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = MaxPool2D(pool_size, stride)(ours_x), tnn.MaxPool2d(pool_size, stride)(theirs_x)
    np.testing.assert_array_equal(np.isnan(ours.data), torch.isnan(theirs).numpy())
    g = random(*ours.shape, seed=5)
    ours.backward(g)
    theirs.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(ours_x.grad, theirs_x.grad.numpy())


@pytest.mark.parametrize("layer", [Flatten(), ReLU(), Tanh(), Sigmoid()], ids=lambda l: type(l).__name__)
def test_parameterless_layers(layer):
    check_layer(layer, random(3, 2, 4, 5))


def test_dropout_in_eval_mode_is_pytorchs_identity():
    x = random(4, 6)
    ours, theirs = Dropout(0.3, rng=0).eval(), tnn.Dropout(0.3).eval()
    close(ours(x).data, theirs(torch.from_numpy(x)))


def test_mlp_network_with_cross_entropy():
    model = Network([Linear(20, 16, activation="relu", rng=0), Linear(16, 8, activation="tanh", rng=1), Linear(8, 4, rng=2)])
    twin = torch_twin(model)
    x, labels = random(10, 20), np.random.default_rng(0).integers(0, 4, 10)
    loss = F.cross_entropy(model(x), labels)
    their_loss = tnn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(labels))
    close(loss.data, their_loss)
    loss.backward()
    their_loss.backward()
    check_parameters(model, twin)


def test_seed_cnn_network():
    model = Network([
        Conv2D(1, 16, 3, padding=1, activation="relu", rng=0),
        MaxPool2D(2, 2),
        Conv2D(16, 32, 3, padding=1, activation="relu", rng=1),
        MaxPool2D(2, 2),
        Flatten(),
        Linear(32 * 7 * 7, 128, activation="relu", rng=2),
        Linear(128, 10, rng=3),
    ])
    check_layer(model, random(4, 1, 28, 28), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------- functional losses


def test_losses_and_softmax_match_pytorch():
    logits = random(8, 5)
    labels = np.random.default_rng(1).integers(0, 5, 8)
    probabilities = 1 / (1 + np.exp(-random(8, 5, seed=2)))
    targets = (np.random.default_rng(3).random((8, 5)) > 0.5).astype(np.float32)
    tf = torch.nn.functional
    cases = [
        (lambda z: F.cross_entropy(z, labels), lambda z: tf.cross_entropy(z, torch.from_numpy(labels)), logits),
        (lambda z: F.cross_entropy(z, np.eye(5, dtype=np.float32)[labels]), lambda z: tf.cross_entropy(z, torch.from_numpy(np.eye(5, dtype=np.float32)[labels])), logits),
        (lambda z: F.mse(z, targets), lambda z: tf.mse_loss(z, torch.from_numpy(targets)), logits),
        (lambda p: F.binary_cross_entropy(p, targets), lambda p: tf.binary_cross_entropy(p, torch.from_numpy(targets)), probabilities),
        (lambda z: F.binary_cross_entropy_with_logits(z, targets), lambda z: tf.binary_cross_entropy_with_logits(z, torch.from_numpy(targets)), logits),
        (lambda z: (F.softmax(z) * targets).sum(), lambda z: (tf.softmax(z, dim=-1) * torch.from_numpy(targets)).sum(), logits),
        (lambda z: (F.log_softmax(z, axis=0) * targets).sum(), lambda z: (tf.log_softmax(z, dim=0) * torch.from_numpy(targets)).sum(), logits),
    ]
    for index, (ours_fn, theirs_fn, data) in enumerate(cases):
        ours_x, theirs_x = tc.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours, theirs = ours_fn(ours_x), theirs_fn(theirs_x)
        close(ours.data, theirs, what=f"case {index} forward")
        ours.backward()
        theirs.backward()
        close(ours_x.grad, theirs_x.grad, what=f"case {index} gradient")


# ---------------------------------------------------------------------------- optimizers


def twin_models():
    ours = Network([Linear(12, 16, activation="relu", rng=0), Linear(16, 3, rng=1)])
    return ours, torch_twin(ours)


def train_both(ours_optimizer_cls, theirs_optimizer_cls, steps, **options):
    """Identical models and batches; after every step the parameters must agree."""
    ours, theirs = twin_models()
    ours_opt = ours_optimizer_cls(ours.parameters(), **options)
    theirs_opt = theirs_optimizer_cls(theirs.parameters(), **options)
    rng = np.random.default_rng(7)
    for step in range(steps):
        x = rng.standard_normal((16, 12)).astype(np.float32)
        labels = rng.integers(0, 3, 16)
        ours_opt.zero_grad()
        F.cross_entropy(ours(x), labels).backward()
        ours_opt.step()
        theirs_opt.zero_grad()
        tnn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(labels)).backward()
        theirs_opt.step()
        check_parameters(ours, theirs, rtol=1e-5, atol=2e-6, values=True, what=f"after step {step + 1}")


SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.001},
]


@pytest.mark.parametrize("options", SGD_CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("steps", [1, 6])
def test_sgd_steps(options, steps):
    train_both(SGD, torch.optim.SGD, steps, **options)


@pytest.mark.parametrize("options", [{"lr": 1e-3}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 0.01, "weight_decay": 0.05}])
@pytest.mark.parametrize("steps", [1, 6])
def test_adam_steps(options, steps):
    train_both(Adam, torch.optim.Adam, steps, **options)


@pytest.mark.parametrize("options", [{"lr": 1e-3}, {"lr": 0.01, "weight_decay": 0.1}])
@pytest.mark.parametrize("steps", [1, 6])
def test_adamw_steps(options, steps):
    train_both(AdamW, torch.optim.AdamW, steps, **options)


def test_adam_skips_parameters_without_gradients_like_pytorch():
    """A parameter without a gradient keeps its own step count, so bias correction agrees."""
    ours_params = [tc.Tensor(random(3, 2, seed=s), requires_grad=True) for s in range(2)]
    theirs_params = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours_params]
    ours_opt, theirs_opt = Adam(ours_params, lr=0.01), torch.optim.Adam(theirs_params, lr=0.01)
    for step in range(5):
        active = [0] if step < 2 else [0, 1]
        for i in range(2):
            grad = random(3, 2, seed=10 + step) if i in active else None
            ours_params[i].grad = grad
            theirs_params[i].grad = None if grad is None else torch.from_numpy(grad.copy())
        ours_opt.step()
        theirs_opt.step()
    for ours, theirs in zip(ours_params, theirs_params):
        close(ours.data, theirs, atol=1e-6)


def test_default_initialisation_has_pytorchs_distribution():
    torch.manual_seed(0)  # the test's draw must not depend on which tests ran before it
    ours, theirs = Linear(256, 64, rng=0), tnn.Linear(256, 64)
    bound = 1 / np.sqrt(256)
    # U(-bound, bound) has sd bound/√3; a sample of n has an sd that strays ~1/√(2n) relatively
    for a, b, rel in ((ours.weight.data, theirs.weight, 0.05), (ours.bias.data, theirs.bias, 0.35)):
        b = b.detach().numpy()
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        assert a.std() == pytest.approx(bound / np.sqrt(3), rel=rel)
        assert b.std() == pytest.approx(bound / np.sqrt(3), rel=rel)
