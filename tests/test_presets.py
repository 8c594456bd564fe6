"""Every preset of config/presets/, and the default config alone, parses and plans the whole
DAG: `snakemake -n` in a temporary working directory, without the network (the archive source
reaches the Hub only when its download job runs, never when the workflow is parsed). A new
preset is covered by being in the folder."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "config" / "presets").glob("*.yaml"))
# the job that brings each source's data in: the plan must hold it
FIRST_JOB = {"simulated": "simulate_hub", "archive": "download_archive",
             "crawl": "crawl_list", "snapshot": "normalise_snapshot"}
CLOSED = "http://127.0.0.1:9"  # nothing listens there: any HTTP request fails at once

pytestmark = pytest.mark.workflow


@functools.cache
def _offline_prefix() -> tuple[str, ...]:
    """`unshare -rn` (a new network namespace with no interface but loopback) where the
    system allows it; elsewhere the proxy variables of _offline_env still refuse HTTP."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return (unshare, "-rn")
    return ()


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "hf_endpoint")}
    env.update({"HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED, "ALL_PROXY": CLOSED,
                "http_proxy": CLOSED, "https_proxy": CLOSED, "all_proxy": CLOSED,
                "HF_HUB_OFFLINE": "1"})
    return env


def _config(preset: Path | None) -> dict:
    """The defaults with the preset's top-level keys over them (what this test needs of it:
    the source and the snapshot path)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if preset is not None:
        config.update(yaml.safe_load(preset.read_text()) or {})
    return config


@pytest.mark.parametrize("preset", [None, *PRESETS],
                         ids=["default", *(p.stem for p in PRESETS)])
def test_dry_run_plans_the_whole_dag_offline(tmp_path, preset):
    files = [preset] if preset is not None else []
    config = _config(preset)
    if config["source"] == "snapshot" and not config["snapshot"]["path"]:
        # a preset for local snapshots is used with a path (quick.yaml says how): give one
        raw = tmp_path / "raw.jsonl"
        raw.write_text('{"id": "org/model", "tags": []}\n')
        files.append(tmp_path / "snapshot.yaml")
        files[-1].write_text(yaml.safe_dump({"snapshot": {"path": str(raw)}}))
    args = ["--configfile", *map(str, files)] if files else []
    result = subprocess.run(
        [*_offline_prefix(), sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
         "-d", str(tmp_path / "run"), "--dry-run", *args],
        capture_output=True, text=True, timeout=300, env=_offline_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "This was a dry-run" in output
    assert FIRST_JOB[config["source"]] in output, output[-3000:]
    assert not (tmp_path / "run" / "results").exists()  # planned, nothing built
