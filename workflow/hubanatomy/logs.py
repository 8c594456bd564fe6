"""Logging for workflow scripts: to the rule's log file and to stderr, with timestamps."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from hubanatomy.errors import InputError, describe_os_error

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    # the HTTP client logs every request at INFO: millions of lines in a crawl
    for noisy in ("httpx2", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def run_script(snakemake, main: Callable[[], None]) -> None:
    """Log set-up first, then main(); an InputError or an OSError (no space left, no
    permission) ends the job with one line, not a traceback."""
    setup_logging(snakemake.log[0] if snakemake.log else None)
    try:
        main()
    except InputError as error:
        logging.getLogger("hubanatomy").error("%s", error)
        sys.exit(1)
    except OSError as error:  # a full disk, a read-only folder: the path, not a traceback
        logging.getLogger("hubanatomy").error("%s", describe_os_error(error))
        sys.exit(1)
    except Exception:
        logging.getLogger("hubanatomy").exception("unexpected failure (a bug: please report it)")
        raise
