"""One ready-to-use MASE config per Linear format, about 8 bits where the format has a width.

For tests, benchmarks and experiments that need "this format, sensible settings"
(e.g. one curve per precision); copy and change the keys you sweep. Each config is declared with
its format (trainables/compress/number_format.py, collected in trainables/compress/registry.py).
"""

import copy
from typing import Any

from errors import ConfigError
from trainables.compress.number_format import BLOCKS_16 as BLOCKS_16
from trainables.compress.number_format import every_tensor as every_tensor
from trainables.compress.registry import EXAMPLE_CONFIGS


def example_config(format_name: str) -> dict[str, Any]:
    """A fresh copy of the example config of `format_name`, or ConfigError listing the known names."""
    if format_name not in EXAMPLE_CONFIGS:
        raise ConfigError(
            f"no example config for format {format_name!r}; choose one of {sorted(EXAMPLE_CONFIGS)}"
        )
    return copy.deepcopy(dict(EXAMPLE_CONFIGS[format_name]))
