"""Logging for workflow scripts: to the rule's log file and to stderr, with timestamps."""

from __future__ import annotations

import logging
import resource
import sys
from collections.abc import Callable
from pathlib import Path

from hubanatomy.errors import InputError, describe_os_error

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# the last line of every job's log; hubanatomy.resources reads it back
PEAK_MEMORY = "peak resident memory: {mb} MB"


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
        logging.getLogger("hubanatomy").info(PEAK_MEMORY.format(mb=peak_memory_mb()))
    except InputError as error:
        logging.getLogger("hubanatomy").error("%s", error)
        sys.exit(1)
    except OSError as error:  # a full disk, a read-only folder: the path, not a traceback
        logging.getLogger("hubanatomy").error("%s", describe_os_error(error))
        sys.exit(1)
    except Exception:
        logging.getLogger("hubanatomy").exception("unexpected failure (a bug: please report it)")
        raise


def peak_memory_mb() -> int:
    """The most resident memory this process (or one of its finished children) ever held, as
    the kernel counts it: exact, where Snakemake's benchmark samples every 30 s after the first
    half minute and misses short peaks (which a cluster's memory limit does not)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    try:
        # VmHWM: this program's own peak. getrusage's RUSAGE_SELF would do but for Linux
        # carrying the peak of the process it was started from across exec (a job started by
        # a 1.6 GB pytest reported 1.6 GB)
        status = Path("/proc/self/status").read_text()
        own = int(next(line.split()[1] for line in status.splitlines()
                       if line.startswith("VmHWM:")))
    except (OSError, StopIteration, ValueError, IndexError):
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":  # bytes there
            own //= 1024
    return -(-max(own, children) // 1024)
