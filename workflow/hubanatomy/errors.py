"""Errors that mean "the input or the configuration is wrong", reported without a traceback."""


class InputError(ValueError):
    """Bad input or configuration; the message names the file/key/row and what was expected."""


# what to do when no Hub is reachable, appended to every such error (archive, crawl)
OFFLINE_HINT = (
    "To work without the Hub, run on the built-in simulator "
    "(`snakemake --cores all --config source=simulated`), on local files "
    "(`--config source=snapshot` with snapshot.path: a raw JSONL file or folder, or a copy of "
    "the archive; see config/README.md), or against the Hub emulator "
    "(`hubanatomy serve-hub --raw DIR --port 8765`, then point crawl.endpoint or "
    "archive.endpoint at http://127.0.0.1:8765).")
