"""``fit(..., processes=N)``: data-parallel training on N processes of one machine, the way
PyTorch's DistributedDataParallel trains on N ranks: every process runs the forward and
backward pass of its share of each batch, and the shares' gradients are summed.

Why processes and not more threads: tmt's threads share one GIL. They take turns at it around
every NumPy call, and a thread that waits for it sleeps and must be woken, which on a VM costs
tens of microseconds each time (bench/RESULTS.md measures two threads losing 40-70% of a
convolution's time that way). Processes each have their own interpreter: two run side by side
at full speed, and a hand-off through memory that the other one spins on takes under a
microsecond.

How a run goes:

- When training begins, fit forks N - 1 helper processes. They inherit the model, the loss and
  the training arrays (copy-on-write: the data is not copied).
- Before that, every parameter's ``data`` is moved into memory shared by all the processes
  (for the run; afterwards each parameter has its own array back, with the trained values). The
  main process's optimizer updates the parameters in place, as tmt_optim's do, so every helper
  computes its next share with the updated weights. An optimizer that binds a new array to
  ``p.data`` instead is caught before the next step and its values copied into the shared
  memory.
- Each step, the main process writes which rows make up the batch (the epoch's order is shared
  too) and runs its share while each helper runs its own. Each process's loss is the mean over
  its share and its backward is seeded with share/batch, so the gradients add up to the
  gradient of the batch's mean loss. fit checks the loss (NaN), then the optimizer steps:
  - an optimizer that asks for it (``shard_across_processes``: tmt_optim's Adam and AdamW)
    is shared out: each process sums the gradients over its run of the parameters' elements
    and updates that run (:mod:`.sharding`);
  - any other, the helpers write their gradients into shared buffers, the main process adds
    them to its ``.grad`` and steps the optimizer, as one process does.
  Then fit goes on with the reporters. Meanwhile each helper gathers its rows of the next
  batch, and when the main process steps the optimizer alone, helper 1 gathers the main
  process's too (into shared memory), so that the next step starts at once.

What that asks of the model and the loss: the loss is a mean over the examples (all of
tmt's are; a summed loss would have its gradient scaled by share/batch), and the layers
keep no state but their parameters (a layer updating running statistics in its forward would
update the main process's copy from its share only). Each helper re-seeds the random
generators it inherited (Dropout's), so the shares do not draw the same masks.

While training, each helper spins on the shared memory waiting for the next step, as
PyTorch's OpenMP threads do between ops, and so does the main process waiting for the
helpers; after ~50 µs a spinner yields its core at every check (``os.sched_yield``), so that
another process that wants it gets it, and after ``_SPIN_SECONDS`` without work (validation,
a slow reporter) a helper sleeps in 0.2 ms polls instead. With more processes than free cores
the processes take turns and training is slower than on one process: fit warns when
``processes`` exceeds the cores (it cannot see other programs' load). Every process runs
tmt's ops on one thread (:func:`tmt_core.set_num_threads`).

Helpers ignore Ctrl-C: the main process handles it and stops them, as it does when training
ends for any reason. An exception in a helper is raised again in the main process, as one
process would have raised it, with a :class:`TrainingProcessError` carrying the helper's
traceback as its cause (the error itself when the exception does not pickle); a helper that
dies is noticed and named in a :class:`TrainingProcessError`. A helper whose main process
died exits.
"""

from __future__ import annotations

import mmap
import os
import pickle
import platform
import signal
import sys
import time
import traceback
from typing import Any, Callable

import numpy as np

from tmt_core import Tensor, set_num_threads
from tmt_core import threads as core_threads

from ..errors import TrainingProcessError
from ..module import Module
from .metrics import correct_count
from .sharding import STATE_SLOTS, ShardedStep, wants_sharded_step

__all__ = ["ProcessTeam", "can_fork"]

_STEP, _OPTIMIZE, _STOP = 1, 2, 3
_SLOT = 16  # int64 words a process's control slot takes: 128 bytes, two cache lines
_ALIGN = 64
_ERROR_BYTES = 16 << 10
_HYPER_BYTES = 16 << 10  # the optimizer's pickled hyper-parameters, for a shared-out step
_SPIN_SECONDS = 0.01
_POLL_SECONDS = 2e-4
_CHECK_EVERY = 1 << 14  # spins between checks that the other side is still alive
_SPINS_BEFORE_YIELDING = 512  # ~50 µs; waiting longer, offer the core to whoever else wants it
_STOP_TIMEOUT = 10.0
_X86 = ("x86_64", "i386", "i486", "i586", "i686", "AMD64")


def can_fork() -> bool:
    """Helpers are forked, on Linux (macOS's system libraries are not fork-safe, Windows has no
    fork), and on x86, whose stores reach the other cores in program order: the hand-offs
    write their data, then the word that says it is there, with no memory barrier (NumPy
    issues none); on ARM the other side could see the word first."""
    return hasattr(os, "fork") and sys.platform.startswith("linux") and platform.machine() in _X86


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


class _Layout:
    """Where everything sits in the shared mapping: the control slots (the main process's
    command, each helper's answer), the epoch's order, two buffers for the main process's
    rows gathered ahead, the parameters, per helper room for a failure (traceback and pickled
    exception), and the gradients: with the optimizer step shared out (``stepped``, per
    parameter the optimizer's index of it or None), per rank its gradients and which
    parameters got one, the sums, the state's slots of the optimizer's parameters and the
    hyper-parameters; else per helper its gradients and flags. Offsets, every one."""

    def __init__(
        self, parameters: list[Any], inputs: np.ndarray, targets: np.ndarray, rows: int, helpers: int,
        stepped: list[int | None] | None,
    ) -> None:
        offset = _aligned((helpers + 1) * _SLOT * 8)
        self.order = offset
        offset = _aligned(offset + len(inputs) * 8)
        self.ahead: list[tuple[int, int]] = []  # two buffers of the main process's next share
        for _ in range(2):
            self.ahead.append((offset, _aligned(offset + rows * inputs[:1].nbytes)))
            offset = _aligned(self.ahead[-1][1] + rows * targets[:1].nbytes)
        self.offset = offset
        self.parameters = self._arrays(parameters)
        self.errors: list[int] = []
        for _ in range(helpers):
            self.errors.append(self.offset)  # the traceback, then the pickled exception
            self.offset += 2 * _ERROR_BYTES
        self.gradients: list[list[int]] = []  # per rank publishing them: its gradients
        self.flags: list[int] = []  # and which parameters got one
        for _ in range(helpers + 1 if stepped is not None else helpers):
            self.gradients.append(self._arrays(parameters))
            self.flags.append(self.offset)
            self.offset = _aligned(self.offset + len(parameters))
        self.sums = self._arrays(parameters if stepped is not None else [])
        self.slots = [self._arrays([p] * STATE_SLOTS if i is not None else []) for p, i in zip(parameters, stepped or [])]
        self.hyper = self.offset
        self.size = self.offset + (_HYPER_BYTES if stepped is not None else 0)

    def _arrays(self, like: list[Any]) -> list[int]:
        """Room for an array like each of ``like``'s ``data``, from the current offset on."""
        offsets = []
        for p in like:
            offsets.append(self.offset)
            self.offset = _aligned(self.offset + p.data.nbytes)
        return offsets


class ProcessTeam:
    """``with ProcessTeam(n, model, loss_fn, inputs, targets, batch_size, want_accuracy, optimizer) as team:``

    The main process is rank 0; helpers are ranks 1..n-1. Each ``step(lo, hi)`` runs the
    forward and backward pass of rows ``lo:hi`` of the epoch's order (``set_order`` gives it)
    and returns ``(mean loss, examples, correct or None)``; ``optimizer_step()`` then sums the
    gradients and steps the optimizer (shared out where the optimizer asks for it, see
    :mod:`.sharding`), after which every parameter's ``.grad`` holds the batch's gradient.
    A step whose loss is not finite can simply be followed by the next ``step``.
    """

    def __init__(
        self,
        processes: int,
        model: Module,
        loss_fn: Callable[[Any, Any], Any],
        inputs: np.ndarray,
        targets: np.ndarray,
        batch_size: int,
        want_accuracy: bool,
        optimizer: Any = None,
    ) -> None:
        self.size = processes
        self.model, self.loss_fn = model, loss_fn
        self.inputs, self.targets = inputs, targets
        self.want_accuracy = want_accuracy
        named = model.named_parameters()  # each parameter once, even where layers share one
        self.names, self.parameters = [name for name, _ in named], [p for _, p in named]
        batch_size = min(batch_size, len(inputs))
        # The main process's share of a batch of n is n // size + n % size (see _share): at
        # most this many rows for any batch up to batch_size.
        self.main_rows = min(batch_size, batch_size // processes + processes - 1)
        self.optimizer = optimizer
        if wants_sharded_step(optimizer):  # per parameter, the optimizer's index of it (None: frozen)
            index = {id(p): i for i, p in enumerate(optimizer.params)}
            stepped: list[int | None] | None = [index.get(id(p)) for p in self.parameters]
        else:
            stepped = None
        self.layout = layout = _Layout(self.parameters, inputs, targets, self.main_rows, processes - 1, stepped)
        self.memory = mmap.mmap(-1, layout.size)  # anonymous and shared: forks see it
        # Slot words 0-7 are integers, 8-15 floats. The main process's: sequence, command, then
        # for a step lo, hi, shuffled and the step's number, for the optimizer whether the
        # hyper-parameters were sent anew. A helper's: the sequence it answered, status (1:
        # failed), -, hits, and for helper 1 the step number, lo and hi of the main process's
        # share it gathered ahead; then its loss summed over its share (the mean times its rows).
        self.control = np.ndarray((processes, _SLOT), np.int64, buffer=self.memory)
        self.losses = np.ndarray((processes, _SLOT), np.float64, buffer=self.memory)[:, 8:]
        self.order = np.ndarray((len(inputs),), np.int64, buffer=self.memory, offset=self.layout.order)
        self.shared = [self._view(p.data, offset) for p, offset in zip(self.parameters, layout.parameters)]
        self.gradients = [  # per helper (sharded: per rank), its gradients and which parameters got one
            ([self._view(p.data, offset) for p, offset in zip(self.parameters, offsets)],
             np.ndarray((len(self.parameters),), np.int8, buffer=self.memory, offset=flags))
            for offsets, flags in zip(layout.gradients, layout.flags)
        ]
        self.sharded = None if stepped is None else ShardedStep(
            optimizer,
            processes,
            self.names,
            stepped,
            shared=self.shared,
            sums=[self._view(p.data, at) for p, at in zip(self.parameters, layout.sums)],
            gradients=[arrays for arrays, _ in self.gradients],
            flags=[flags for _, flags in self.gradients],
            slots=[[self._view(p.data, at) for at in offsets] for p, offsets in zip(self.parameters, layout.slots)],
            hyper=memoryview(self.memory)[layout.hyper : layout.hyper + _HYPER_BYTES],
        )
        self.ahead = [  # the main process's next share, gathered by helper 1: one in use, one filling
            (self._view(inputs[:1], at, self.main_rows), self._view(targets[:1], targets_at, self.main_rows))
            for at, targets_at in self.layout.ahead
        ]
        self.own: list[np.ndarray] = []
        self.helpers: list[int] = []
        self.sequence = 0
        self.steps = 0  # forward and backward passes asked for: which buffer the rows gathered ahead are in
        self.shuffled = False
        self.threads_before = 0

    def _view(self, like: np.ndarray, offset: int, rows: int | None = None) -> np.ndarray:
        """An array of ``like``'s shape (``rows`` rows if given) and dtype in the shared memory."""
        shape = like.shape if rows is None else (rows, *like.shape[1:])
        return np.ndarray(shape, like.dtype, buffer=self.memory, offset=offset)

    # ------------------------------------------------------------------ the run
    def __enter__(self) -> ProcessTeam:
        self.threads_before = core_threads.requested
        try:
            set_num_threads(1)  # one core per process: the other cores run the helpers
            for p, shared in zip(self.parameters, self.shared):
                np.copyto(shared, p.data)
                self.own.append(p.data)
                p.data = shared
            if self.sharded is not None:
                self.sharded.share_state()
            for stream in (sys.stdout, sys.stderr):  # or the helpers would print it again
                stream.flush()
            for rank in range(1, self.size):
                pid = os.fork()
                if pid == 0:
                    self._serve(rank)  # never returns
                self.helpers.append(pid)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        """Parameters get their own arrays back first (a second Ctrl-C while the helpers stop
        must not leave them in the shared memory), then the helpers stop."""
        for p, own in zip(self.parameters, self.own):
            if p.data.shape == own.shape:  # else the optimizer gave it a new shape: keep that
                np.copyto(own, p.data)
                p.data = own
        self.own = []
        if self.sharded is not None:
            self.sharded.restore_state()
            for p, summed in zip(self.parameters, self.sharded.sums):  # the last step's, in the shared memory
                if p.grad is summed:
                    p.grad = summed.copy()
        core_threads.requested = self.threads_before
        self._stop_helpers()

    def set_order(self, order: np.ndarray | None) -> None:
        """The epoch's order of the rows (None: as they are). Only between steps."""
        self.shuffled = order is not None
        if order is not None:
            self.order[:] = order

    def step(self, lo: int, hi: int) -> tuple[float, int, int | None]:
        self._reshare()
        self.steps += 1
        self._command(_STEP, lo, hi, self.shuffled, self.steps)
        x, y = self._gathered_ahead(lo, hi) or self._rows(0, lo, hi, self.shuffled)
        loss, hits = self._run_share(hi - lo, x, y)
        loss_sum, counts = loss * len(x), [hits]
        for rank in range(1, self.size):
            self._wait_for(rank)
            answer = self.control[rank]
            loss_sum += float(self.losses[rank, 0])
            counts.append(None if answer[3] < 0 else int(answer[3]))
        correct = None if any(count is None for count in counts) else sum(counts)
        return loss_sum / (hi - lo), hi - lo, correct

    def optimizer_step(self) -> None:
        """The optimizer's step on the gradients of the last ``step``, summed over the team."""
        sharded = self.sharded
        if sharded is None:
            for rank in range(1, self.size):
                self._add_gradients(rank)
            self.optimizer.step()
            return
        sharded.check_state()
        sharded.publish(0, self._gradient_of)
        self._command(_OPTIMIZE, int(sharded.send_hyperparameters()))
        try:
            had = sharded.update(0, self._gradient_of)
        except BaseException:
            self._wait_for_helpers(quietly=True)  # their slices done before anyone restores the parameters
            raise
        self._wait_for_helpers()
        for p, summed, any_grad in zip(self.parameters, sharded.sums, had):
            if any_grad:
                p.grad = summed

    def _wait_for_helpers(self, quietly: bool = False) -> None:
        """Wait until every helper has answered (or is gone), then raise the first failure
        unless ``quietly``: no helper is still writing when this returns or raises."""
        failure: BaseException | None = None
        for rank in range(1, self.size):
            try:
                self._wait_for(rank)
            except BaseException as error:
                failure = failure or error
        if failure is not None and not quietly:
            raise failure

    def _command(self, *words: int) -> None:
        """Tell the helpers what to do next (the main process's slot words 1...)."""
        self.sequence += 1
        command = self.control[0]
        command[1 : 1 + len(words)] = words
        command[0] = self.sequence  # last: a helper that sees it finds the rest written

    # ------------------------------------------------------------------ both sides
    def _share(self, rank: int, lo: int, hi: int) -> tuple[int, int]:
        """Rows of ``lo:hi`` rank ``rank`` trains on: each helper ``n // size`` of them,
        the main process the rest (so it is never idle, even on a batch of one)."""
        each = (hi - lo) // self.size
        if rank == 0:
            return lo, hi - each * (self.size - 1)
        start = hi - each * (self.size - rank)
        return start, start + each

    def _rows(self, rank: int, lo: int, hi: int, shuffled: bool) -> tuple[np.ndarray, np.ndarray]:
        """This process's share of the batch ``lo:hi``: its inputs and targets."""
        start, stop = self._share(rank, lo, hi)
        rows = self.order[start:stop] if shuffled else slice(start, stop)
        return self.inputs[rows], self.targets[rows]

    def _run_share(self, batch: int, x: np.ndarray, y: np.ndarray) -> tuple[float, int | None]:
        """Forward and backward of this process's share (x, y) of a batch of ``batch``
        examples; its loss (a mean over the share) and hits."""
        for p in self.parameters:
            p.grad = None
        if len(x) == 0:
            return 0.0, 0 if self.want_accuracy else None
        outputs = self.model(Tensor(x))
        loss = self.loss_fn(outputs, Tensor(y))
        loss.backward(len(x) / batch)  # d(batch mean)/d(share mean) = share / batch
        hits = correct_count(getattr(outputs, "data", outputs), y) if self.want_accuracy else None
        return float(loss.data), hits

    # ------------------------------------------------------------------ the main process
    def _reshare(self) -> None:
        """A parameter whose ``data`` was replaced (not updated in place) goes back into the
        shared memory, with the new values, so the helpers compute with them."""
        for name, p, shared in zip(self.names, self.parameters, self.shared):
            if p.data is not shared:
                if p.data.shape != shared.shape or p.data.dtype != shared.dtype:
                    raise TrainingProcessError(
                        f"fit(processes={self.size}): parameter {name!r} changed from "
                        f"{shared.shape} {shared.dtype} to {p.data.shape} {p.data.dtype} during "
                        f"training; the processes share each parameter's memory, so its shape "
                        f"and dtype must stay"
                    )
                np.copyto(shared, p.data)
                p.data = shared

    def _gathered_ahead(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray] | None:
        """This step's share when helper 1 has gathered it already (while this process ran
        the previous optimizer step): for this very step, into the buffer of its parity."""
        mark = self.control[1]
        if mark[4] != self.steps or mark[5] != lo or mark[6] != hi:
            return None
        rows = self._share(0, lo, hi)
        inputs, targets = self.ahead[self.steps % 2]
        return inputs[: rows[1] - rows[0]], targets[: rows[1] - rows[0]]

    def _wait_for(self, rank: int) -> None:
        answer, pid, spins = self.control[rank], self.helpers[rank - 1], 0
        while answer[0] != self.sequence:
            spins += 1
            if spins > _SPINS_BEFORE_YIELDING:
                os.sched_yield()  # another process may need this core (the helper, maybe)
            if spins % _CHECK_EVERY == 0:
                self._check_alive(rank, pid)
        if answer[1] != 0:
            text, error = self._failure(rank)
            context = TrainingProcessError(
                f"fit(processes={self.size}): helper process {rank} (pid {pid}) raised:\n{text}"
            )
            if error is None:
                raise context
            raise error from context  # the helper's exception, as one process would raise it

    def _check_alive(self, rank: int, pid: int) -> None:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped already (SIGCHLD ignored): gone, its status unknown
            done, status = pid, None
        if done:
            self.helpers[rank - 1] = -1  # reaped: nothing left to stop
            raise TrainingProcessError(
                f"fit(processes={self.size}): helper process {rank} (pid {pid}) died "
                f"({_describe(status)}) while training"
            )

    def _failure(self, rank: int) -> tuple[str, BaseException | None]:
        """What a helper left by :meth:`_record_failure`: its traceback and its exception."""
        at = self.layout.errors[rank - 1]
        text = self.memory[at : at + _ERROR_BYTES].split(b"\0", 1)[0].decode("utf-8", "replace")
        size = int.from_bytes(self.memory[at + _ERROR_BYTES : at + _ERROR_BYTES + 8], "little")
        try:
            error = pickle.loads(self.memory[at + _ERROR_BYTES + 8 : at + _ERROR_BYTES + 8 + size]) if size else None
        except Exception:
            error = None
        return text, error

    def _gradient_of(self, k: int) -> np.ndarray | None:
        """This process's gradient of parameter k."""
        return self.parameters[k].grad

    def _add_gradients(self, rank: int) -> None:
        gradients, flags = self.gradients[rank - 1]
        for p, theirs, has in zip(self.parameters, gradients, flags):
            if not has:
                continue
            if p.grad is None:
                p.grad = theirs.copy()
            elif p.grad.flags.writeable:
                np.add(p.grad, theirs, out=p.grad)
            else:
                p.grad = p.grad + theirs

    def _stop_helpers(self) -> None:
        """Tell the helpers to stop and reap them; kill any that has not within
        ``_STOP_TIMEOUT`` seconds, or at once when interrupted meanwhile."""
        if not any(pid > 0 for pid in self.helpers):
            return
        self._command(_STOP)
        deadline = time.monotonic() + _STOP_TIMEOUT
        try:
            for i, pid in enumerate(self.helpers):
                while pid > 0 and not _reaped(pid):
                    if time.monotonic() > deadline:
                        _kill(pid)
                        break
                    time.sleep(_POLL_SECONDS)
                self.helpers[i] = -1
        finally:  # interrupted (a second Ctrl-C): leave nothing running
            for i, pid in enumerate(self.helpers):
                if pid > 0:
                    _kill(pid)
                    self.helpers[i] = -1

    # ------------------------------------------------------------------ a helper
    def _serve(self, rank: int) -> None:
        """A helper's whole life: answer steps until told to stop; never returns. Once
        something raised here, every step is answered with that failure (the main process
        raises it and stops the helpers)."""
        status = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
            parent, seen, answer = os.getppid(), self.sequence, self.control[rank]
            failed = False
            try:
                _independent_randomness(self.model, rank)
            except BaseException as error:
                failed = self._record_failure(rank, error)
            ahead: tuple[Any, ...] = ()  # the next step's share, gathered while the main process steps
            following: tuple[int, int, bool, int] | None = None  # which rows, and step number, that is
            while True:
                seen = self._next_command(seen, parent)
                command = self.control[0, 1]
                if command == _STOP:
                    break
                if not failed:
                    try:
                        if command == _OPTIMIZE:
                            self._answer_optimizer(rank, seen)
                        else:
                            following, ahead = self._answer(rank, seen, ahead), ()
                        # Sharded, this process has its part of the optimizer step to do first.
                        if following is not None and (command == _OPTIMIZE or self.sharded is None):
                            following, ahead = None, self._gather_ahead(rank, *following)
                        continue
                    except BaseException as error:
                        failed = self._record_failure(rank, error)
                answer[1] = 1
                answer[0] = seen
        except BaseException:
            status = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            os._exit(status)  # never run the parent's cleanup (atexit, test runners) here

    def _answer(self, rank: int, seen: int, ahead: tuple[Any, ...]) -> tuple[int, int, bool, int] | None:
        """Run this helper's share of step ``seen`` and answer it; returns the rows and number
        of the next step (None at the end of the epoch, whose next order is not known yet)."""
        command, answer = self.control[0], self.control[rank]
        lo, hi, shuffled, step = int(command[2]), int(command[3]), bool(command[4]), int(command[5])
        x, y = ahead[1:] if ahead and ahead[0] == (lo, hi, shuffled) else self._rows(rank, lo, hi, shuffled)
        loss, hits = self._run_share(hi - lo, x, y)
        if self.sharded is not None:
            self.sharded.publish(rank, self._gradient_of)
        else:
            self._write_gradients(rank)
        self.losses[rank, 0] = loss * len(x)
        answer[3] = -1 if hits is None else hits
        answer[0] = seen  # last: the main process reads the rest after seeing it
        if hi == len(self.inputs):
            return None
        return hi, min(hi + hi - lo, len(self.inputs)), shuffled, step + 1

    def _gather_ahead(self, rank: int, lo: int, hi: int, shuffled: bool, step: int) -> tuple[Any, ...]:
        """This helper's share of the next step, gathered while the main process steps the
        optimizer; helper 1 gathers the main process's too, when the main process steps the
        optimizer alone."""
        if rank == 1 and shuffled and self.sharded is None:
            self._gather_for_main(step, lo, hi)
        return ((lo, hi, shuffled), *self._rows(rank, lo, hi, shuffled))

    def _answer_optimizer(self, rank: int, seen: int) -> None:
        """This helper's part of the optimizer step (see :mod:`.sharding`)."""
        assert self.sharded is not None
        if self.control[0, 2]:
            self.sharded.receive_hyperparameters()
        self.sharded.update(rank, self._gradient_of)
        self.control[rank, 0] = seen

    def _record_failure(self, rank: int, error: BaseException) -> bool:
        """Leave the traceback (its end, if long) and the pickled exception for the main process."""
        text = traceback.format_exc().encode("utf-8", "replace")[-(_ERROR_BYTES - 1) :]
        try:
            pickled = pickle.dumps(error)
        except Exception:  # an exception that does not pickle: the traceback says it all
            pickled = b""
        if len(pickled) > _ERROR_BYTES - 8:
            pickled = b""
        at = self.layout.errors[rank - 1]
        self.memory[at : at + len(text) + 1] = text + b"\0"
        at += _ERROR_BYTES
        self.memory[at : at + 8 + len(pickled)] = len(pickled).to_bytes(8, "little") + pickled
        return True

    def _gather_for_main(self, step: int, lo: int, hi: int) -> None:
        """Gather the main process's share of step number ``step`` (rows lo:hi) for it, then
        mark it ready: meanwhile the main process runs the optimizer step."""
        start, stop = self._share(0, lo, hi)
        inputs, targets = self.ahead[step % 2]
        np.take(self.inputs, self.order[start:stop], axis=0, out=inputs[: stop - start])
        np.take(self.targets, self.order[start:stop], axis=0, out=targets[: stop - start])
        self.control[1, 5:7] = (lo, hi)
        self.control[1, 4] = step  # last: the main process reads the rest after seeing it

    def _next_command(self, seen: int, parent: int) -> int:
        command, spins, idle_since = self.control[0], 0, time.monotonic()
        while command[0] == seen:
            spins += 1
            if spins > _SPINS_BEFORE_YIELDING:
                os.sched_yield()  # another process may need this core
            if spins < _CHECK_EVERY:
                continue
            spins = 0
            if os.getppid() != parent:
                os._exit(1)  # the main process is gone
            if time.monotonic() - idle_since > _SPIN_SECONDS:
                time.sleep(_POLL_SECONDS)
                spins = _CHECK_EVERY - 1  # idle: from now on check (and sleep) every time
        return int(command[0])

    def _write_gradients(self, rank: int) -> None:
        gradients, flags = self.gradients[rank - 1]
        for i, (p, mine) in enumerate(zip(self.parameters, gradients)):
            flags[i] = p.grad is not None
            if p.grad is not None:
                np.copyto(mine, p.grad)


def _independent_randomness(model: Module, rank: int) -> None:
    """Give this helper its own random streams: its copies of the model's generators (and of
    NumPy's global state) would otherwise draw what the main process draws."""
    for module in model.modules():
        for name, value in list(vars(module).items()):
            if isinstance(value, np.random.Generator):
                setattr(module, name, np.random.default_rng([int(value.integers(2**62)), rank]))
    np.random.seed([int(np.random.randint(2**31)), rank])


def _reaped(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:  # reaped by someone else (SIGCHLD ignored)
        return True


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _describe(status: int | None) -> str:
    if status is None:
        return "its exit status already collected elsewhere"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"killed by signal {number} ({signal.Signals(number).name})"
    return f"exit status {os.WEXITSTATUS(status)}"
