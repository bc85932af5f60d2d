"""tmt, the composed framework: ``import tmt`` gives the whole public API.

    import tmt
    X_train, y_train, X_test, y_test = tmt.load_fashion_mnist()
    model = tmt.Network([tmt.Linear(784, 128, activation="relu"), tmt.Linear(128, 10)])
    tmt.fit(model, "cross_entropy", tmt.Adam(model.parameters()), (X_train, y_train), epochs=5)

The layers stay importable on their own and are also here by their short names:
``tmt.core``, ``tmt.nn``, ``tmt.optim``, ``tmt.data``. This facade only re-exports them.
"""

from __future__ import annotations

import tmt_core as core
import tmt_data as data
import tmt_nn as nn
import tmt_optim as optim
from tmt_core import *  # noqa: F401,F403
from tmt_core import plugins
from tmt_data import *  # noqa: F401,F403
from tmt_nn import *  # noqa: F401,F403
from tmt_optim import *  # noqa: F401,F403

__all__ = sorted(
    {*core.__all__, *nn.__all__, *optim.__all__, *data.__all__}
    | {"core", "nn", "optim", "data", "plugins"}
)
__version__ = core.__version__
