"""The optimizer step of ``fit(..., processes=N)``, shared out over the processes (what
DeepSpeed calls ZeRO stage 1): instead of the main process summing every helper's gradients
and updating every parameter while the helpers wait, each process sums and updates its own
run of the parameters' elements.

The parameters' elements, one parameter after another, are cut into N runs as equal as can
be; process r owns run r, which is a slice of one or a few parameters. Each step, every
process publishes its gradient outside its own run into shared memory, then sums the N
gradients over its run, in rank order (the same additions, in the same order, as the main
process summing them all) into a shared buffer, and calls the optimizer's
``update(index, param, grad, state)`` on its slice of each parameter the optimizer holds: a
tensor viewing that slice of the shared parameter, the summed gradient there, and the
slice's state. The main process then sets every ``.grad`` to the whole summed gradient (a
frozen parameter's too: the optimizer does not hold it, but its gradient is summed all the
same).

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
process updates its slice of it (in place, or by binding a new array, which is copied back);
the main process's ``optimizer.state`` holds the whole arrays, so a checkpoint taken during
training sees every process's part. Replacing the state during training
(``load_state_dict``) is refused: the helpers could not follow; load it before ``fit``. Each process
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

__all__ = ["STATE_SLOTS", "ShardedStep", "runs", "wants_sharded_step"]

STATE_SLOTS = 4  # parameter-sized state arrays an optimizer may keep (Adam keeps 2, SGD 0 or 1)


def wants_sharded_step(optimizer: Any) -> bool:
    """Whether the optimizer asks for its step to be shared out, and has what that takes."""
    return getattr(optimizer, "shard_across_processes", False) is True and all(
        hasattr(optimizer, name) for name in ("params", "state", "update", "hyperparameters")
    )


def runs(sizes: list[int], ranks: int) -> list[list[tuple[int, int]]]:
    """Per rank, per parameter of ``sizes`` elements, the flat range ``(lo, hi)`` that rank
    sums and updates: the elements one parameter after another cut into ``ranks`` equal runs."""
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


class _Piece:
    """One process's slice of a parameter the optimizer holds: a tensor viewing it, the state
    ``update`` gets for it, and the views of the shared state arrays it should hold."""

    def __init__(self, param: np.ndarray, lo: int, hi: int, state: dict[str, Any], kept: dict[str, np.ndarray]) -> None:
        self.lo, self.hi = lo, hi
        self.tensor = Tensor(param[:0].reshape(-1), requires_grad=True)
        self.tensor.data = self.view = param.reshape(-1)[lo:hi]  # the view itself: the constructor may convert a dtype
        self.views = {key: whole.reshape(-1)[lo:hi] for key, whole in kept.items()}
        self.state = {  # the scalars (step counts), the shared arrays' slices; scratch is this slice's own
            key: self.views.get(key, value) for key, value in state.items()
            if key in self.views or not isinstance(value, np.ndarray)
        }


class ShardedStep:
    """One process's part of the shared optimizer step. Per parameter of the model (k): its
    ``names``, and in the shared memory its data (``shared``), the summed gradient (``sums``),
    what each rank publishes of its gradient (``gradients[rank][k]``) and whether it had one
    (``flags[rank][k]``), and its state slots (``slots[k]``); ``stepped[k]``, the optimizer's
    index of the parameter (None: the optimizer does not hold it); ``hyper``, a byte buffer for
    the pickled hyper-parameters. ``own_gradient(k)`` gives this process's gradient."""

    def __init__(
        self,
        optimizer: Any,
        ranks: int,
        names: list[str],
        stepped: list[int | None],
        shared: list[np.ndarray],
        sums: list[np.ndarray],
        gradients: list[list[np.ndarray]],
        flags: list[np.ndarray],
        slots: list[list[np.ndarray]],
        hyper: memoryview,
    ) -> None:
        self.optimizer, self.ranks, self.names, self.stepped = optimizer, ranks, names, stepped
        self.shared, self.sums, self.gradients, self.flags, self.slots, self.hyper = (
            shared, sums, gradients, flags, slots, hyper,
        )
        self.owned = runs([a.size for a in shared], ranks)
        self.kept: list[dict[str, np.ndarray]] = [{} for _ in shared]  # per parameter: state key -> its slot
        self.pieces: list[_Piece | None] | None = None  # this process's, made at its first step
        self.states: list[dict[str, Any]] = []  # the optimizer's state dicts the slots were given to
        self.sent: dict[str, Any] | None = None

    # ------------------------------------------------------------------ run start and end
    def share_state(self) -> None:
        """Before the helpers start: move the optimizer's state arrays into their slots."""
        self.states = list(self.optimizer.state)
        for k, i in enumerate(self.stepped):
            if i is not None:
                for key, value in list(self.states[i].items()):
                    if isinstance(value, np.ndarray) and not key.startswith("_"):
                        self._keep(k, key, value)

    def restore_state(self) -> None:
        """After the run: the state's arrays copied out of the shared memory."""
        for k, i in enumerate(self.stepped):
            for key, whole in self.kept[k].items():
                if i < len(self.optimizer.state) and self.optimizer.state[i].get(key) is whole:  # kept: i is set
                    self.optimizer.state[i][key] = whole.copy()
        self.kept = [{} for _ in self.shared]

    # ------------------------------------------------------------------ each step
    def check_state(self) -> None:
        """Main process, before a step: the optimizer's state is still the one shared out."""
        state = self.optimizer.state
        replaced = len(state) != len(self.states) or any(a is not b for a, b in zip(state, self.states)) or any(
            state[i].get(key) is not whole for k, i in enumerate(self.stepped) for key, whole in self.kept[k].items()
        )
        if replaced:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {type(self.optimizer).__name__}'s state was replaced "
                f"during training (load_state_dict?); its step is shared out over the processes, "
                f"which keep their parts of the state: load it before fit, or train on one process"
            )

    def publish(self, rank: int, own_gradient: Callable[[int], np.ndarray | None]) -> None:
        """Write this process's gradient outside its own runs, and which parameters got one."""
        flags, out = self.flags[rank], self.gradients[rank]
        for k, (lo, hi) in enumerate(self.owned[rank]):
            grad = own_gradient(k)
            flags[k] = grad is not None
            if grad is not None:
                flat, target = grad.reshape(-1), out[k].reshape(-1)
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
        had = [any(flags[k] for flags in self.flags) for k in range(len(self.shared))]
        for k, ((lo, hi), piece) in enumerate(zip(self.owned[rank], pieces)):
            if not had[k]:
                continue
            total = self.sums[k].reshape(-1)[lo:hi]
            if lo < hi:
                parts = [
                    (own_gradient(k) if source == rank else self.gradients[source][k]).reshape(-1)[lo:hi]
                    for source in range(self.ranks)
                    if self.flags[source][k]
                ]
                if len(parts) == 1:
                    np.copyto(total, parts[0])
                else:
                    np.add(parts[0], parts[1], out=total)
                for part in parts[2:]:
                    np.add(total, part, out=total)
            # On an empty slice only the main process updates: it counts the steps (the scalars
            # of its optimizer's state) and makes the state's arrays of every parameter.
            if piece is not None and (lo < hi or rank == 0):
                self.optimizer.update(self.stepped[k], piece.tensor, total, piece.state)
                self._settle(k, piece, rank == 0)
        return had

    # ------------------------------------------------------------------ helpers
    def _make_pieces(self, rank: int) -> list[_Piece | None]:
        self.pieces = [
            None if i is None else _Piece(p, lo, hi, self.optimizer.state[i], self.kept[k])
            for k, (i, p, (lo, hi)) in enumerate(zip(self.stepped, self.shared, self.owned[rank]))
        ]
        return self.pieces

    def _settle(self, k: int, piece: _Piece, main: bool) -> None:
        """After ``update``: what it bound anew goes into the shared memory (the parameter's
        slice, a state array's), a new state array gets a slot, and the main process's
        optimizer gets the scalars."""
        if piece.tensor.data is not piece.view:
            np.copyto(piece.view, piece.tensor.data)
            piece.tensor.data = piece.view
        for key, value in piece.state.items():
            if not isinstance(value, np.ndarray):
                if main:
                    self.optimizer.state[self.stepped[k]][key] = value
            elif key.startswith("_") or value is piece.views.get(key):
                continue
            elif key in piece.views:  # bound anew rather than updated in place
                np.copyto(piece.views[key], value)
                piece.state[key] = piece.views[key]
            else:
                whole = self._keep(k, key, value, (piece.lo, piece.hi))
                piece.state[key] = piece.views[key] = whole.reshape(-1)[piece.lo : piece.hi]

    def _keep(self, k: int, key: str, value: np.ndarray, where: tuple[int, int] | None = None) -> np.ndarray:
        """Put state array ``key`` of parameter k (whole, or the slice ``where`` of it) into
        the parameter's next free slot, which the optimizer's state then holds; returns it."""
        name, p = type(self.optimizer).__name__, self.shared[k]
        if len(self.kept[k]) == STATE_SLOTS:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {name} keeps more than {STATE_SLOTS} arrays of state "
                f"per parameter ({self.names[k]!r}: {sorted(self.kept[k])} and {key!r}); the processes "
                f"share at most {STATE_SLOTS}: train on one process, or set {name}.shard_across_processes = False"
            )
        expected = (p.shape, p.dtype) if where is None else ((where[1] - where[0],), p.dtype)
        if (value.shape, value.dtype) != expected:
            raise TrainingProcessError(
                f"fit(processes={self.ranks}): {name} says its update is elementwise, but its state "
                f"{key!r} of parameter {self.names[k]!r} is {value.shape} {value.dtype}, not "
                f"{expected[0]} {expected[1]} like the parameter{'' if where is None else ' slice it updated'}"
            )
        whole = self.slots[k][len(self.kept[k])]
        np.copyto(whole if where is None else whole.reshape(-1)[where[0] : where[1]], value)
        self.kept[k][key] = self.optimizer.state[self.stepped[k]][key] = whole
        return whole
