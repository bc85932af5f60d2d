"""What an op declares: a forward on NumPy arrays, a vjp, static attributes and samples.

    @defop("mul", broadcasts=True, samples=binary_samples, reference=np.multiply)
    def mul(a, b):
        return a * b, (a, b)          # output, residuals for the backward pass

    @mul.defvjp
    def mul_vjp(g, res):
        a, b = res
        return g * b, g * a           # d(ab)/da = b, d(ab)/db = a

``forward(*arrays, **attrs)`` returns ``(out, residuals)``; ``vjp(g, residuals, **attrs)``
returns one cotangent per array input (``None`` where the input is declared
non-differentiable). Ops carry no per-call state: everything a call needs is in its arguments.

A vjp that declares a keyword ``needs`` is told which inputs need a cotangent (a tuple of
booleans, one per input) and may return ``None`` for the others: the first layer of a network
never needs the gradient with respect to its input images, and that matmul is a third of a step.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .errors import RegistrationError

__all__ = ["Op", "Sample", "Convention", "defop"]

Forward = Callable[..., "tuple[Any, Any]"]
Vjp = Callable[..., "tuple[Any, ...]"]


@dataclass(frozen=True)
class Sample:
    """One set of inputs for the conformance suite: arrays (float64) and attributes.

    ``name`` says what the sample covers (``"broadcast (n,1) with (1,m)"``); ``jacobian``
    asks for the full finite-difference Jacobian (keep such samples small).
    """

    args: tuple[Any, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    jacobian: bool = True

    def __init__(self, *args: Any, name: str = "", jacobian: bool = True, **attrs: Any):
        object.__setattr__(self, "args", tuple(args))
        object.__setattr__(self, "attrs", dict(attrs))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "jacobian", jacobian)

    def describe(self) -> str:
        shapes = ", ".join(
            "x".join(map(str, np.shape(a))) or "scalar" for a in self.args
        )
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attrs.items())
        label = f"({shapes})" + (f" {attrs}" if attrs else "")
        return f"{self.name}: {label}" if self.name else label


@dataclass(frozen=True)
class Convention:
    """A kink or tie where finite differences are meaningless, and the gradient the op
    promises there: ``vjp(g)`` must equal ``expected`` (one entry per array input)."""

    args: tuple[Any, ...]
    g: Any
    expected: tuple[Any, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    rule: str = ""


@dataclass
class Op:
    """One registered operation. Build it with :func:`defop`; see the module docstring."""

    name: str
    forward: Forward
    vjp: Vjp | None = None
    broadcasts: bool = False
    nondiff: tuple[int, ...] = ()
    samples: Callable[[np.random.Generator], Sequence[Sample]] | Sequence[Sample] | None = None
    reference: Callable[..., Any] | None = None
    conventions: Sequence[Convention] = ()
    rtol: float = 1e-5
    atol: float = 1e-6
    xfail: dict[str, str] = field(default_factory=dict)
    doc: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "vjp":  # decided once here, not on every backward
            takes = value is not None and "needs" in inspect.signature(value).parameters
            object.__setattr__(self, "vjp_takes_needs", takes)

    def defvjp(self, vjp: Vjp) -> Vjp:
        """Decorator: attach the vjp declared right below the forward."""
        self.vjp = vjp
        return vjp

    def sample_list(self, rng: np.random.Generator | None = None) -> list[Sample]:
        if self.samples is None:
            return []
        if callable(self.samples):
            return list(self.samples(rng or np.random.default_rng(0)))
        return list(self.samples)

    def arity(self) -> int | None:
        """Number of positional array inputs of the forward, or None if it takes *args."""
        params = inspect.signature(self.forward).parameters.values()
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            return None
        return sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            for p in params
        )

    def __call__(self, *args: Any, **attrs: Any) -> Any:
        from .dispatch import apply  # the op as a function on tensors

        return apply(self, *args, **attrs)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def defop(
    name: str,
    *,
    broadcasts: bool = False,
    nondiff: Sequence[int] = (),
    samples: Callable[[np.random.Generator], Sequence[Sample]] | Sequence[Sample] | None = None,
    reference: Callable[..., Any] | None = None,
    conventions: Sequence[Convention] = (),
    rtol: float = 1e-5,
    atol: float = 1e-6,
    xfail: dict[str, str] | None = None,
) -> Callable[[Forward], Op]:
    """Decorator turning a forward function into an :class:`Op`; add the vjp with ``defvjp``."""

    def wrap(forward: Forward) -> Op:
        return Op(
            name=name,
            forward=forward,
            broadcasts=broadcasts,
            nondiff=tuple(nondiff),
            samples=samples,
            reference=reference,
            conventions=tuple(conventions),
            rtol=rtol,
            atol=atol,
            xfail=dict(xfail or {}),
            doc=inspect.getdoc(forward) or "",
        )

    return wrap


def validate_op(op: Any, name: str, provider: str) -> Op:
    """Check a registration; errors name the plugin, the op and what was expected."""
    where = f"op {name!r} from plugin {provider}"
    if not isinstance(op, Op):
        raise RegistrationError(
            f"{where}: expected a tmt_core.extend.Op (built with @defop), got {type(op).__name__}"
        )
    if not callable(op.forward):
        raise RegistrationError(f"{where}: forward is not callable")
    if op.vjp is None:
        raise RegistrationError(
            f"{where} has no vjp: declare one with @{op.forward.__name__}.defvjp"
        )
    if not callable(op.vjp):
        raise RegistrationError(f"{where}: vjp is not callable")
    if op.samples is None or (not callable(op.samples) and not op.samples):
        raise RegistrationError(
            f"{where} declares no samples: the conformance suite needs at least one Sample"
        )
    vjp_params = list(inspect.signature(op.vjp).parameters.values())
    positional = [p for p in vjp_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind is p.VAR_POSITIONAL for p in vjp_params):
        raise RegistrationError(f"{where}: the vjp must take (g, residuals, **attrs)")
    return op
