"""The optimizer step of ``fit(..., processes=N)``, shared out over the processes (what
DeepSpeed calls ZeRO stage 1): instead of the main process summing every helper's gradients
and updating every parameter while the helpers wait, each process sums and updates its own
run of the parameters' elements.

The parameters' elements, one parameter after another, are cut into N runs as equal as can
be; process r owns run r, which is a slice of one or a few parameters. Each step, every
process publishes its gradient outside its own run into shared memory, then sums the N
gradients over its run, in rank order (the same additions, in the same order, as the main
process summing them all) into a shared buffer, and calls the optimizer's
``update(index, param, grad, state)`` on its slice of each parameter: a tensor viewing that
slice of the shared parameter, the summed gradient there, and the slice's state. The main
process then sets every ``.grad`` to the whole summed gradient.

An optimizer asks for this with ``shard_across_processes = True`` (tmt_optim's Adam and
AdamW do), which promises that its update is *elementwise*: element k of the parameter and
of every state array is updated from element k of the parameter, the gradient and the
state, and from scalars; the state's arrays have the parameter's shape; its hyper-parameters
(``hyperparameters``) are all that the main process may change between steps (a
scheduler's ``lr``), sent to the helpers when they change. Any other optimizer (one
computing a norm over a parameter, say, or SGD, whose few passes over each parameter cost
less than the hand-offs would) runs whole in the main process, after it has summed the
gradients.

The state lives in shared memory too: every array an update keeps (a name not starting with
``_``, which marks scratch space) gets one of ``STATE_SLOTS`` parameter-sized slots, and each
process updates its slice of it in place; the main process's ``optimizer.state`` holds the
whole arrays, so a checkpoint taken during training sees every process's part. Each process
calls ``update`` on its slices, and the main process on an empty slice of every parameter it
owns none of, so that it counts the steps (Adam's bias correction) and makes the state's
arrays of every parameter; every process touching a parameter makes its state arrays in the
same order, so the slots need no agreement. At the end of the run the state's arrays are
copied out of the shared memory.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable

import numpy as np

from tmt_core import Tensor

from ..errors import TrainingProcessError

__all__ = ["STATE_SLOTS", "ShardedStep", "shares_out", "runs"]

STATE_SLOTS = 4  # parameter-sized state arrays an optimizer may keep (Adam keeps 2, SGD 0 or 1)


def shares_out(optimizer: Any) -> bool:
    """Whether the optimizer says its update can run on any slice of a parameter (see above)."""
    return getattr(optimizer, "shard_across_processes", False) is True and all(
        hasattr(optimizer, name) for name in ("params", "state", "update", "hyperparameters")
    )


def runs(sizes: list[int], ranks: int) -> list[list[tuple[int, int]]]:
    """Per rank, per parameter of ``sizes`` elements, the flat range ``(lo, hi)`` that rank
    updates: the elements one parameter after another cut into ``ranks`` equal runs."""
    total = sum(sizes)
    cuts = [total * rank // ranks for rank in range(ranks + 1)]
    owned = []
    for rank in range(ranks):
        mine, start = [], 0
        for size in sizes:
            lo, hi = (min(max(cut - start, 0), size) for cut in cuts[rank : rank + 2])
            mine.append((lo, hi))
            start += size
        owned.append(mine)
    return owned


class ShardedStep:
    """One process's part of the shared optimizer step, over arrays in the shared memory:

    - ``shared``: the parameters' data, ``sums``: the summed gradients, both per optimizer
      parameter; ``gradients[rank]``: what each rank publishes of its gradient, and
      ``flags[rank]``: which parameters got one; ``slots``: per parameter, its state slots;
      ``hyper``: a byte buffer for the pickled hyper-parameters.
    - ``own_gradient(i)``: this process's gradient of optimizer parameter i (None: none).
    """

    def __init__(
        self,
        optimizer: Any,
        ranks: int,
        shared: list[np.ndarray],
        sums: list[np.ndarray],
        gradients: list[list[np.ndarray]],
        flags: list[np.ndarray],
        slots: list[list[np.ndarray]],
        hyper: memoryview,
    ) -> None:
        self.optimizer = optimizer
        self.ranks = ranks
        self.shared, self.sums, self.gradients, self.flags, self.slots, self.hyper = (
            shared, sums, gradients, flags, slots, hyper,
        )
        self.owned = runs([a.size for a in shared], ranks)
        self.kept: list[dict[str, np.ndarray]] = [{} for _ in shared]  # per parameter: key -> whole array
        self.pieces: list[tuple[Tensor, dict[str, Any]]] | None = None  # this process's, made at its first step
        self.sent: dict[str, Any] | None = None

    # ------------------------------------------------------------------ run start and end
    def share_state(self) -> None:
        """Before the helpers start: move the optimizer's state arrays into their slots."""
        for i, (state, p) in enumerate(zip(self.optimizer.state, self.shared)):
            for key, value in list(state.items()):
                if isinstance(value, np.ndarray) and not key.startswith("_"):
                    self._keep(i, key, value, p)

    def restore_state(self) -> None:
        """After the run: the state's arrays copied out of the shared memory."""
        for state, kept in zip(self.optimizer.state, self.kept):
            for key, whole in kept.items():
                if state.get(key) is whole:
                    state[key] = whole.copy()
        self.kept = [{} for _ in self.shared]

    # ------------------------------------------------------------------ each step
    def publish(self, rank: int, own_gradient: Callable[[int], np.ndarray | None]) -> None:
        """Write this process's gradient outside its own runs, and which parameters got one."""
        flags, out = self.flags[rank], self.gradients[rank]
        for i, (lo, hi) in enumerate(self.owned[rank]):
            grad = own_gradient(i)
            flags[i] = grad is not None
            if grad is not None:
                flat, target = grad.reshape(-1), out[i].reshape(-1)
                target[:lo] = flat[:lo]
                target[hi:] = flat[hi:]

    def send_hyperparameters(self) -> bool:
        """Main process: write the hyper-parameters if they changed since last sent; whether they did."""
        now = dict(self.optimizer.hyperparameters)
        if now == self.sent:
            return False
        data = pickle.dumps(now)
        if len(data) > len(self.hyper) - 8:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {type(self.optimizer).__name__}'s hyper-parameters "
                f"take {len(data)} bytes pickled, more than the {len(self.hyper) - 8} the helpers can be sent"
            )
        self.hyper[: 8 + len(data)] = len(data).to_bytes(8, "little") + data
        self.sent = now
        return True

    def receive_hyperparameters(self) -> None:
        """Helper: take the hyper-parameters the main process sent last."""
        size = int.from_bytes(self.hyper[:8], "little")
        for key, value in pickle.loads(self.hyper[8 : 8 + size]).items():
            setattr(self.optimizer, key, value)

    def update(self, rank: int, own_gradient: Callable[[int], np.ndarray | None]) -> list[bool]:
        """Sum the gradients over this process's runs and update them; returns, per
        parameter, whether any process had a gradient for it."""
        pieces = self.pieces if self.pieces is not None else self._make_pieces(rank)
        optimizer, states = self.optimizer, self.optimizer.state
        had = [any(flags[i] for flags in self.flags) for i in range(len(self.shared))]
        for i, ((lo, hi), (piece, state)) in enumerate(zip(self.owned[rank], pieces)):
            if not had[i] or (lo == hi and rank != 0):
                continue
            total = self.sums[i].reshape(-1)[lo:hi]
            parts = [
                (own_gradient(i) if source == rank else self.gradients[source][i]).reshape(-1)[lo:hi]
                for source in range(self.ranks)
                if self.flags[source][i]
            ]
            if len(parts) == 1:
                np.copyto(total, parts[0])
            else:
                np.add(parts[0], parts[1], out=total)
                for part in parts[2:]:
                    np.add(total, part, out=total)
            view = piece.data
            optimizer.update(i, piece, total, state)
            if piece.data is not view:  # bound to a new array rather than updated in place
                np.copyto(view, piece.data)
                piece.data = view
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    if not key.startswith("_") and key not in self.kept[i]:
                        state[key] = self._keep(i, key, value, self.shared[i], (lo, hi)).reshape(-1)[lo:hi]
                elif rank == 0:
                    states[i][key] = value  # step counts: the main process's optimizer holds them
        return had

    # ------------------------------------------------------------------ helpers
    def _make_pieces(self, rank: int) -> list[tuple[Tensor, dict[str, Any]]]:
        """This process's slice of every parameter, as a tensor, with the slice's state."""
        self.pieces = []
        for i, ((lo, hi), p) in enumerate(zip(self.owned[rank], self.shared)):
            state = {
                key: (self.kept[i][key].reshape(-1)[lo:hi] if key in self.kept[i] else value)
                for key, value in self.optimizer.state[i].items()
                if not (isinstance(value, np.ndarray) and key not in self.kept[i])  # scratch: this slice's own
            }
            piece = Tensor(p[:0].reshape(-1), requires_grad=True)
            piece.data = p.reshape(-1)[lo:hi]  # the view itself: the constructor may convert a dtype
            self.pieces.append((piece, state))
        return self.pieces

    def _keep(self, i: int, key: str, value: np.ndarray, p: np.ndarray, where: tuple[int, int] | None = None) -> np.ndarray:
        """Put state array ``key`` of parameter i (whole, or the slice ``where`` of it) into
        the parameter's next free slot, which the optimizer's state then holds; returns it."""
        name = type(self.optimizer).__name__
        if len(self.kept[i]) == STATE_SLOTS:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {name} keeps more than {STATE_SLOTS} arrays of state "
                f"per parameter (parameter {i}: {sorted(self.kept[i])} and {key!r}); the processes "
                f"share at most {STATE_SLOTS}: train on one process, or set {name}.shard_across_processes = False"
            )
        expected = (p.shape, p.dtype) if where is None else ((where[1] - where[0],), p.dtype)
        if (value.shape, value.dtype) != expected:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {name} says its update is elementwise, but its state "
                f"{key!r} of parameter {i} is {value.shape} {value.dtype}, not {expected[0]} "
                f"{expected[1]} like the parameter{'' if where is None else ' slice it updated'}"
            )
        whole = self.slots[i][len(self.kept[i])]
        if where is None:
            np.copyto(whole, value)
        else:
            np.copyto(whole.reshape(-1)[where[0] : where[1]], value)
        self.kept[i][key] = self.optimizer.state[i][key] = whole
        return whole
