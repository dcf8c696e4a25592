"""What class grading produces: one `NotebookResult` per learner and notebook (and the practical)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, ERROR, TIMEOUT, MISSING, INVALID = "passed", "failed", "error", "timeout", "missing", "invalid"
STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, MISSING, INVALID)
PRACTICAL = "practical"  # the `notebook` of the practical exercise's row


@dataclass
class Check:
    title: str                 # first line of the check cell (the practical: the item)
    passed: bool
    hidden: bool = False       # held only in the instructor's copy: never in learner feedback
    message: str = ""          # "AssertionError: expected 214 purchases, got 0: …"
    expected: str = ""         # what a correct solution prints
    actual: str = ""           # what the learner's run printed (and raised)


@dataclass
class Problem:
    """The learner's code raised (status error): where and what."""
    cell: int                  # nbval's number: the code cell's index, from 0
    title: str
    source: str
    ename: str
    evalue: str
    traceback: str = ""


@dataclass
class NotebookResult:
    learner: str
    notebook: str              # a released exercise name, another file's name, or "practical"
    status: str
    checks_passed: int = 0
    checks_total: int = 0
    seconds: float = 0.0
    note: str = ""             # why missing / invalid / timeout, in one sentence
    checks: list[Check] = field(default_factory=list)
    error: Problem | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookResult":
        data = dict(data)
        data["checks"] = [Check(**c) for c in data.get("checks", [])]
        data["error"] = Problem(**data["error"]) if data.get("error") else None
        return cls(**data)

    @property
    def passed(self) -> bool:
        return self.status == PASSED
