"""One run's view of the experiments it touches: where each is stored, what it needs, its identity.

A run (`adls run lab3`) asks the same questions many times: is this experiment's result stored,
which experiments does it start from, what makes two of its runs the same. The plan answers each
experiment's identity and dependencies once per run and hands experiments a `stored(name)`
function, so no experiment imports the runner.
"""

import hashlib
import json
import tomllib
from collections.abc import Sequence
from typing import Any

from errors import ConfigError
from search import storage
from search.experiments.registry import get_entry, get_experiment
from search.options import RunOptions

RUN_FILE = "run.json"


# What a later run reads from a stored run.json: whether it is reusable, and which run made it.
RUN_FILE_FIELDS = ("identity", "run_id")


def read_run_file(run_file: str) -> dict[str, Any]:
    """A `run.json` as a dict; ConfigError naming the file and the way out when it is damaged.

    Damaged: not JSON, not an object, or lacking one of RUN_FILE_FIELDS.
    """
    try:
        stored = storage.read_json(run_file)
    except ValueError as error:  # not JSON, not UTF-8
        stored, reason = None, str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    else:
        reason = f"a JSON {type(stored).__name__}, not an object"
    if isinstance(stored, dict):
        missing = [field for field in RUN_FILE_FIELDS if field not in stored]
        if not missing:
            return stored
        reason = f"it lacks {', '.join(missing)}"
    folder = run_file.rsplit("/", 1)[0]
    raise ConfigError(
        f"{run_file} is damaged ({reason}); move the folder aside (mv {folder} {folder}.broken) "
        "and run again to start that experiment afresh"
    )


class RunPlan:
    """The experiments of one run under one set of options; identities are computed once and kept."""

    def __init__(self, options: RunOptions, order: Sequence[str] = ()) -> None:
        self.options = options
        self._identities: dict[str, dict[str, Any]] = {}
        self._dependencies: dict[str, tuple[str, ...]] = {}
        # The experiments this run was asked for, in the order they run.
        self.order = list(order)

    def later(self, name: str) -> list[str]:
        """The experiments of this run after `name` (none when `name` is not one it was asked for)."""
        return self.order[self.order.index(name) + 1 :] if name in self.order else []

    def identity(self, name: str) -> dict[str, Any]:
        """What makes two runs of `name` the same result: profile, data, seed and its own fields.

        The first call runs the experiment's option checks (`identity_fields`): ConfigError there
        stops the run before anything starts.
        """
        if name not in self._identities:
            experiment = get_experiment(name)
            identity = _shared_identity(self.options, name)
            if self.options.scheduler != "fifo" and experiment.early_stopping:
                # Only where it applies: a base model run beside an ASHA search stays the same result.
                identity["scheduler"] = self.options.scheduler
            if self.options.budget is not None and experiment.uses_budget:
                # Only where it sets the trial count: `adls run lab3 --budget 2` reuses a stored
                # lab3-mixed and base, whose trials --budget does not change.
                identity["budget"] = self.options.budget
            if self.options.mase_exact and experiment.quantizes:
                # Only when set, so that results stored before the option existed keep their identity.
                identity["mase_exact"] = True
            fields = experiment.identity_fields(self.options, self.has_results)
            if fields is not None:
                identity["fields"] = fields
            self._identities[name] = identity
        return self._identities[name]

    def dependencies(self, name: str) -> tuple[str, ...]:
        """The experiments whose results this run of `name` needs (`inputs_for`, else `requires`)."""
        if name not in self._dependencies:
            needed = get_experiment(name).inputs_for(self.options, self.has_results)
            if needed is None:
                needed = get_entry(name).requires
            self._dependencies[name] = tuple(needed)
        return self._dependencies[name]

    def folder(self, name: str) -> str:
        """`<storage>/<name>`: the folder of an experiment's results."""
        return storage.join(storage.normalize(self.options.storage), name)

    def stored_run(self, name: str) -> dict[str, Any] | None:
        """The `run.json` of `<storage>/<name>/` when it is a finished run of this run's identity.

        Read from storage on every call: it changes while the run finishes experiments.
        """
        run_file = storage.join(self.folder(name), RUN_FILE)
        if not storage.exists(run_file):
            return None
        stored = read_run_file(run_file)
        return stored if stored.get("identity") == self.identity(name) else None

    def changed_inputs(self, stored: dict[str, Any]) -> list[str]:
        """The dependencies whose stored results (same identity) are not the ones `stored` was made from.

        E.g. `adls run lab1-qat --force` makes the stored lab1-prune results stale. A dependency
        that is missing, or stored for another identity, does not count: the results are still its own.
        """
        changed = []
        for dependency, run_id in (stored.get("inputs") or {}).items():
            current = self.stored_run(dependency)
            if current is not None and current.get("run_id") != run_id:
                changed.append(dependency)
        return changed

    def has_results(self, name: str) -> bool:
        """True when `<storage>/<name>/` holds a finished run that the runner would reuse."""
        stored = self.stored_run(name)
        return stored is not None and not self.changed_inputs(stored)


def _shared_identity(options: RunOptions, experiment: str) -> dict[str, Any]:
    """The part of every experiment's identity that the run's shared options decide."""
    identity = {
        "experiment": experiment,
        "profile": options.profile_name,
        "seed": options.seed,
        "data": options.data_settings(),
        # What every model starts from: later stages are built on the base model.
        "start": {"model": options.sources().model, "base_method": options.resolved_base_method},
    }
    if options.model is not None:
        identity["start"]["model_config"] = options.sources().model_config
    # Only when set, so results stored before these options existed keep their identity.
    # (--budget, --scheduler and --mase-exact enter only where they apply: RunPlan.identity.)
    if options.trial != "real":
        identity["trial"] = {"kind": options.trial, "seconds": options.surrogate_seconds}
    if options.precision != "fp32":
        identity["precision"] = options.precision
    if options.compile:
        identity["compile"] = True
    if options.search_file is not None:
        identity["search_file"] = search_file_identity(options.search_file)
    return identity


def search_file_identity(text: str) -> str:
    """The hash of a search file's content that identifies a run: its values, not its layout or budget.

    Comments and formatting do not change it; nor does `budget`, which enters the identity where it
    applies (RunPlan.identity), so a file whose only change is a larger budget grows the stored search.
    """
    content = tomllib.loads(text)
    run = {key: value for key, value in content.get("run", {}).items() if key != "budget"}
    canonical = json.dumps({**content, "run": run}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
