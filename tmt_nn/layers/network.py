"""Network: a sequence of layers applied in order (PyTorch's ``nn.Sequential``)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, overload

from tmt_core.errors import OpError

from ..errors import LayerInputError
from ..module import Module
from ..parameter import Parameter
from .conv import Conv2D, MaxPool2D

__all__ = ["Network"]


_PLAIN_FORWARDS = (Conv2D.forward, MaxPool2D.forward)


def _runs_with_its_pool(layer: Module, following: Module | None) -> bool:
    """A plain Conv2D (ReLU or no activation) right before a plain MaxPool2D: Network runs
    them as one op, conv2d_pool, which gives their values and gradients in less time (to the
    bit, or to rounding where it orders a first layer's columns by pooling window: see
    conv2d_pool). Subclasses and patched forwards, which may change either layer, run as written."""
    return (
        type(layer) is Conv2D
        and type(following) is MaxPool2D
        and layer.activation in (None, "relu")
        and (Conv2D.forward, MaxPool2D.forward) == _PLAIN_FORWARDS
        and "forward" not in vars(layer)
        and "forward" not in vars(following)
    )


class Network(Module):
    """``Network([Linear(784, 128, activation="relu"), Linear(128, 10)])``.

    Indexable (``net[0]``, ``net[1:]`` is a Network), sized, iterable; parameter names start
    with the layer's position (``"0.weight"``), as in PyTorch's Sequential. A plain Conv2D
    right before a plain MaxPool2D runs as one op, conv2d_pool: the two layers' numbers, in
    less time and memory.
    """

    def __init__(self, layers: Iterable[Module] = ()) -> None:
        super().__init__()
        self.layers: list[Module] = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Network:
        if not isinstance(layer, Module):
            raise TypeError(
                f"Network: layer {len(self.layers)} is a {type(layer).__name__}, not a "
                f"tmt_nn.Module"
            )
        self.layers.append(layer)
        return self

    def forward(self, x: Any) -> Any:
        index = 0
        while index < len(self.layers):
            layer = self.layers[index]
            pool = self.layers[index + 1] if index + 1 < len(self.layers) else None
            fused = _runs_with_its_pool(layer, pool)
            try:
                x = layer.then_pool(x, pool) if fused else layer(x)
            except LayerInputError as exc:  # say which layer of the network got it wrong
                raise LayerInputError(f"Network layer ({index}): {exc}") from None
            except OpError as exc:  # the user wrote two layers, not conv2d_pool
                if not fused:
                    raise
                raise OpError(f"Network layers ({index}) {layer!r} and ({index + 1}) {pool!r}, run as one op: {exc}") from None
            index += 2 if fused else 1
        return x

    def _members(self) -> Iterator[tuple[str, Parameter | Module]]:
        for index, layer in enumerate(self.layers):
            yield str(index), layer
        for name, member in super()._members():  # what a subclass adds beside the layers
            if not name.startswith("layers."):
                yield name, member

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Network: ...

    def __getitem__(self, index: int | slice) -> Module | Network:
        if isinstance(index, slice):
            return Network(self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)
