"""unbroadcast: the one helper that sums a broadcast cotangent back to its input's shape."""

from __future__ import annotations

import numpy as np
import pytest

from tmt_core.extend import unbroadcast


@pytest.mark.parametrize(
    "g_shape, shape",
    [((3, 4), ()), ((3, 4), (3, 1)), ((3, 4), (1, 4)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)),
     ((2, 3, 4), (1, 1, 1))],
)
def test_sums_back_to_the_input_shape(g_shape, shape):
    rng = np.random.default_rng(0)
    g = rng.standard_normal(g_shape).astype(np.float32)
    out = unbroadcast(g, shape)
    assert out.shape == shape and out.dtype == np.float32
    # The sum over a broadcast copy: <g, broadcast(v)> == <unbroadcast(g), v> for every v.
    v = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(
        np.sum(g * np.broadcast_to(v, g_shape)), np.sum(out * v), rtol=1e-5
    )


def test_equal_shapes_pass_through():
    g = np.ones((2, 3))
    assert unbroadcast(g, (2, 3)) is g


@pytest.mark.parametrize(
    "g_shape, shape",
    [((3, 2), (2, 3)), ((2, 6), (3, 4)), ((3,), (4,)), ((3,), (2, 3)), ((4, 3), (1, 12))],
)
def test_a_shape_that_is_not_a_broadcast_is_refused(g_shape, shape):
    with pytest.raises(ValueError) as caught:
        unbroadcast(np.ones(g_shape), shape)
    assert f"{g_shape}" in str(caught.value) and f"{shape}" in str(caught.value)
