"""tmt, the composed framework: ``import tmt`` gives the whole public API.

The layers stay importable on their own (tmt_core, tmt_nn, tmt_optim, tmt_data); this facade
only re-exports them.
"""

from __future__ import annotations

from tmt_core import *  # noqa: F401,F403
from tmt_core import __all__ as _core_all

__all__ = list(_core_all)
__version__ = "0.1.0"
