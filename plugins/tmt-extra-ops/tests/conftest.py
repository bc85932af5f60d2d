"""Load no other installed tmt plugin during these tests (the conformance base class loads
this one on purpose, whatever TMT_LOAD_PLUGINS says)."""

import os

os.environ.setdefault("TMT_LOAD_PLUGINS", "tmt-extra-ops")
