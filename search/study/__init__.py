"""The Optuna side of a search: the study database and the Tune searcher on it (`database`), bulk
trial writes (`bulk_write`), samplers by name (`samplers`) and cost budgets in Optuna's constrained
form (`constraints`)."""
