"""The local test cluster, shared by the tests that submit Slurm jobs: whether it is there
(`slurm_missing`), and what squeue says of jobs (`squeue_states`).

`profiles/slurm-local/local-cluster.sh up` (as root) sets it up: one node, partition `local`,
no accounting (so squeue, not sacct, reports finished jobs, for MinJobAge seconds)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess

SETUP = "run `profiles/slurm-local/local-cluster.sh up` as root"
# the partition local-cluster.sh defines and the profile submits to
PARTITION = "local"
READY = {"idle", "mixed", "allocated", "completing"}
# states after which a job runs no more
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def slurm_missing(plugin: bool = False) -> str | None:
    """Why jobs cannot be submitted to the local cluster here, or None when they can;
    plugin=True also needs Snakemake's Slurm executor plugin."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return f"no Slurm (sbatch/sinfo not found): {SETUP}"
    try:
        answer = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%T"],
                                capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return f"no Slurm: sinfo gets no answer within 30 s: {SETUP}"
    states = answer.stdout.split()
    if answer.returncode != 0 or not states:
        reason = (answer.stderr.strip() or "no such partition").splitlines()[-1]
        return f"no Slurm partition '{PARTITION}' answers ({reason}): {SETUP}"
    if not READY & set(states):
        return (f"no Slurm node ready in partition '{PARTITION}' (states: {' '.join(states)}): "
                f"{SETUP}")
    if plugin and importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "the Slurm executor plugin is not installed: pip install -e '.[slurm]'"
    return None


def partition_cpus() -> int:
    """The CPUs of the partition's nodes (all of them, busy or not)."""
    answer = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%C"],
                            capture_output=True, text=True, timeout=30, check=True)
    # allocated/idle/other/total, one line per node group
    return sum(int(line.split("/")[3]) for line in answer.stdout.split())


def squeue_states(job_ids: list[str] | None = None, name: str | None = None) -> dict[str, str]:
    """Job id -> state (finished jobs too, for MinJobAge seconds) of the given jobs, or of
    the jobs with this name."""
    command = ["squeue", "--states=all", "--noheader", "--format=%i|%T"]
    if job_ids:
        command.append("--jobs=" + ",".join(job_ids))
    if name:
        command += ["--name", name]
    queue = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if queue.returncode != 0:
        raise RuntimeError(f"squeue failed: {queue.stderr.strip()}")
    return dict(line.split("|", 1) for line in queue.stdout.split())
