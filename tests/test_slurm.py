"""The CI preset through the Slurm executor on a real (single-node) Slurm cluster: every job a
Slurm job, and the tables, snapshot, sample and lineage byte-identical to a local run.

Runs where `profiles/slurm-local/local-cluster.sh up` (as root) has set the test cluster up
and the Slurm extra is installed (`pip install -e '.[slurm]'`); skips, saying which is
missing, everywhere else. Takes about 7 minutes on 2 cores."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from slurm_local import slurm_missing, squeue_states

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
CI_PRESET = str(ROOT / "config" / "presets" / "ci.yaml")
PROFILE = ROOT / "profiles" / "slurm-local"
# what must not depend on where the jobs ran
COMPARED = ["results/tables/*.csv", "results/replication.csv", "results/snapshot/*",
            "results/sample/*", "results/lineage/*"]
TIMEOUT = 1800


_MISSING = slurm_missing(plugin=True)
pytestmark = [pytest.mark.workflow, pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "")]


def _files(workdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(workdir)): p.read_bytes()
            for pattern in COMPARED for p in sorted(workdir.glob(pattern)) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The CI preset through Slurm and locally (both at once: the Slurm run mostly waits),
    as (slurm workdir, slurm log, local workdir)."""
    slurm_dir = tmp_path_factory.mktemp("slurm")
    local_dir = tmp_path_factory.mktemp("local")
    slurm_log = slurm_dir.parent / "slurm-run.log"
    with open(slurm_log, "w") as log:
        slurm = subprocess.Popen([*SNAKEMAKE, "-d", str(slurm_dir), "--profile", str(PROFILE),
                                  "--configfile", CI_PRESET],
                                 stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            local = subprocess.run([*SNAKEMAKE, "-d", str(local_dir), "--cores", "2",
                                    "--configfile", CI_PRESET],
                                   capture_output=True, text=True, timeout=TIMEOUT)
            slurm.wait(timeout=TIMEOUT)
        finally:
            if slurm.poll() is None:  # interrupted or timed out: Snakemake cancels its jobs
                slurm.terminate()
                try:
                    slurm.wait(timeout=120)
                except subprocess.TimeoutExpired:  # a Snakemake that lost its jobs waits on
                    slurm.kill()
                    slurm.wait()
    text = slurm_log.read_text()
    assert local.returncode == 0, local.stderr[-3000:]
    assert slurm.returncode == 0, text[-5000:]
    return slurm_dir, text, local_dir


def test_results_are_byte_identical_to_a_local_run(runs):
    slurm_dir, _, local_dir = runs
    slurm, local = _files(slurm_dir), _files(local_dir)
    assert sorted(slurm) == sorted(local)
    for name in ("results/replication.csv", "results/tables/tests.csv",
                 "results/snapshot/models.parquet", "results/snapshot/manifest.json",
                 "results/sample/models.parquet", "results/lineage/edges.parquet",
                 "results/lineage/hygiene.json"):
        assert name in slurm, name
    different = [name for name in local if slurm[name] != local[name]]
    assert not different, f"differ between the Slurm and the local run: {different}"


def test_every_job_was_a_slurm_job(runs):
    _, log, _ = runs
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", log)
    assert steps, "the Slurm run did not report 100% done"
    total = int(steps[-1][1])
    local_jobs = re.findall(r"^localrule (\w+):", log, flags=re.MULTILINE)
    assert set(local_jobs) <= {"all"}, f"jobs that ran outside Slurm: {local_jobs}"
    # every Snakemake job but the target rule went to Slurm, each as a job of its own
    assert len(submitted) == total - len(local_jobs) > 50
    assert len(set(submitted.values())) == len(submitted)
    # and Slurm ran them: squeue (no accounting, so no sacct) still lists them under the
    # run's name, finished, for MinJobAge seconds (an hour on the test cluster)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    states = squeue_states(name=run_id)
    assert set(states) == set(submitted.values())
    assert set(states.values()) == {"COMPLETED"}
