"""Everything an op author imports, and nothing else:

    from tmt_core.extend import Sample, defop, hookimpl

    @defop("myplugin.softplus", samples=lambda rng: [Sample(rng.standard_normal((3, 4)))])
    def softplus(x):
        return np.logaddexp(0, x), (x,)

    @softplus.defvjp
    def softplus_vjp(g, res):
        (x,) = res
        return (g * sigmoid(x),)      # d softplus(x)/dx = sigmoid(x)

    @hookimpl
    def register_ops(register):
        register(softplus)
"""

from __future__ import annotations

from .broadcast import unbroadcast
from .errors import OpError, RegistrationError
from .op import Convention, Op, Sample, defop, validate_op
from .samples import away_from_zero, binary_samples, normal, positive, unary_samples
from .plugins import hookimpl

__all__ = [
    "Op",
    "Sample",
    "Convention",
    "defop",
    "hookimpl",
    "unbroadcast",
    "OpError",
    "RegistrationError",
    "validate_declaration",
    "unary_samples",
    "binary_samples",
    "normal",
    "positive",
    "away_from_zero",
]


def validate_declaration(op: Op) -> Op:
    """Validate a declaration the way registration does, raising RegistrationError."""
    return validate_op(op, op.name, "(not registered)")
