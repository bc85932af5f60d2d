"""Network: a sequence of layers applied in order (PyTorch's ``nn.Sequential``)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, overload

from ..errors import LayerInputError
from ..module import Module
from ..parameter import Parameter

__all__ = ["Network"]


class Network(Module):
    """``Network([Linear(784, 128, activation="relu"), Linear(128, 10)])``.

    Indexable (``net[0]``, ``net[1:]`` is a Network), sized, iterable; parameter names start
    with the layer's position (``"0.weight"``), as in PyTorch's Sequential.
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
        for index, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except LayerInputError as exc:  # say which layer of the network got it wrong
                raise LayerInputError(f"Network layer ({index}): {exc}") from None
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
