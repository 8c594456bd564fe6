"""Cluster resources per rule (memory, run time) from the benchmarks of a full-scale run.

Every rule writes `results/benchmarks/<rule>[_<wildcards>].tsv` (Snakemake's `benchmark:`:
wall seconds, peak resident memory in MB, mean CPU load in percent). A scheduler such as Slurm
kills a job that outgrows its memory or time request, so the requests are the largest value
measured over the rule's jobs, with headroom:

* memory: 1.5 x the peak resident set plus 512 MB (the real Hub's texts are more uneven than
  one simulated run's), rounded up to 256 MB, at least 1 GB. The peak is the kernel's, which
  every job's log ends with: the benchmark samples memory only every 30 s after a job's first
  half minute and misses short peaks (it put simulate_hub at 1.3 GB, and a 2.5 GB limit
  killed it);
* run time: 3 x the longest wall time (cluster nodes are often slower than a workstation, and
  share their disks), in whole minutes, at least 10.

Cores are not guessed from the benchmarks' mean load, which understates what a rule gains
from a second core while it waits on its disk; a rule declares the `threads:` it was measured
to gain from (the comment at each such rule gives the numbers), and Slurm gives each job as
many CPUs as its rule's threads.

    python -m hubanatomy.resources results/benchmarks profiles/slurm/config.yaml

rewrites the block between the BEGIN and END lines of the profile and leaves the rest alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from hubanatomy.errors import InputError
from hubanatomy.logs import PEAK_MEMORY

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "workflow" / "rules"
BEGIN = "# BEGIN measured resources"
END = "# END measured resources"
MEM_FACTOR, MEM_EXTRA_MB, MEM_STEP_MB, MEM_MIN_MB = 1.5, 512, 256, 1024
TIME_FACTOR, TIME_MIN_MINUTES = 3.0, 10
# Rules a simulated full-scale run does not run, with requests from their own measurements
NOT_MEASURED = {
    # the release's 5.2 GB CSV: converted in 154 s at 3.3 GB peak (benchmarks/release_scale.py)
    "download_archive": {"mem_mb": 6144, "runtime": 60},
    "convert_local_archive": {"mem_mb": 6144, "runtime": 60},
    # a crawl is bound by the Hub's rate limits, not by the machine: at a few thousand card
    # requests per 5 minutes a full Hub takes days, and a shard stopped by its time limit
    # resumes where it stopped when rerun
    "crawl_list": {"mem_mb": 4096, "runtime": 720},
    "crawl_cards": {"mem_mb": 2048, "runtime": 2880},
    "gather_crawl": {"mem_mb": 8192, "runtime": 60},
    # bound by the arXiv API's pace (arxiv.delay_seconds per arxiv.batch_size ids), not the
    # machine: 100,000 linked papers take under an hour at the defaults
    "lookup_arxiv": {"mem_mb": 2048, "runtime": 240},
}
BENCHMARK = re.compile(r"^\s+benchmark_path\(f?\"([^\"]+)\"\)", re.M)
PEAK = re.compile(re.escape(PEAK_MEMORY).replace(r"\{mb\}", r"(\d+)"))
RULE = re.compile(r"^(?:local)?rule (\w+):\n(.*?)(?=^(?:local)?rule |^\S|\Z)", re.S | re.M)


def workflow_rules(rules_dir: Path = RULES_DIR) -> dict[str, str]:
    """rule name -> the text of its body, from every rules file."""
    return {m.group(1): m.group(2) for smk in sorted(rules_dir.glob("*.smk"))
            for m in RULE.finditer(smk.read_text())}


@dataclass(frozen=True)
class Measured:
    jobs: int
    seconds: float
    max_rss_mb: float
    mean_load: float


def _number(row: dict, column: str, path: Path) -> float:
    value = (row.get(column) or "").strip()
    if value in ("", "NA", "-"):  # Snakemake writes NA when a job ended before a sample
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{path}: column {column} holds {value!r}, not a number") from None


def benchmark_patterns(bodies: dict[str, str]) -> dict[str, re.Pattern]:
    """rule -> a pattern for the stems of its benchmark files, from its `benchmark:` line
    (each `{wildcard}` stands for one or more characters)."""
    patterns = {}
    for rule, body in bodies.items():
        found = BENCHMARK.search(body)
        if found:
            parts = re.split(r"\{\w+\}", found.group(1))
            patterns[rule] = re.compile("^" + "(.+)".join(map(re.escape, parts)) + "$")
    return patterns


def rule_of(stem: str, patterns: dict[str, re.Pattern]) -> str | None:
    """The rule a benchmark file is of; where several rules' patterns match, the one with the
    most fixed characters (`plot_similarity_{text}` loses to `plot_similarity_diff`)."""
    candidates = [r for r, pattern in patterns.items() if pattern.match(stem)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: len(patterns[r].pattern.replace("(.+)", "")))


def read_benchmarks(folder: Path, patterns: dict[str, re.Pattern]) -> dict[str, Measured]:
    """The largest time, memory and load per rule over its benchmark files in folder."""
    files = sorted(Path(folder).glob("*.tsv"))
    if not files:
        raise InputError(f"{folder}: no benchmark files (*.tsv); run the workflow first")
    per_rule: dict[str, list[tuple[float, float, float]]] = {}
    unknown, unsure = [], []
    for path in files:
        rule = rule_of(path.stem, patterns)
        if rule is None:
            unknown.append(path.name)
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows or "s" not in rows[0] or "max_rss" not in rows[0]:
            raise InputError(f"{path}: not a Snakemake benchmark file (columns s, max_rss, "
                             f"mean_load expected)")
        # Snakemake samples memory every 30 s after a job's first half minute and misses
        # short peaks; the job's log ends with the kernel's exact peak (hubanatomy.logs)
        peak = logged_peak_mb(Path(folder).parent / "logs" / f"{path.stem}.log")
        if peak is None:
            unsure.append(path.stem)
        per_rule.setdefault(rule, []).extend(
            (_number(r, "s", path), max(_number(r, "max_rss", path), peak or 0.0),
             _number(r, "mean_load", path)) for r in rows)
    if unsure:
        log.warning("no exact peak memory in the logs of %d jobs (%s); their memory is "
                    "Snakemake's sampled peak, which can miss the real one", len(unsure),
                    ", ".join(unsure[:5]) + (" ..." if len(unsure) > 5 else ""))
    if unknown:
        raise InputError(f"{folder}: benchmark files of no rule of this workflow: "
                         f"{', '.join(unknown[:10])}; remove them or rerun in a clean folder")
    return {rule: Measured(len(values), max(v[0] for v in values),
                           max(v[1] for v in values), max(v[2] for v in values))
            for rule, values in sorted(per_rule.items())}


def logged_peak_mb(log_file: Path) -> float | None:
    """The peak memory a job's log ends with, or None (no log, or a job that failed)."""
    try:
        found = PEAK.findall(log_file.read_text(errors="replace"))
    except OSError:
        return None
    return float(found[-1]) if found else None


def requests(measured: Measured) -> dict[str, int]:
    mem = max(measured.max_rss_mb * MEM_FACTOR + MEM_EXTRA_MB, MEM_MIN_MB)
    return {"mem_mb": int(math.ceil(mem / MEM_STEP_MB) * MEM_STEP_MB),
            "runtime": max(TIME_MIN_MINUTES, math.ceil(measured.seconds * TIME_FACTOR / 60))}


def profile_block(measured: dict[str, Measured], source: str) -> str:
    """The profile's set-resources for the measured rules, as YAML text."""
    lines = [BEGIN,
             f"# written by `python -m hubanatomy.resources` from {source};",
             "# after each rule: its jobs, and the largest wall time, peak memory and mean load",
             "# of one (not edited by hand: rerun the command after a full-scale run)",
             "set-resources:"]
    for rule, m in measured.items():
        r = requests(m)
        lines += [f"  {rule}:  # {m.jobs} job(s), {m.seconds:,.0f} s, {m.max_rss_mb:,.0f} MB, "
                  f"load {m.mean_load:.0f}%",
                  f"    mem_mb: {r['mem_mb']}", f"    runtime: {r['runtime']}"]
    for rule, r in NOT_MEASURED.items():
        if rule not in measured:
            lines += [f"  {rule}:  # not in a simulated run: see NOT_MEASURED",
                      f"    mem_mb: {r['mem_mb']}", f"    runtime: {r['runtime']}"]
    lines.append(END)
    return "\n".join(lines) + "\n"


def rewrite_profile(profile: Path, block: str) -> str:
    text = profile.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise InputError(f"{profile}: no '{BEGIN}' ... '{END}' block to rewrite")
    end = text.index("\n", end) + 1 if "\n" in text[end:] else len(text)
    return text[:start] + block + text[end:]


def describe_run(folder: Path) -> str:
    """What the benchmarks were measured on: the snapshot beside them, when there is one."""
    manifest = Path(folder).parent / "snapshot" / "manifest.json"
    try:
        rows = json.loads(manifest.read_text())["rows"]["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return "a run whose snapshot size is not known"
    return f"a run on {rows:,} models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmarks", type=Path, help="a run's results/benchmarks folder")
    parser.add_argument("profile", type=Path, help="the profile's config.yaml to rewrite")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        bodies = workflow_rules()
        measured = read_benchmarks(args.benchmarks, benchmark_patterns(bodies))
        block = profile_block(measured, describe_run(args.benchmarks))
        args.profile.write_text(rewrite_profile(args.profile, block))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.profile}: resources of {len(measured)} rules from {args.benchmarks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
