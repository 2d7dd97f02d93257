"""The GPU wrapper (`dualrank gpu`) and the one-workstation profile, on a CPU machine:
the devices are ids in CUDA_VISIBLE_DEVICES, which is all a CUDA program sees of them."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRAP = [sys.executable, "-m", "dualrank.cli.gpu"]
# A job that reports the devices it sees, and when it held them.
REPORT = ("import os, sys, time; t0 = time.time(); time.sleep(float(sys.argv[2])); "
          "open(sys.argv[1], 'w').write(f\"{os.environ['CUDA_VISIBLE_DEVICES']} {t0} {time.time()}\")")


def env_with(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def job(tmp_path, name, gpus, seconds, env):
    out = tmp_path / name
    cmd = [*WRAP, "--gpus", str(gpus), "--lock-dir", str(tmp_path / "locks"), "--",
           sys.executable, "-c", REPORT, str(out), str(seconds)]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True), out


def read(out):
    devices, start, end = out.read_text().split(" ")
    return devices, float(start), float(end)


def test_concurrent_jobs_get_disjoint_devices_and_a_third_waits(tmp_path):
    env = env_with(CUDA_VISIBLE_DEVICES="0,1")
    jobs = [job(tmp_path, f"j{i}", 1, 2.0, env) for i in range(3)]
    for proc, _ in jobs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    runs = [read(out) for _, out in jobs]
    assert all(dev in {"0", "1"} for dev, _, _ in runs)
    # Two jobs that ran at the same time never shared a device; at most two ran at once.
    for i, (d1, s1, e1) in enumerate(runs):
        for d2, s2, e2 in runs[i + 1:]:
            if s1 < e2 and s2 < e1:
                assert d1 != d2, runs
    starts = sorted(s for _, s, _ in runs)
    ends = sorted(e for _, _, e in runs)
    assert starts[2] >= ends[0] - 0.05, runs  # the third started only after one had finished


def test_a_two_gpu_job_gets_both_devices_and_the_log_says_which(tmp_path):
    proc, out = job(tmp_path, "j", 2, 0, env_with(CUDA_VISIBLE_DEVICES="GPU-aa,GPU-bb,GPU-cc"))
    assert proc.wait(timeout=60) == 0
    devices = read(out)[0].split(",")
    assert len(devices) == 2 and len(set(devices)) == 2 and set(devices) <= {"GPU-aa", "GPU-bb", "GPU-cc"}
    assert f"CUDA_VISIBLE_DEVICES={read(out)[0]}" in proc.stderr.read()


def test_a_killed_job_frees_its_device(tmp_path):
    env = env_with(CUDA_VISIBLE_DEVICES="7")
    holder, _ = job(tmp_path, "holder", 1, 60, env)
    time.sleep(1.5)  # the holder has its lock
    waiter, out = job(tmp_path, "waiter", 1, 0, env)
    time.sleep(1.5)
    assert waiter.poll() is None and not out.exists()  # blocked behind the holder
    holder.send_signal(signal.SIGKILL)
    assert waiter.wait(timeout=30) == 0
    assert read(out)[0] == "7"


def test_no_gpu_job_sees_no_device(tmp_path):
    proc, out = job(tmp_path, "j", 0, 0, env_with(CUDA_VISIBLE_DEVICES="0,1"))
    assert proc.wait(timeout=60) == 0
    assert read(out)[0] == ""


def test_more_gpus_than_the_machine_has_fails_naming_both_counts(tmp_path):
    proc, out = job(tmp_path, "j", 3, 0, env_with(CUDA_VISIBLE_DEVICES="0,1"))
    assert proc.wait(timeout=60) != 0 and not out.exists()
    assert "asks for 3 GPU(s)" in proc.stderr.read()


def test_under_slurm_the_allocation_is_passed_through(tmp_path):
    # slurmd set CUDA_VISIBLE_DEVICES to the job's allocation; no lock is taken.
    env = env_with(CUDA_VISIBLE_DEVICES="3", SLURM_JOB_ID="42")
    proc, out = job(tmp_path, "j", 1, 0, env)
    assert proc.wait(timeout=60) == 0
    assert read(out)[0] == "3" and not (tmp_path / "locks").exists()
    assert "from SLURM job 42" in proc.stderr.read()


SNAKEFILE = f"""
rule all:
    input: expand("out/{{i}}", i=range(4))

rule gpu_job:
    output: "out/{{i}}"
    resources: gpu=1
    shell: "{sys.executable} -m dualrank.cli.gpu --gpus {{resources.gpu}} --lock-dir locks -- "
           "{sys.executable} report.py {{output}} 1.5"
"""


# The explicit local-gpu profile, and the default one Snakemake reads unasked (profiles/default
# beside the Snakefile): `snakemake --cores 4` on a one-GPU machine never runs two GPU jobs at once.
@pytest.mark.parametrize("profile, cli, slots", [
    ("workflow/profiles/local-gpu", [], 1), ("workflow/profiles/local-gpu", ["--resources", "gpu=2"], 2),
    ("profiles/default", [], 1), ("profiles/default", ["--resources", "gpu=2"], 2)])
def test_gpu_profiles_run_as_many_gpu_jobs_as_gpus_each_on_its_own(tmp_path, profile, cli, slots):
    shutil.copytree(ROOT / profile, tmp_path / profile)
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "report.py").write_text(REPORT.replace("; ", "\n"))
    explicit = [] if profile == "profiles/default" else ["--workflow-profile", profile]
    proc = subprocess.run([sys.executable, "-m", "snakemake", *explicit, "--cores", "4", *cli],
                          cwd=tmp_path, env=env_with(CUDA_VISIBLE_DEVICES="0,1"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Using workflow specific profile {profile} " in proc.stderr
    runs = [read(p) for p in sorted((tmp_path / "out").iterdir())]
    assert len(runs) == 4
    most = max(sum(s <= t < e for _, s, e in runs) for _, t, _ in runs)  # jobs running at each start
    assert most == slots, runs
    for i, (d1, s1, e1) in enumerate(runs):
        assert d1 in {"0", "1"}
        for d2, s2, e2 in runs[i + 1:]:
            if s1 < e2 and s2 < e1:
                assert d1 != d2, runs


def test_the_gpu_rules_run_through_the_wrapper(workdir):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "results/table1.csv"], cwd=workdir,
                         env=env_with(), capture_output=True, text=True, check=True).stdout
    for command in ("train", "evaluate", "teacher-score"):
        assert f"dualrank gpu --gpus 1 -- dualrank {command} " in out, command
    # A persistent FAISS index (config index.persistent) is built by its own GPU job.
    (workdir / "index.yaml").write_text("index: {persistent: true}\n")
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "results/table1.csv", "--configfile",
                          "index.yaml"], cwd=workdir, env=env_with(), capture_output=True, text=True, check=True).stdout
    assert "dualrank gpu --gpus 1 -- dualrank index " in out


def test_under_slurm_without_a_device_list_the_job_runs_with_a_warning(tmp_path):
    env = env_with(SLURM_JOB_ID="43")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    proc = subprocess.run([*WRAP, "--gpus", "1", "--", sys.executable, "-c", "print('ran')"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "ran\n"
    assert "SLURM job 43 asks for 1 GPU(s) but CUDA_VISIBLE_DEVICES=None" in proc.stderr


def test_the_default_profile_is_read_unasked_and_an_explicit_one_replaces_it(workdir, monkeypatch):
    from snakemake.cli import parse_args

    monkeypatch.chdir(workdir)  # a clone: the Snakefile with profiles/default beside it
    _, args = parse_args(["-n", "--", "results/table1.csv"])
    assert (args.cores, args.resources["gpu"].value) == (os.cpu_count(), 1)
    assert args.retries == 1 and args.rerun_incomplete and args.targets == ["results/table1.csv"]
    _, args = parse_args(["--cores", "3", "--resources", "gpu=2", "--", "results/table1.csv"])
    assert (args.cores, args.resources["gpu"].value) == (3, 2)
    _, args = parse_args(["--workflow-profile", "workflow/profiles/slurm", "--", "results/table1.csv"])
    assert args.executor == "slurm" and args.retries == 2 and not args.rerun_incomplete and not args.resources
