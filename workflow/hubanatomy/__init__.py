"""hubanatomy: the open-model ecosystem's anatomy, rebuilt from raw Hugging Face Hub data."""

import os

__version__ = "0.1.0"

# A workflow job may use as many cores as its rule's `threads:`. Snakemake tells the numeric
# libraries so through OMP_NUM_THREADS (which numpy's BLAS and pyarrow also read); polars has
# its own variable, read once when polars is first imported, which this package is before.
if "OMP_NUM_THREADS" in os.environ:
    os.environ.setdefault("POLARS_MAX_THREADS", os.environ["OMP_NUM_THREADS"])
