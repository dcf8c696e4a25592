"""If/else condition tasks: how `condition_task` compares its operands.

Databricks' rule (Jobs API `ConditionTask` docs and the "If/else task" page):

* ``EQUAL_TO`` / ``NOT_EQUAL`` compare the operands as *strings*:
  ``"12.0" == "12"`` is false, ``"True" == "true"`` is false.
* ``GREATER_THAN``, ``GREATER_THAN_OR_EQUAL``, ``LESS_THAN``,
  ``LESS_THAN_OR_EQUAL`` compare *numerically*: ``"12.0" >= "12"`` is true.
  An operand that is not a number makes the condition fail (we raise
  ``ValueError``; the run loop turns that into a FAILED condition task).
* A boolean task value reaches the comparison as ``"true"`` / ``"false"``
  (params renders non-string task values as JSON), so compare booleans with
  ``EQUAL_TO "true"``.

Pure: no I/O, no SDK import (the op may be a ``jobs.ConditionTaskOp`` or its
string value).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

STRING_OPS = ("EQUAL_TO", "NOT_EQUAL")
NUMERIC_OPS = ("GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL")
OPS = STRING_OPS + NUMERIC_OPS

# How the UI and the docs write each op; used in messages only.
SYMBOLS = {
    "EQUAL_TO": "==",
    "NOT_EQUAL": "!=",
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUAL": ">=",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUAL": "<=",
}


def op_name(op) -> str:
    """The op's name as a string, from a ``ConditionTaskOp`` or a string."""
    return str(getattr(op, "value", op) or "").upper()


def _number(text: str, side: str, op: str) -> Decimal:
    # Decimal, not float: "0.1" compares exactly; NaN/Infinity are not numbers here.
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise ValueError(
            f"{op} ({SYMBOLS[op]}) compares numbers, but the {side} operand {text!r} is not a number"
        )
    return value


def evaluate_condition(op, left, right) -> bool:
    """Evaluate ``left <op> right`` the way a Databricks condition task does.

    Raises ValueError for an unknown op or a non-numeric operand of a numeric op.
    """
    name = op_name(op)
    left, right = str(left), str(right)
    if name == "EQUAL_TO":
        return left == right
    if name == "NOT_EQUAL":
        return left != right
    if name not in NUMERIC_OPS:
        raise ValueError(f"unknown condition op {name or op!r} (expected one of: {', '.join(OPS)})")
    a, b = _number(left, "left", name), _number(right, "right", name)
    if name == "GREATER_THAN":
        return a > b
    if name == "GREATER_THAN_OR_EQUAL":
        return a >= b
    if name == "LESS_THAN":
        return a < b
    return a <= b


def outcome(op, left, right) -> str:
    """The condition task's ``outcome`` string: ``"true"`` or ``"false"``."""
    return "true" if evaluate_condition(op, left, right) else "false"
