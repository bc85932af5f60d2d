"""Layers: shapes, clear errors on bad input, PyTorch-default initialisation, seeding, dropout."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
import tmt_nn
from tmt_nn import Conv2D, Dropout, Flatten, LayerInputError, Linear, MaxPool2D, Network, ReLU, Sigmoid, Tanh


@pytest.fixture(autouse=True)
def _no_manual_seed():
    yield
    tmt_nn.init.manual_seed(None)


def images(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------- shapes


def test_linear_shapes_and_parameters():
    layer = Linear(5, 3)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (3,)
    out = layer(images(4, 5))
    assert isinstance(out, tc.Tensor) and out.shape == (4, 3) and out.dtype == np.float32
    assert Linear(5, 3, bias=False).bias is None and len(Linear(5, 3, bias=False).parameters()) == 1


@pytest.mark.parametrize(
    "activation, check",
    [("relu", lambda y: (y >= 0).all()), ("sigmoid", lambda y: ((y > 0) & (y < 1)).all()), ("tanh", lambda y: (np.abs(y) < 1).all())],
)
def test_linear_activations(activation, check):
    layer = Linear(5, 7, activation=activation, rng=0)
    x = images(6, 5)
    y = layer(x).data
    assert check(y)
    plain = Linear(5, 7, rng=0)(x).data
    np.testing.assert_allclose(y, {"relu": np.maximum(plain, 0), "sigmoid": 1 / (1 + np.exp(-plain)), "tanh": np.tanh(plain)}[activation], rtol=1e-5, atol=1e-6)


def _gradients(output, g, *tensors):
    output.backward(g)
    return [t.grad for t in tensors]


@pytest.mark.parametrize("bias", [True, False])
def test_a_linear_relu_layer_is_one_op_with_the_gradients_of_matmul_add_relu(bias):
    layer = Linear(5, 4, activation="relu", bias=bias, rng=0)
    layer.weight.data[:, 0] = 0  # unit 0 is exactly 0 without a bias: relu'(0) = 0 stops it
    x = tc.Tensor(images(6, 5), requires_grad=True)
    g = images(6, 4, seed=1)
    out = layer(x)
    assert out.grad_fn == "linear"
    params = layer.parameters()
    fused = _gradients(out, g, x, *params)
    z = x @ layer.weight + (layer.bias if bias else 0)
    for p in [x, *params]:
        p.grad = None
    np.testing.assert_array_equal(out.data, tc.ops.relu(z).data)
    for one, other in zip(fused, _gradients(tc.ops.relu(z), g, x, *params)):
        np.testing.assert_allclose(one, other, rtol=1e-6, atol=1e-7)


def test_a_conv_relu_layer_is_one_op_with_the_gradients_of_conv_then_relu():
    layer = Conv2D(2, 3, kernel_size=3, padding=1, activation="relu", rng=0)
    x = tc.Tensor(images(2, 2, 5, 5), requires_grad=True)
    g = images(2, 3, 5, 5, seed=1)
    out = layer(x)
    assert out.grad_fn == "conv2d"
    fused = _gradients(out, g, x, layer.weight, layer.bias)
    for p in (x, layer.weight, layer.bias):
        p.grad = None
    apart = tc.ops.relu(tc.ops.conv2d(x, layer.weight, layer.bias, padding=1))
    np.testing.assert_array_equal(out.data, apart.data)
    for one, other in zip(fused, _gradients(apart, g, x, layer.weight, layer.bias)):
        np.testing.assert_allclose(one, other, rtol=1e-6, atol=1e-6)


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'gelu'.*relu, tanh, sigmoid"):
        Linear(2, 2, activation="gelu")


def test_linear_input_feature_mismatch_names_layer_and_shapes():
    with pytest.raises(LayerInputError, match=r"Linear\(in_features=784, out_features=10\) expects inputs of shape \(\.\.\., 784\), got \(32, 100\)"):
        Linear(784, 10)(np.zeros((32, 100), dtype=np.float32))


def test_conv_output_shape_with_stride_and_padding():
    layer = Conv2D(3, 8, kernel_size=3, stride=2, padding=1)
    assert layer.weight.shape == (8, 3, 3, 3) and layer.bias.shape == (8,)
    assert layer(images(2, 3, 9, 9)).shape == (2, 8, 5, 5)
    assert Conv2D(3, 4, kernel_size=(3, 1))(images(1, 3, 6, 6)).shape == (1, 4, 4, 6)


def test_conv_without_bias_has_only_a_weight():
    layer = Conv2D(1, 2, 3, bias=False)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    layer(images(1, 1, 5, 5)).sum().backward()
    assert layer.weight.grad.shape == (2, 1, 3, 3)


def test_conv_input_not_4d_is_a_clear_error():
    with pytest.raises(LayerInputError, match=r"Conv2D\(1, 16, .*\) expects a 4-D input \(N, C, H, W\), got shape \(32, 784\)"):
        Conv2D(1, 16, 3)(np.zeros((32, 784), dtype=np.float32))


def test_conv_channel_mismatch_names_expected_and_actual_shapes():
    with pytest.raises(LayerInputError, match=r"expects 16 input channel\(s\), shape \(N, 16, H, W\); got shape \(2, 3, 8, 8\) with 3 channel"):
        Conv2D(16, 32, 3)(np.zeros((2, 3, 8, 8), dtype=np.float32))


def test_network_says_which_layer_got_the_wrong_input():
    net = Network([Linear(4, 3), Linear(5, 2)])
    with pytest.raises(LayerInputError, match=r"Network layer \(1\): Linear\(in_features=5"):
        net(np.zeros((2, 4), dtype=np.float32))


def test_maxpool_and_flatten():
    x = images(2, 3, 8, 8)
    assert MaxPool2D(2)(x).shape == (2, 3, 4, 4)
    assert MaxPool2D(pool_size=3, stride=1)(x).shape == (2, 3, 6, 6)
    assert Flatten()(x).shape == (2, 192)
    with pytest.raises(LayerInputError, match="MaxPool2D.*4-D"):
        MaxPool2D(2)(np.zeros((2, 8, 8), dtype=np.float32))


def test_a_cnn_takes_an_empty_batch():
    net = Network([Conv2D(1, 4, 3, padding=1, activation="relu", rng=0), MaxPool2D(2), Flatten(), Linear(4 * 3 * 3, 2, rng=1)])
    x = tc.Tensor(np.zeros((0, 1, 6, 6), dtype=np.float32), requires_grad=True)
    out = net(x)
    assert out.shape == (0, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 1, 6, 6) and not net[0].weight.grad.any()
    assert Flatten(start_dim=2)(images(2, 3, 4, 5)).shape == (2, 3, 20)


def test_activation_layers():
    x = images(3, 4)
    np.testing.assert_allclose(ReLU()(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(Tanh()(x).data, np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(Sigmoid()(x).data, 1 / (1 + np.exp(-x)), rtol=1e-6)


def test_network_is_indexable_sized_and_iterable():
    layers = [Linear(4, 3), ReLU(), Linear(3, 2)]
    net = Network(layers)
    assert len(net) == 3 and net[0] is layers[0] and list(net) == layers
    head = net[1:]
    assert isinstance(head, Network) and len(head) == 2 and head[1] is layers[2]
    assert net(images(5, 4)).shape == (5, 2)
    with pytest.raises(TypeError, match="layer 0 is a str"):
        Network(["relu"])


def test_seed_cnn_shapes():
    model = Network([
        Conv2D(in_channels=1, out_channels=16, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Conv2D(in_channels=16, out_channels=32, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Flatten(),
        Linear(32 * 7 * 7, 128, activation="relu"),
        Linear(128, 10, activation=None),
    ])
    assert model(images(2, 1, 28, 28)).shape == (2, 10)


# ---------------------------------------------------------------------------- initialisation


def test_init_follows_pytorch_bounds():
    layer = Linear(400, 300, rng=0)
    bound = 1 / np.sqrt(400)
    for array in (layer.weight.data, layer.bias.data):
        assert array.dtype == np.float32
        assert np.abs(array).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound  # fills the interval
    # U(-b, b) has variance b²/3
    assert layer.weight.data.var() == pytest.approx(bound**2 / 3, rel=0.05)
    conv = Conv2D(16, 32, 3, rng=0)
    conv_bound = 1 / np.sqrt(16 * 9)
    assert np.abs(conv.weight.data).max() <= conv_bound and np.abs(conv.bias.data).max() <= conv_bound
    assert np.abs(conv.weight.data).max() > 0.95 * conv_bound


def test_rng_argument_makes_a_layer_reproducible():
    a, b = Linear(6, 4, rng=7), Linear(6, 4, rng=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, Linear(6, 4, rng=8).weight.data)
    generator = np.random.default_rng(1)
    c = Linear(6, 4, rng=generator)
    assert not np.array_equal(c.weight.data, Linear(6, 4, rng=generator).weight.data)


def test_manual_seed_makes_a_model_reproducible():
    def build():
        return Network([Linear(5, 4), Conv2D(1, 2, 3), Linear(4, 2)])

    tmt_nn.init.manual_seed(3)
    first = build().state_dict()
    tmt_nn.init.manual_seed(3)
    second = build().state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_without_a_seed_init_follows_numpy_global_state():
    np.random.seed(0)
    first = Linear(5, 4).weight.data.copy()
    np.random.seed(0)
    np.testing.assert_array_equal(Linear(5, 4).weight.data, first)
    assert not np.array_equal(Linear(5, 4).weight.data, first)


# ---------------------------------------------------------------------------- dropout


def test_dropout_is_inverted_while_training_and_the_identity_in_eval():
    layer = Dropout(0.25, rng=0)
    x = np.ones((200, 100), dtype=np.float32)
    y = layer(x).data
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert np.mean(y == 0) == pytest.approx(0.25, abs=0.02)
    assert y.mean() == pytest.approx(1.0, abs=0.03)  # the expectation is kept
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x)


def test_dropout_gradient_is_the_mask():
    layer = Dropout(0.5, rng=1)
    x = tc.Tensor(np.ones((10, 10), dtype=np.float32), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d(x·m)/dx = m, and y = 1·m here


def test_dropout_seeding_and_edge_probabilities():
    x = np.ones((50, 50), dtype=np.float32)
    np.testing.assert_array_equal(Dropout(0.5, rng=3)(x).data, Dropout(0.5, rng=3)(x).data)
    layer = Dropout(0.5, rng=3)
    assert not np.array_equal(layer(x).data, layer(x).data)  # a new mask every call
    np.testing.assert_array_equal(Dropout(0.0)(x).data, x)
    np.testing.assert_array_equal(Dropout(1.0)(x).data, np.zeros_like(x))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        Dropout(1.5)


def test_network_eval_switches_dropout_off():
    net = Network([Linear(4, 4, rng=0), Dropout(0.9, rng=0)])
    x = images(8, 4)
    net.eval()
    np.testing.assert_array_equal(net(x).data, net[0](x).data)


# ---------------------------------------------------------------------------- conv + pool as one op


def _output_and_gradients(run, x, g, params):
    """run(x) and the gradients of x and ``params``, which are then cleared for the next run."""
    x = tc.Tensor(x, requires_grad=True)
    out = run(x)
    grads = _gradients(out, g, x, *params)
    for p in params:
        p.grad = None
    return out, grads


@pytest.mark.parametrize("activation", [None, "relu"])
def test_network_runs_a_conv_before_its_pool_as_one_op_with_the_same_values_and_gradients(activation):
    net = Network([
        Conv2D(2, 4, 3, padding=1, activation=activation, rng=0), MaxPool2D(2),
        Conv2D(4, 3, 3, padding=1, activation=activation, rng=1), MaxPool2D(2),
    ])
    x, g = images(3, 2, 8, 8), images(3, 3, 2, 2, seed=1)
    fused, fused_grads = _output_and_gradients(net, x, g, net.parameters())
    assert fused.grad_fn == "conv2d_pool"

    def one_by_one(x):
        for layer in net:
            x = layer(x)
        return x

    apart, apart_grads = _output_and_gradients(one_by_one, x, g, net.parameters())
    # The fused op's matmul sees the output positions in another order (rows order), and
    # OpenBLAS may round a position's sum differently by where it sits: to rounding, not bits.
    np.testing.assert_allclose(fused.data, apart.data, rtol=1e-6, atol=1e-6)
    for one, other in zip(fused_grads, apart_grads):
        np.testing.assert_allclose(one, other, rtol=1e-5, atol=1e-5)


def test_a_first_conv_on_one_channel_pools_its_planes_with_the_same_values_and_close_weight_gradients():
    net = Network([Conv2D(1, 6, 3, padding=1, activation="relu", rng=0), MaxPool2D(2)])  # pool-ordered
    x, g = images(4, 1, 8, 8), images(4, 6, 4, 4, seed=1)
    fused, (gx, gw, gb) = _output_and_gradients(net, x, g, net.parameters())
    assert fused.grad_fn == "conv2d_pool"
    apart, (ax, aw, ab) = _output_and_gradients(lambda x: net[1](net[0](x)), x, g, net.parameters())
    np.testing.assert_array_equal(fused.data, apart.data)
    np.testing.assert_array_equal(gx, ax)  # the same cotangents, added back in the same order
    # dW and db sum over the output positions in another order (pooling windows' corners first);
    # at other sizes the values may differ in the last place too (see conv2d_pool)
    np.testing.assert_allclose(gw, aw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, ab, rtol=1e-5, atol=1e-6)


def test_a_conv_subclass_or_a_tanh_conv_runs_apart_from_its_pool():
    class Doubled(Conv2D):
        def forward(self, x):
            return super().forward(x) * 2.0

    x = images(2, 1, 6, 6)
    doubled = Network([Doubled(1, 2, 3, padding=1, rng=0), MaxPool2D(2)])
    out = doubled(x)
    assert out.grad_fn == "max_pool2d"
    np.testing.assert_array_equal(out.data, MaxPool2D(2)(doubled[0](x)).data)
    assert Network([Conv2D(1, 2, 3, activation="tanh", rng=0), MaxPool2D(2)])(x).grad_fn == "max_pool2d"


def test_a_patched_conv_forward_runs_apart_from_its_pool(monkeypatch):
    plain = Conv2D.forward
    monkeypatch.setattr(Conv2D, "forward", lambda self, x: plain(self, x) * 2.0)
    x = images(2, 1, 6, 6)
    net = Network([Conv2D(1, 2, 3, padding=1, rng=0), MaxPool2D(2)])
    out = net(x)
    assert out.grad_fn == "max_pool2d"
    np.testing.assert_array_equal(out.data, MaxPool2D(2)(net[0](x)).data)


def test_a_pool_that_does_not_fit_names_both_layers_run_as_one_op():
    net = Network([Linear(4, 4), ReLU(), Conv2D(1, 3, 1, rng=0), MaxPool2D(3)])
    with pytest.raises(tc.errors.OpError, match=r"Network layers \(2\) Conv2D\(1, 3, .*\) and \(3\) MaxPool2D\(pool_size=3\), run as one op: conv2d_pool: pool 3x3 is larger than the input 2x4"):
        net(images(2, 1, 2, 4))
