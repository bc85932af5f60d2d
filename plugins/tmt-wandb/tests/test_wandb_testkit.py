"""The reporter test kit (``tmt.testing.ReporterPluginTests``) run against the wandb reporter,
each fake run a real offline W&B run into the test's tmp folder."""

from __future__ import annotations

import pytest

from tmt.testing import ReporterPluginTests
from tmt_wandb import WandbReporter


class TestWandbReporterOffline(ReporterPluginTests):
    @pytest.fixture
    def reporter_factory(self, monkeypatch):
        monkeypatch.setenv("WANDB_MODE", "offline")
        return lambda: WandbReporter(project="tmt-testkit")


class TestWandbReporterWithoutCredentials(ReporterPluginTests):
    """No key and no mode: the reporter switches itself off at on_train_begin and must still
    take every later event quietly."""

    @pytest.fixture
    def reporter_factory(self):
        return lambda: WandbReporter(project="tmt-testkit")
