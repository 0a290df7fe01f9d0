"""Names and choices that trials and the driver share, kept free of torch imports.

The driver (search/) plans a search, reads reports and writes tables; it never runs a model, so
it imports these names from here rather than from the modules that train (issue 15: a run pays
for torch's import only in the processes that train).
"""

# The metric a trial reports instead of its results when it failed in a way a retry cannot fix
# (a non-finite loss): the results table turns it into status ERROR with this text as the error.
TRIAL_ERROR_KEY = "trial_error"
# Written into every reported checkpoint before Tune sees it: the trial's params, metrics and
# duration. A checkpoint on storage with this file is a finished trial whatever Tune's own saved
# state says (the driver may die before it records the result); search/run/resume.py reads it.
RESULT_FILE = "adls_result.json"
# Every progress report carries `epoch`, this score (a maximised accuracy: the searcher hands it to
# Optuna as the intermediate value) and this loss on the same rows (minimised: ASHA ranks by it).
PROGRESS_TIME = "epoch"
PROGRESS_METRIC = "eval_accuracy"
PROGRESS_LOSS = "eval_loss"
# The config key of the epochs (ascending) at which a trial's progress report carries a training
# snapshot, so a synchronous scheduler may pause it there and resume it later (search/schedulers/sync_halving.py).
PAUSE_EPOCHS = "pause_at_epochs"
# The file of such a snapshot inside a reported checkpoint (trainables/train_snapshot.py writes it;
# a resumed sha search looks for it in a paused trial's folder).
SNAPSHOT_FILE = "adls_train_snapshot.pt"
# How a base model trains (trainables/models/base_methods.py) and at what precision (train_loop.py);
# the driver validates --base-method and --precision against these before anything starts.
BASE_METHODS = ("full", "frozen-embeddings", "lora")
PRECISIONS = ("fp32", "bf16")
# The config key of a trial that continues one a dead driver had paused at the rung (or promoted
# past it): {"trial_id", "snapshot": its training snapshot's folder or None, "report": its rung
# report}. The Ray adapter takes it out of the params, reports `report` again with the snapshot as
# its checkpoint and continues training from the snapshot (search/run/halving_resume.py).
CARRIED_TRIAL = "adls_carried_trial"
# The results-table column naming the trial a carried trial continues.
CARRIED_FROM = "carried_from_trial"
# The config key naming which search (variant) a trial belongs to when an experiment's searches
# share one Tuner (search/run/searches_together.py): the Ray adapter picks that search's trial
# function and settings by it; it is recorded with the params (resume splits trials by it) but is
# not a param of the trial function nor a column of the results table.
SEARCH_KEY = "adls_search"
