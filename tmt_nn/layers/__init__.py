"""Layers: Linear, Conv2D, MaxPool2D, Flatten, activations, Dropout, and the Network container."""

from __future__ import annotations

from .activation import ReLU, Sigmoid, Tanh
from .conv import Conv2D, MaxPool2D
from .dropout import Dropout
from .linear import Linear
from .network import Network
from .shape import Flatten

__all__ = ["Linear", "Conv2D", "MaxPool2D", "Flatten", "Network", "ReLU", "Tanh", "Sigmoid", "Dropout"]
