"""tmt_nn: modules, layers, the functional API, initialisation, and the training loop with its
reporters. It builds on tmt_core alone; every computation is an op of the registry.

    from tmt_nn import Network, Linear, cross_entropy
    model = Network([Linear(784, 128, activation="relu"), Linear(128, 10)])
    loss = cross_entropy(model(x), labels)
"""

from __future__ import annotations

from tmt_core import plugins

from . import functional, hookspecs, init
from .errors import LayerInputError, NonFiniteLossError, ReporterWarning, StateDictError, TrainingProcessError
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv2d,
    cross_entropy,
    dropout,
    im2col,
    im2patches,
    log_softmax,
    max_pool2d,
    mse,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .layers import Conv2D, Dropout, Flatten, Linear, MaxPool2D, Network, ReLU, Sigmoid, Tanh
from .module import IncompatibleKeys, Module
from .parameter import Parameter
from .reporters import REPORTERS, Reporter, get_reporter
from .training import History, evaluate, fit, predict

plugins.add_hookspecs(hookspecs)

__all__ = [
    # modules and layers
    "Module",
    "Parameter",
    "IncompatibleKeys",
    "Linear",
    "Conv2D",
    "MaxPool2D",
    "Flatten",
    "Network",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Dropout",
    # the functional API's modules (its functions are added below)
    "functional",
    "init",
    # training
    "fit",
    "evaluate",
    "predict",
    "History",
    "Reporter",
    "REPORTERS",
    "get_reporter",
    # errors
    "LayerInputError",
    "StateDictError",
    "NonFiniteLossError",
    "TrainingProcessError",
    "ReporterWarning",
]

# Every function of the functional API, as imported above (type checkers follow this form).
__all__ += functional.__all__
