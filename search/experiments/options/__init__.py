"""The run options that only one experiment reads, declared and checked beside it, torch-free.

`lab2_nas` (`--trial`, `--surrogate-seconds`) and `lab3` (`--from`, `--precisions`, `--objective`,
`--layers`, `--keep-classifier-fp32`); search/options.py takes them into RunOptions
(search/option_spec.py says how an option is declared).
"""
