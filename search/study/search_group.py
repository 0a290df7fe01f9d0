"""Several searches' studies behind one Tune searcher, so an experiment's searches share one Tuner.

Each search keeps its own StudySearch (its Optuna study, sampler and database copy); this searcher
only decides which search the next trial belongs to and routes every report back to that one.
Searches are filled in order: the first search's trials are all asked for before the second's,
so each study sees the same history as when it ran in a Tuner of its own, and a free slot goes to
the next search as soon as the previous one has handed out its last trial.
"""

import pickle
from typing import Any

from ray.tune.search import Searcher

from search.study.database import StudySearch
from trainables.trial_keys import SEARCH_KEY


class SearchGroup(Searcher):
    """`searches`: (key, its StudySearch, how many trials it still runs), in the order they run.

    Every suggestion carries SEARCH_KEY = the key of the search it came from. All searches share
    one metric and mode (the caller checks): Tune's loop reads them from this searcher.
    """

    def __init__(self, searches: list[tuple[str, StudySearch, int]]) -> None:
        first = searches[0][1]
        super().__init__(metric=first.metric, mode=first.mode)
        self.searches = searches
        self._asked = [0] * len(searches)
        self._owner: dict[str, int] = {}  # Tune trial id -> index in `searches`

    def suggest(self, trial_id: str) -> dict | str | None:
        if trial_id in self._owner:  # asked again for a trial it already handed out
            index = self._owner[trial_id]
            return self._tagged(index, self.searches[index][1].suggest(trial_id))
        for index, (_, search, budget) in enumerate(self.searches):
            if self._asked[index] >= budget:
                continue
            params = search.suggest(trial_id)
            if params is None or params == Searcher.FINISHED:
                continue
            self._asked[index] += 1
            self._owner[trial_id] = index
            return self._tagged(index, params)
        return (
            Searcher.FINISHED
            if all(a >= s[2] for a, s in zip(self._asked, self.searches, strict=True))
            else None
        )

    def _tagged(self, index: int, params: Any) -> Any:
        if isinstance(params, dict):
            params[SEARCH_KEY] = self.searches[index][0]
        return params

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._owner:
            self.searches[self._owner[trial_id]][1].on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self._owner:
            self.searches[self._owner[trial_id]][1].on_trial_complete(trial_id, result, error)

    def write_finished_trials(self) -> int:
        """Write every study's finished trials that its database lacks; returns how many."""
        return sum(search.write_finished_trials() for _, search, _ in self.searches)

    def save(self, checkpoint_path: str) -> None:
        # Tune's experiment snapshot: the studies' database copies first, as StudySearch.save does.
        self.write_finished_trials()
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.__dict__, handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.__dict__.update(pickle.load(handle))
        for _, search, _ in self.searches:
            search._db = None  # noqa: SLF001 - reopened from its URL, as StudySearch.restore does
            search._in_db = None  # noqa: SLF001
