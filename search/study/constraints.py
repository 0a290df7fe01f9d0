"""Cost budgets of a search (`--constraint "bops_per_token<=1e9"`), in Optuna's constrained-sampling form.

A constraint names a cost a trial reports (a `cost_` column of the results table, written
without its prefix), `<=` or `>=`, and a number. The searcher turns each finished trial's costs
into Optuna's constraint values (<= 0 means satisfied) and sets them on the Optuna trial with
Optuna 5's `Trial.set_constraint(name, value)` before telling the study, so they are stored
with the trial and Optuna's TPE and NSGA-II samplers read them (`FrozenTrial.constraints`) as
their constrained sampling does; `constraints_func`, the older route, is deprecated in Optuna 5.
Random and grid sampling ignore constraints. The results table marks each row `feasible`, and
every reader (adls best, the figures, the report) skips the infeasible ones. Torch-free and
Optuna-free: the options validate without either.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from errors import ConfigError

# The costs a trial reports (trainables.compress.cost: model_cost, then compute_cost), each a
# `cost_<name>` column. tests check the list against what those functions return.
COST_NAMES = (
    "params",
    "nonzero_params",
    "sparsity",
    "weight_bits",
    "nonzero_weight_bits",
    "size_mb",
    "avg_linear_bits",
    "compression_ratio",
    "macs_per_token",
    "bops_per_token",
    "sparse_bops_per_token",
    "activation_bits_per_token",
)
COST_PREFIX = "cost_"
FEASIBLE_COLUMN = "feasible"  # analysis.results.FEASIBLE_COLUMN (not imported: it loads pandas)
OPERATORS = ("<=", ">=")
_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """`name op bound`, e.g. bops_per_token <= 1e9; `name` is a cost without its `cost_` prefix."""

    name: str
    op: str
    bound: float

    @property
    def column(self) -> str:
        """The results-table column the constraint reads."""
        return COST_PREFIX + self.name

    @property
    def text(self) -> str:
        return f"{self.name}{self.op}{self.bound:g}"

    def violation(self, value: float) -> float:
        """Optuna's constraint value: <= 0 when `value` satisfies the constraint, else by how much not."""
        return float(value) - self.bound if self.op == "<=" else self.bound - float(value)


def parse_constraint(text: str) -> Constraint:
    """`"bops_per_token<=1e9"` -> Constraint; ConfigError naming the problem otherwise."""
    usage = (
        f'write NAME<=NUMBER or NAME>=NUMBER with NAME one of {list(COST_NAMES)}, e.g. "avg_linear_bits<=6"'
    )
    match = _PATTERN.match(str(text))
    if not match:
        raise ConfigError(f"--constraint {text!r} is not readable; {usage}")
    name, op, number = match.groups()
    name = name.removeprefix(COST_PREFIX)
    if name not in COST_NAMES:
        raise ConfigError(f"--constraint {text!r}: {name!r} is not a cost trials report; {usage}")
    try:
        bound = float(number)
    except ValueError:
        raise ConfigError(f"--constraint {text!r}: {number!r} is not a number; {usage}") from None
    if not math.isfinite(bound):
        raise ConfigError(f"--constraint {text!r}: the bound must be a finite number; {usage}")
    return Constraint(name, op, bound)


def parse_constraints(texts: Sequence[str]) -> tuple[Constraint, ...]:
    """Every --constraint, parsed; ConfigError for a bad one or for one given twice."""
    constraints = tuple(parse_constraint(text) for text in texts)
    if len({c.text for c in constraints}) != len(constraints):
        raise ConfigError(f"--constraint lists the same constraint twice: {list(texts)}; give each once")
    return constraints


def constraint_values(
    constraints: Sequence[Constraint], metrics: Mapping[str, Any]
) -> dict[str, float] | None:
    """{constraint text: Optuna's constraint value} of a trial's reported `metrics`, the form
    `Trial.set_constraint` and `create_trial(constraints=...)` take; None when a cost is missing."""
    values = {}
    for constraint in constraints:
        value = metrics.get(constraint.column)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if math.isnan(float(value)):
            return None
        values[constraint.text] = constraint.violation(value)
    return values


def mark_feasible(rows: list[dict[str, Any]], constraints: Sequence[Constraint]) -> None:
    """Set `feasible` (True, False, or None without the costs) and one `constraint_<name>` column
    (Optuna's value, <= 0 satisfied) per constraint on every row, in place."""
    for row in rows:
        values = constraint_values(constraints, row)
        for constraint in constraints:
            row[f"constraint_{constraint.name}"] = None if values is None else values[constraint.text]
        row[FEASIBLE_COLUMN] = None if values is None else all(value <= 0 for value in values.values())
