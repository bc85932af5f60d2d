"""Every conformance check on every op of this plugin, one test each: this is all a plugin
needs to be held to tmt's op contract."""

from tmt_core.conformance.testing import OpConformanceTests


class TestExtraOps(OpConformanceTests):
    plugin = "tmt-extra-ops"
