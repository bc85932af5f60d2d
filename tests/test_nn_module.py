"""Module: parameter discovery, modes, state_dict, atomic save/load."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import tmt_core as tc
import tmt_nn
from tmt_nn import Linear, Module, Network, Parameter, StateDictError


class Block(Module):
    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(3))
        self.pair = (Linear(3, 2, rng=0), Linear(2, 2, rng=1))
        self.named = {"head": Linear(2, 1, rng=2)}
        self.not_a_parameter = np.zeros(3)

    def forward(self, x):
        x = x * self.scale
        for layer in self.pair:
            x = layer(x)
        return self.named["head"](x)


def small_network():
    return Network([Linear(4, 3, activation="relu", rng=0), Linear(3, 2, rng=1)])


def test_parameters_are_found_through_attributes_tuples_dicts_and_submodules():
    names = [name for name, _ in Block().named_parameters()]
    assert names == [
        "scale",
        "pair.0.weight",
        "pair.0.bias",
        "pair.1.weight",
        "pair.1.bias",
        "named.head.weight",
        "named.head.bias",
    ]


def test_network_names_layers_by_position_like_sequential():
    assert [n for n, _ in small_network().named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_a_shared_parameter_is_listed_once():
    shared = Linear(2, 2, rng=0)
    net = Network([shared, shared])
    assert len(net.parameters()) == 2
    assert len(net.named_modules()) == 2  # the network and the one shared layer


def test_parameters_are_float32_leaves_that_require_grad():
    for parameter in Block().parameters():
        assert isinstance(parameter, tc.Tensor)
        assert parameter.requires_grad and parameter.is_leaf
        assert parameter.data.dtype == np.float32
    assert Parameter([1, 2]).data.dtype == np.float32


def test_call_runs_forward_and_gradients_reach_every_parameter():
    block = Block()
    block(np.ones((5, 3), dtype=np.float32)).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_train_and_eval_reach_every_submodule():
    block = Block()
    assert block.training
    assert block.eval() is block
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())


def test_a_subclass_that_forgets_super_init_still_has_a_mode():
    class Bare(Module):
        def __init__(self):
            self.layer = Linear(2, 2, rng=0)

        def forward(self, x):
            return self.layer(x)

    bare = Bare()
    assert bare.training
    assert len(bare.parameters()) == 2


def test_repr_shows_the_layers_and_their_settings():
    text = repr(Network([Linear(784, 128, activation="relu", rng=0), tmt_nn.Flatten()]))
    assert text.splitlines() == [
        "Network(",
        "  (0): Linear(in_features=784, out_features=128, activation='relu')",
        "  (1): Flatten()",
        ")",
    ]


# ---------------------------------------------------------------------------- state_dict


def test_state_dict_round_trip_copies_values_in_place():
    source, target = small_network(), Network([Linear(4, 3, rng=5), Linear(3, 2, rng=6)])
    weight_array = target[0].weight.data
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    state["0.weight"][0, 0] = 123.0  # a snapshot: changing it does not touch the source
    assert source[0].weight.data[0, 0] != 123.0
    target.load_state_dict(state)
    assert target[0].weight.data is weight_array  # in place: optimizers keep their references
    np.testing.assert_array_equal(target[0].weight.data, state["0.weight"])
    np.testing.assert_array_equal(target[1].bias.data, source[1].bias.data)


def test_load_state_dict_names_missing_keys():
    state = small_network().state_dict()
    del state["1.bias"]
    with pytest.raises(StateDictError, match=r"missing keys \['1.bias'\]"):
        small_network().load_state_dict(state)


def test_load_state_dict_names_unexpected_keys():
    state = small_network().state_dict()
    state["2.weight"] = np.zeros((2, 2))
    with pytest.raises(StateDictError, match=r"unexpected keys \['2.weight'\]"):
        small_network().load_state_dict(state)


def test_load_state_dict_names_mismatched_shapes_with_both_shapes():
    state = small_network().state_dict()
    state["0.weight"] = np.zeros((5, 3), dtype=np.float32)
    with pytest.raises(StateDictError, match=r"'0.weight' expects shape \(4, 3\), got \(5, 3\)"):
        small_network().load_state_dict(state)


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    target = small_network()
    before = target.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    state["1.weight"] = np.zeros((1, 1))
    with pytest.raises(StateDictError) as caught:
        target.load_state_dict(state)
    message = str(caught.value)
    assert "missing keys ['0.bias']" in message and "unexpected keys ['extra']" in message
    assert "'1.weight' expects shape (3, 2)" in message
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_load_skips_missing_and_unexpected_but_never_wrong_shapes():
    target = small_network()
    state = small_network().state_dict()
    del state["1.bias"]
    state["extra"] = np.zeros(1)
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["extra"]
    state["0.bias"] = np.zeros(7)
    with pytest.raises(StateDictError, match="shape mismatch"):
        target.load_state_dict(state, strict=False)


# ---------------------------------------------------------------------------- save / load


def test_save_and_load_round_trip(tmp_path):
    source = small_network()
    path = source.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.exists()
    target = Network([Linear(4, 3, rng=7), Linear(3, 2, rng=8)]).load(path)
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert sorted(np.load(path).files) == sorted(source.state_dict())  # a plain .npz


def test_saved_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = small_network().save(tmp_path / "model.npz")
    finally:
        os.umask(mask)
    assert (path.stat().st_mode & 0o777) == 0o644  # not mkstemp's private 0600


def test_save_writes_exactly_the_path_given(tmp_path):
    small_network().save(tmp_path / "weights.bin")
    assert os.listdir(tmp_path) == ["weights.bin"]


def test_a_key_named_file_does_not_clash_with_savez_arguments(tmp_path):
    class Odd(Module):
        def __init__(self):
            super().__init__()
            self.file = Parameter(np.arange(3.0))

    Odd().save(tmp_path / "odd.npz")
    loaded = Odd()
    loaded.file.data[:] = 0
    np.testing.assert_array_equal(loaded.load(tmp_path / "odd.npz").file.data, [0, 1, 2])


def _failing_write(monkeypatch):
    """Make the archive writer die halfway, after some bytes reached the temporary file."""
    real_write_array = np.lib.format.write_array
    calls = []

    def write_then_fail(member, array, **kwargs):
        real_write_array(member, array, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the save

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)


def test_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = small_network()
    old.save(path)
    old_bytes = path.read_bytes()
    _failing_write(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        Network([Linear(4, 3, rng=9), Linear(3, 2, rng=9)]).save(path)
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    small_network().load(path)


def test_interrupted_first_save_leaves_no_file(tmp_path, monkeypatch):
    _failing_write(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        small_network().save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


def test_load_of_a_file_that_is_not_an_archive_names_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(StateDictError, match="broken.npz"):
        small_network().load(path)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(StateDictError, match="single array"):
        small_network().load(tmp_path / "single.npy")


def test_load_names_the_file_when_keys_do_not_match(tmp_path):
    path = tmp_path / "other.npz"
    Network([Linear(4, 3, rng=0)]).save(path)
    with pytest.raises(StateDictError, match=r"other.npz: .*missing keys \['1.weight', '1.bias'\]"):
        small_network().load(path)


def test_load_of_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        small_network().load(tmp_path / "nowhere.npz")


def test_saved_file_is_a_zip_of_npy_members(tmp_path):
    small_network().save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        assert sorted(archive.namelist()) == ["0.bias.npy", "0.weight.npy", "1.bias.npy", "1.weight.npy"]
