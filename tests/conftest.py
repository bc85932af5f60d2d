"""Test isolation: tmt's own tests load no third-party plugin installed on the machine."""

import os

os.environ["TMT_LOAD_PLUGINS"] = ""
os.environ.pop("TMT_STRICT_PLUGINS", None)
os.environ.setdefault("WANDB_MODE", "disabled")
