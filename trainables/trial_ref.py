"""A trial function named by its module, imported where the trial runs rather than where it is planned."""

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainables.trial_context import TrialContext


@dataclass(frozen=True)
class TrialRef:
    """`TrialRef("trainables.trials.base", "base_trial")` calls like the function it names.

    The experiment definitions in search/ hold these instead of the functions, so the driver, which
    only plans searches and reads results, never imports torch and transformers: the import happens
    in the Ray worker that runs the trial (or in a test that calls the ref). Pickles as two strings.
    """

    module: str
    name: str

    @property
    def __name__(self) -> str:  # Tune names a trainable (and its trial folders) after it
        return self.name

    def load(self) -> Any:
        """The named function (imports its module)."""
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, config: dict[str, Any], ctx: "TrialContext") -> Any:
        return self.load()(config, ctx)
