"""The conv op family (conv2d, max_pool2d, im2col, im2patches): layouts, strided inputs, threads,
the pooling tie convention, and errors on bad input (every sample's values, gradients and
float32 are in test_ops_samples.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core.errors import OpError
from tmt_ops import _parallel, conv

from gradcheck import finite_difference_vjp, sample_params

OPS = {op.name: op for op in conv.OPS}
CASES = sample_params(conv.OPS)


@pytest.mark.parametrize("op, sample", CASES)
def test_strided_inputs_give_the_contiguous_result(op, sample):
    strided = [np.asfortranarray(a) if np.ndim(a) > 1 else a for a in sample.args]
    want, res = op.forward(*sample.args, **sample.attrs)
    got, res_strided = op.forward(*strided, **sample.attrs)
    np.testing.assert_array_equal(got, want)
    g = np.asfortranarray(np.random.default_rng(2).standard_normal(want.shape))
    for a, b in zip(op.vjp(g, res_strided, **sample.attrs), op.vjp(np.ascontiguousarray(g), res, **sample.attrs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.fixture
def threaded(monkeypatch):
    """Split even the tiny sample batches and matmuls across three threads (as big ones are)."""
    monkeypatch.setenv("TMT_NUM_THREADS", "3")
    monkeypatch.setattr(_parallel, "_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_parallel, "_MIN_MATMUL", 0)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    yield
    if _parallel._WORKERS.pool is not None:
        _parallel._WORKERS.pool.shutdown(wait=True)


@pytest.mark.parametrize("op, sample", CASES)
def test_threaded_batches_give_the_serial_result(op, sample, threaded):
    rng = np.random.default_rng(6)
    batch = [np.concatenate([a] * 3) if i == 0 else a for i, a in enumerate(sample.args)]
    out, res = op.forward(*batch, **sample.attrs)
    np.testing.assert_allclose(out, op.reference(*batch, **sample.attrs), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    want = finite_difference_vjp(op, batch, sample.attrs, g) if sample.jacobian else None
    got = op.vjp(g, res, **sample.attrs)
    again = op.vjp(g, res, **sample.attrs)
    for i, cot in enumerate(got):
        np.testing.assert_array_equal(cot, again[i])  # the same every time, whatever the threads
        if want is not None:
            np.testing.assert_allclose(cot, want[i], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("channels", [1, 8], ids=["one channel", "eight channels"])
@pytest.mark.parametrize("needs", [(False, True, True), (True, False, False), (False, False, True)])
def test_conv2d_vjp_computes_only_the_cotangents_asked_for(needs, channels):
    rng = np.random.default_rng(7)
    args = (rng.standard_normal((3, channels, 6, 6)), rng.standard_normal((4, channels, 3, 3)), rng.standard_normal(4))
    out, res = OPS["conv2d"].forward(*args, padding=1)
    g = rng.standard_normal(out.shape)
    full = OPS["conv2d"].vjp(g, res, padding=1)
    partial = OPS["conv2d"].vjp(g, res, padding=1, needs=needs)
    for wanted, whole, part in zip(needs, full, partial):
        if wanted:
            np.testing.assert_allclose(part, whole, rtol=1e-12)
        else:
            assert part is None


def test_a_first_layer_gets_weight_gradients_without_an_input_gradient():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 1, 5, 5)).astype(np.float32)
    w = tc.Tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    b = tc.Tensor(np.zeros(3), requires_grad=True)
    g = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    tc.ops.conv2d(x, w, b, padding=1).backward(g)
    _, res = OPS["conv2d"].forward(x, w.data, b.data, padding=1)
    _, gw, gb = OPS["conv2d"].vjp(g, res, padding=1)
    np.testing.assert_allclose(w.grad, gw, rtol=1e-6)
    np.testing.assert_allclose(b.grad, gb, rtol=1e-6)


# ---------------------------------------------------------------------------- layouts


def test_im2col_layout_is_the_convolution_as_a_matmul():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    cols = tc.ops.im2col(x, kernel_size=(3, 2), stride=2, padding=1).data
    out = tc.ops.conv2d(x, w, b, stride=2, padding=1).data
    n, o, oh, ow = out.shape
    assert cols.shape == (n * oh * ow, 3 * 3 * 2)
    as_matmul = (cols @ w.reshape(5, -1).T + b).reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(as_matmul, out, rtol=1e-5, atol=1e-5)


def test_im2patches_layout():
    x = np.arange(2 * 2 * 4 * 5, dtype=np.float32).reshape(2, 2, 4, 5)
    patches = tc.ops.im2patches(x, kernel_size=(2, 3), stride=(2, 1)).data
    assert patches.shape == (2, 2, 2, 3, 2, 3)  # (N, C, OH, OW, kh, kw)
    np.testing.assert_array_equal(patches[1, 0, 1, 2], x[1, 0, 2:4, 2:5])
    cols = tc.ops.im2col(x, kernel_size=(2, 3), stride=(2, 1)).data
    np.testing.assert_array_equal(patches.transpose(0, 2, 3, 1, 4, 5).reshape(cols.shape), cols)


def test_im2patches_is_a_copy_not_a_view_of_the_input():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    patches = tc.ops.im2patches(x, kernel_size=2).data
    assert not np.shares_memory(patches, x)


def test_im2col_vjp_sums_overlapping_windows():
    x = tc.Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    tc.ops.im2col(x, kernel_size=2).backward(np.ones((4, 4), dtype=np.float32))
    # how many 2x2 windows cover each pixel of a 3x3 image
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize(
    "kernel, stride, padding, block",
    [
        ((3, 3), 2, 1, None),
        ((3, 3), 1, 1, None),
        ((3, 3), 1, 1, 1),  # one image a block: the stacked buffer filled block by block
        ((2, 3), 1, (0, 2), 1),
        ((1, 1), 1, 2, None),  # padding past the kernel: images start OH rows apart
        ((3, 2), 1, (3, 0), 1),
    ],
)
def test_conv2d_gradients_agree_with_the_im2col_composition(kernel, stride, padding, block, monkeypatch):
    if block is not None:
        monkeypatch.setattr(conv.columns, "_BLOCK_ELEMENTS", block)
    rng = np.random.default_rng(5)
    x = tc.Tensor(rng.standard_normal((3, 2, 5, 6)), requires_grad=True, dtype=np.float64)
    w = tc.Tensor(rng.standard_normal((4, 2) + kernel), requires_grad=True, dtype=np.float64)
    out = tc.ops.conv2d(x, w, np.zeros(4), stride=stride, padding=padding)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    gx, gw = x.grad, w.grad
    cols = tc.ops.im2col(x, kernel_size=kernel, stride=stride, padding=padding).data
    g_rows = g.transpose(0, 2, 3, 1).reshape(-1, 4)  # (N*OH*OW, O)
    np.testing.assert_allclose(gw, (g_rows.T @ cols).reshape(w.shape), rtol=1e-12)
    x.grad = None
    tc.ops.im2col(x, kernel_size=kernel, stride=stride, padding=padding).backward(g_rows @ w.data.reshape(4, -1))
    np.testing.assert_allclose(gx, x.grad, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- max_pool2d convention


@pytest.mark.parametrize("convention", OPS["max_pool2d"].conventions, ids=lambda c: c.rule)
def test_max_pool2d_conventions(convention):
    out, res = OPS["max_pool2d"].forward(*convention.args, **convention.attrs)
    (gx,) = OPS["max_pool2d"].vjp(convention.g, res, **convention.attrs)
    np.testing.assert_array_equal(gx, convention.expected[0])


def test_max_pool2d_all_equal_window_routes_to_the_top_left():
    x = tc.Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    tc.ops.max_pool2d(x, pool_size=3).backward(np.full((1, 1, 1, 1), 2.0, dtype=np.float32))
    expected = np.zeros((3, 3))
    expected[0, 0] = 2.0
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_tie_between_rows_prefers_the_earlier_row_over_the_earlier_column():
    # (0,1) and (1,0) tie: row-major order picks (0,1), a column-first scan would pick (1,0)
    x = tc.Tensor(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]), requires_grad=True)
    tc.ops.max_pool2d(x).backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    np.testing.assert_array_equal(x.grad[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_max_pool2d_stride_defaults_to_pool_size_and_drops_the_remainder():
    x = np.arange(7 * 7, dtype=np.float32).reshape(1, 1, 7, 7)
    out = tc.ops.max_pool2d(x, pool_size=3).data
    np.testing.assert_array_equal(out[0, 0], [[16, 19], [37, 40]])


def test_max_pool2d_overlapping_windows_add_up_on_a_shared_maximum():
    x = tc.Tensor(np.array([[[[0.0, 9.0, 0.0, 0.0]]]]), requires_grad=True)
    tc.ops.max_pool2d(x, pool_size=(1, 2), stride=1).backward(np.array([[[[1.0, 2.0, 4.0]]]], dtype=np.float32))
    # windows [0, 9], [9, 0], [0, 0]: the 9 collects 1 + 2, the all-zero window routes to its first
    np.testing.assert_array_equal(x.grad[0, 0], [[0.0, 3.0, 4.0, 0.0]])


# ---------------------------------------------------------------------------- bad input


def _image(*shape):
    return np.zeros(shape, dtype=np.float32)


@pytest.mark.parametrize(
    "call, words",
    [
        pytest.param(lambda: tc.ops.conv2d(_image(3, 8, 8), _image(4, 3, 3, 3), _image(4)), ["conv2d", "4-D", "(3, 8, 8)"], id='conv2d: 3-D input'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 3, 8, 8), _image(4, 1, 3, 3), _image(4)), ["conv2d", "3 channels", "(2, 3, 8, 8)", "(4, 1, 3, 3)"], id='conv2d: channel mismatch'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 7, 7), _image(4), padding=1), ["conv2d", "7x7", "padded input 6x6", "(2, 1, 4, 4)"], id='conv2d: kernel larger than padded input'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(4), stride=0), ["conv2d", "stride", "positive", "0"], id='conv2d: stride 0'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(4), stride=(1, -2)), ["conv2d", "stride", "(1, -2)"], id='conv2d: negative stride'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(4), padding=-1), ["conv2d", "padding", "non-negative"], id='conv2d: negative padding'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(3)), ["conv2d", "bias", "(4,)", "(3,)"], id='conv2d: bias shape'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 3, 3), _image(4)), ["conv2d", "w", "(4, 3, 3)"], id='conv2d: 3-D weight'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(4), stride=1.5), ["conv2d", "stride", "1.5"], id='conv2d: float stride'),
        pytest.param(lambda: tc.ops.conv2d(_image(2, 1, 4, 4), _image(4, 1, 3, 3), _image(4), activation="tanh"), ["conv2d", "activation", "'relu'", "'tanh'"], id='conv2d: activation it cannot fuse'),
        pytest.param(lambda: tc.ops.max_pool2d(_image(2, 3, 5)), ["max_pool2d", "4-D", "(2, 3, 5)"], id='max_pool2d: 3-D input'),
        pytest.param(lambda: tc.ops.max_pool2d(_image(2, 3, 1, 5)), ["max_pool2d", "pool 2x2", "1x5", "(2, 3, 1, 5)"], id='max_pool2d: pool does not fit'),
        pytest.param(lambda: tc.ops.max_pool2d(_image(2, 3, 4, 4), pool_size=2, stride=0), ["max_pool2d", "stride", "0"], id='max_pool2d: stride 0'),
        pytest.param(lambda: tc.ops.max_pool2d(_image(2, 3, 4, 4), pool_size=0), ["max_pool2d", "pool_size", "0"], id='max_pool2d: pool_size 0'),
        pytest.param(lambda: tc.ops.max_pool2d(tc.Tensor(_image(1, 1, 4, 4)), 2), ["max_pool2d", "keywords", "pool_size="], id="max_pool2d: pool_size passed positionally"),
        pytest.param(lambda: tc.ops.im2col(_image(1, 1, 2, 2), kernel_size=3), ["im2col", "3x3", "2x2", "(1, 1, 2, 2)"], id='im2col: kernel larger than input'),
        pytest.param(lambda: tc.ops.im2patches(_image(1, 2, 2), kernel_size=1), ["im2patches", "4-D", "(1, 2, 2)"], id='im2patches: 3-D input'),
    ],
)
def test_bad_input_names_the_op_and_the_shapes(call, words):
    with pytest.raises(OpError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_conv_ops_are_registered_through_the_default_plugin():
    for name in ("conv2d", "max_pool2d", "im2col", "im2patches"):
        assert tc.get_op(name) is OPS[name]


@pytest.mark.parametrize("shapes", [((0, 2, 5, 5), (3, 2, 3, 3)), ((2, 0, 5, 5), (3, 0, 3, 3)), ((2, 2, 5, 5), (0, 2, 3, 3))],
                         ids=["no images", "no channels", "no filters"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("name, reference", [("conv2d", conv._conv_reference), ("conv2d_pool", conv._conv_pool_reference)])
def test_conv2d_takes_empty_batches_channels_and_filters(shapes, stride, activation, name, reference):
    x, w, b = np.ones(shapes[0]), np.ones(shapes[1]), np.zeros(shapes[1][0])
    attrs = dict(stride=stride, padding=1, activation=activation)
    out, res = OPS[name].forward(x, w, b, **attrs)
    np.testing.assert_array_equal(out, reference(x, w, b, **attrs))
    gx, gw, gb = OPS[name].vjp(np.ones(out.shape), res, **attrs)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[0],)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_with_relu_is_relu_of_conv2d_even_where_the_output_is_exactly_zero(stride):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3, 6, 6)).astype(np.float32), rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    w[0] = 0  # filter 0 gives exactly 0 everywhere: relu'(0) = 0 must stop its gradient
    b = np.array([0, 0.5, -0.5, 0, 1], dtype=np.float32)
    g = rng.standard_normal((4, 5, 6 // stride, 6 // stride)).astype(np.float32)
    fused = [tc.Tensor(a, requires_grad=True) for a in (x, w, b)]
    tc.ops.conv2d(*fused, stride=stride, padding=1, activation="relu").backward(g)
    apart = [tc.Tensor(a, requires_grad=True) for a in (x, w, b)]
    tc.ops.relu(tc.ops.conv2d(*apart, stride=stride, padding=1)).backward(g)
    for one, other in zip(fused, apart):
        np.testing.assert_array_equal(one.grad, other.grad)
    assert fused[2].grad[0] == 0


def test_an_infinite_weight_spoils_no_input_gradient_it_does_not_touch():
    x, w = np.ones((1, 1, 3, 4)), np.array([[[[1.0, np.inf]]]])
    out, res = OPS["conv2d"].forward(x, w, np.zeros(1))
    gx, _, _ = OPS["conv2d"].vjp(np.ones(out.shape), res)
    # column 0 is read only by the finite weight; the others by the infinite one too
    np.testing.assert_array_equal(gx[0, 0], [[1.0, np.inf, np.inf, np.inf]] * 3)


@pytest.mark.parametrize("nans", [[(0, 0)], [(0, 1)], [(0, 0), (1, 0)], [(0, 1), (1, 0), (1, 1)]])
def test_max_pool2d_routes_a_nan_windows_gradient_to_its_last_nan_as_pytorch_does(nans):
    x = np.array([[[[1.0, 3.0], [2.0, 0.5]]]])
    for at in nans:
        x[(0, 0) + at] = np.nan
    out, res = OPS["max_pool2d"].forward(x, pool_size=2)
    (gx,) = OPS["max_pool2d"].vjp(np.ones(out.shape), res, pool_size=2)
    assert np.isnan(out).all()
    expected = np.zeros((2, 2))
    expected[nans[-1]] = 1.0  # PyTorch's CPU kernel moves the index on every NaN it meets
    np.testing.assert_array_equal(gx[0, 0], expected)


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize(
    "size, stride, pool_size, pool_stride",
    [(8, 1, 2, None), (7, 1, 2, None), (9, 2, 2, 2), (8, 1, 3, 1)],
    ids=["2x2 pool, even", "2x2 pool, odd", "stride 2 conv", "overlapping 3x3 pool"],
)
@pytest.mark.parametrize("nans", [False, True], ids=["finite", "nans"])
@pytest.mark.parametrize("channels, filters", [(2, 4), (1, 6)], ids=["rows order", "pool order"])
def test_conv2d_pool_is_max_pool2d_of_conv2d_to_the_bit(activation, size, stride, pool_size, pool_stride, nans, channels, filters):
    rng = np.random.default_rng(11)
    # Small integers: most windows tie, and many outputs are exactly 0 (the ReLU's kink); and
    # every sum is exact, so the two must agree to the bit in whatever order they add.
    x = rng.integers(-1, 2, (3, channels, size, size)).astype(np.float32)
    w = rng.integers(-1, 2, (filters, channels, 3, 3)).astype(np.float32)
    b = rng.integers(-1, 2, filters).astype(np.float32)
    if nans:
        x[rng.random(x.shape) < 0.05] = np.nan
    conv_attrs = dict(stride=stride, padding=1, activation=activation)
    fused = [tc.Tensor(a, requires_grad=True) for a in (x, w, b)]
    out = tc.ops.conv2d_pool(*fused, **conv_attrs, pool_size=pool_size, pool_stride=pool_stride)
    apart = [tc.Tensor(a, requires_grad=True) for a in (x, w, b)]
    want = tc.ops.max_pool2d(tc.ops.conv2d(*apart, **conv_attrs), pool_size=pool_size, stride=pool_stride)
    np.testing.assert_array_equal(out.data, want.data)
    g = rng.integers(-2, 3, out.shape).astype(np.float32)
    out.backward(g)
    want.backward(g)
    for one, other in zip(fused, apart):
        np.testing.assert_array_equal(one.grad, other.grad)


@pytest.mark.parametrize("size", [6, 8, 14])
@pytest.mark.parametrize("channels, filters, order", [(1, 16, "pool"), (4, 18, "pool"), (16, 32, "rows")])
def test_conv2d_pool_in_its_column_orders_agrees_with_the_two_ops_to_rounding(size, channels, filters, order):
    # Output positions in another order than conv2d's: a BLAS may round a position's sum
    # differently by where it sits in the matrix (OpenBLAS does, at 6x6 and 14x14), so not to the bit.
    rng = np.random.default_rng(size + channels)
    x = rng.standard_normal((5, channels, size, size)).astype(np.float32)
    w = rng.standard_normal((filters, channels, 3, 3)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    out, res = OPS["conv2d_pool"].forward(x, w, b, padding=1, activation="relu")
    assert res[0] == order
    z, conv_res = OPS["conv2d"].forward(x, w, b, padding=1, activation="relu")
    want, pool_res = OPS["max_pool2d"].forward(z, pool_size=2)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(out.shape).astype(np.float32)
    got = OPS["conv2d_pool"].vjp(g, res, padding=1, activation="relu")
    (dz,) = OPS["max_pool2d"].vjp(g, pool_res, pool_size=2)
    for one, other in zip(got, OPS["conv2d"].vjp(dz, conv_res, padding=1, activation="relu")):
        np.testing.assert_allclose(one, other, rtol=1e-5, atol=1e-5)


def test_conv2d_pool_says_the_pool_does_not_fit_the_convolutions_output():
    x, w, b = np.zeros((2, 1, 4, 4)), np.zeros((3, 1, 3, 3)), np.zeros(3)
    with pytest.raises(OpError, match=r"conv2d_pool: pool 3x3 is larger than the input 2x2 \(the convolution's output of shape \(2, 3, 2, 2\)\)$"):
        tc.ops.conv2d_pool(x, w, b, pool_size=3)
