"""The ``wandb`` reporter: one Weights & Biases run per tmt training run.

wandb is imported when a run starts, never at plugin load, so ``tmt plugins`` and every run
that does not ask for ``wandb`` stay fast and work without it. The mode is never hard-coded:
``mode=None`` lets wandb decide from ``WANDB_MODE`` or its settings files, so
``WANDB_MODE=offline`` writes a local run that ``wandb sync`` uploads later.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from tqdm import tqdm

from tmt_nn import Reporter

__all__ = ["WandbReporter", "EXIT_CODES"]

# Any non-zero code marks a W&B run failed; 255 is what wandb's own exit hook records for a
# Ctrl-C, so an interrupted tmt run looks like an interrupted script in the W&B UI.
EXIT_CODES = {"success": 0, "failed": 1, "interrupted": 255}

# Modes in which wandb needs no account: it writes locally, or nothing at all.
LOCAL_MODES = frozenset({"offline", "dryrun", "disabled"})


class WandbReporter(Reporter):
    """Log a training run to Weights & Biases.

    Options (all optional): ``project``, ``entity``, ``name`` (the run's display name),
    ``tags``, ``mode`` (``"online"``, ``"offline"``, ``"disabled"``; None lets wandb decide),
    ``dir`` (the folder that receives ``wandb/``; None: ``WANDB_DIR`` or the current folder)
    and ``log_every`` (log every n-th step's metrics; default 1, every step: a ``run.log``
    costs about 0.2 ms, noticeable next to a 1-2 ms training step).

    Per-step metrics are logged as ``batch/<metric>`` against the x axis ``train/step`` (a
    step count over the whole run, from 1); per-epoch metrics as ``epoch/<metric>`` against
    ``epoch``. The run finishes with exit code 0 on success, 1 when training failed and 255
    when it was interrupted.

    With no API key and no local mode, wandb would prompt on stdin or fail: instead this
    reporter prints one line naming ``WANDB_MODE=offline`` and ``wandb login`` and switches
    itself off for the run; training goes on.
    """

    name = "wandb"

    def __init__(
        self,
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        mode: str | None = None,
        dir: str | None = None,
        log_every: int = 1,
    ) -> None:
        if not (isinstance(log_every, int) and log_every >= 1):
            raise ValueError(f"reporter wandb: log_every must be an integer >= 1, got {log_every!r}")
        given = {"project": project, "entity": entity, "name": name, "mode": mode}
        self.init_options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if tags is not None:
            self.init_options["tags"] = list(tags)
        if dir is not None:
            self.init_options["dir"] = str(dir)
        self.log_every = log_every
        self.run: Any = None
        self.global_step = 0

    # ------------------------------------------------------------------ events
    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        self.global_step = 0
        self.run = self._start_run(config)

    def on_batch_end(self, *, epoch: int, step: int, metrics: dict[str, float]) -> None:
        self.global_step += 1
        if self.run is None or self.global_step % self.log_every:
            return
        row = {f"batch/{key}": _scalar(value) for key, value in metrics.items()}
        row["train/step"] = self.global_step
        self.run.log(row)

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        if self.run is None:
            return
        row = {f"epoch/{key}": _scalar(value) for key, value in metrics.items()}
        row["epoch"] = epoch
        self.run.log(row)

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        run, self.run = self.run, None
        if run is None:  # never started (switched off, or on_train_begin never came)
            return
        try:
            run.summary.update({f"final/{key}": _scalar(v) for key, v in metrics.items()})
            run.summary["status"] = status
        finally:  # an unfinished run would show as "crashed" in the W&B UI
            run.finish(exit_code=EXIT_CODES.get(status, 1))

    # ------------------------------------------------------------------ starting a run
    def _start_run(self, config: dict[str, Any]) -> Any:
        try:
            import wandb
        except ImportError as exc:
            return self._switch_off(f"wandb cannot be imported ({exc}); pip install wandb")
        run = None
        try:
            if not self._has_credentials(wandb):
                return self._switch_off(
                    "no W&B API key found; set WANDB_MODE=offline to log locally (upload "
                    "later with `wandb sync`) or run `wandb login`"
                )
            # create_new: never finish or reuse a run the user's own code has open
            run = wandb.init(config=_plain(config), reinit="create_new", **self.init_options)
            run.define_metric("train/step")
            run.define_metric("batch/*", step_metric="train/step")
            run.define_metric("epoch")
            run.define_metric("epoch/*", step_metric="epoch")
        except Exception as exc:  # a W&B problem must never stop the training run
            if run is not None:
                with contextlib.suppress(Exception):
                    run.finish(exit_code=1)
            return self._switch_off(f"wandb could not start a run ({type(exc).__name__}: {exc})")
        return run

    def _has_credentials(self, wandb: Any) -> bool:
        """True when wandb can start without asking anything on stdin."""
        if _resolved_mode(self.init_options.get("mode")) in LOCAL_MODES:
            return True
        # prompt=False: look in WANDB_API_KEY, the settings files and ~/.netrc, ask nobody
        return bool(wandb.login(prompt=False, verify=False))

    def _switch_off(self, reason: str) -> None:
        one_line = " ".join(reason.split())  # wandb's errors (pydantic's) span several lines
        # tqdm.write: on a terminal the line goes above the progress bars, not through them
        tqdm.write(f"tmt: reporter wandb: {one_line}; reporter off for this run", file=sys.stderr)
        return None


def _resolved_mode(explicit: str | None) -> str:
    """The mode wandb will run in: the option, else WANDB_MODE / WANDB_DISABLED / the
    settings files that ``wandb offline`` writes, as wandb itself resolves them."""
    if explicit is not None:
        return explicit
    from wandb.sdk import wandb_setup

    return str(wandb_setup.singleton().settings.mode)


def _scalar(value: Any) -> Any:
    """A plain Python number for a NumPy scalar or 0-d array; anything else as it is."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "size", 1) == 1 else value


def _plain(value: Any) -> Any:
    """The run config as JSON-friendly values: wandb stores it as JSON, and an object it
    cannot encode (a model, a function) would fail the whole init."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    scalar = _scalar(value)
    if scalar is not value:
        return scalar
    return repr(value)
