"""The schedule of `tests/run` (`schedule`): every suite in it, and what may run beside what."""

from __future__ import annotations

import os
import subprocess

from harness import schedule
from harness.schedule import IMAGES, PYTHON, SUITES, can_start, plan, ready


def running(*names: str) -> list[schedule.Running]:
    jobs = {job.name: job for job in (IMAGES, PYTHON, *SUITES.values())}
    return [schedule.Running(jobs[name], None, 0.0) for name in names]


def test_every_suite_script_is_scheduled_and_nothing_else():
    scripts = {path.stem for path in (schedule.ROOT / "tests" / "suites").glob("*.sh")}
    assert set(SUITES) == scripts


def test_the_images_are_built_once_before_the_suites_that_run_their_binaries():
    jobs = plan(["drills", "browser"])
    assert [job.name for job in jobs][:2] == [PYTHON.name, IMAGES.name]
    assert all(IMAGES.name in SUITES[name].needs for name in ("drills", "browser", "contract", "observability", "bench"))


def test_no_suite_builds_the_release_binaries_again(monkeypatch):
    monkeypatch.delenv("BINARY_DIR", raising=False)
    monkeypatch.setattr(schedule, "run", lambda jobs, live: {job.name: (True, 0.0) for job in jobs})
    monkeypatch.setattr(schedule, "leak_check", lambda: True)
    assert schedule.main(["contract"]) == 0
    assert os.environ["BINARY_DIR"] == str(IMAGES.argv[-1]) == str(schedule.ROOT / "target" / "images")


def test_a_suite_that_needs_nothing_built_runs_alone():
    assert [job.name for job in plan(["rust"])] == ["rust"]


def test_the_measuring_suites_run_alone():
    drills, bench = SUITES["drills"], SUITES["bench"]
    assert not can_start(drills, running("rust"))
    assert not can_start(drills, running("bench"))
    assert not can_start(drills, running("supply-chain"))
    assert not can_start(bench, running("observability"))
    assert not can_start(SUITES["rust"], running("drills"))
    assert not can_start(SUITES["supply-chain"], running("drills"))
    assert not can_start(IMAGES, running("bench"))
    assert can_start(bench, [])


def test_two_cores_hold_two_compilers_or_one_and_two_waiting_suites():
    assert can_start(SUITES["aks"], running("rust"))
    assert not can_start(SUITES["aks"], running("rust", "manifests"))
    assert can_start(SUITES["supply-chain"], running("rust", PYTHON.name))
    assert not can_start(SUITES["contract"], running("rust", "supply-chain"))


def test_the_first_compilers_start_beside_the_python_environments():
    assert can_start(SUITES["rust"], running(IMAGES.name, PYTHON.name))
    assert not can_start(SUITES["supply-chain"], running(IMAGES.name, PYTHON.name, "rust"))


def test_one_suite_at_a_time_uses_docker():
    assert not can_start(SUITES["pod"], running("stack"))
    assert not can_start(SUITES["observability"], running("pod"))


def test_the_rust_suite_compiles_beside_the_image_build():
    # The image build is the longest job, and the Docker suites and the binaries' suites wait for it.
    jobs = [job.name for job in plan(list(SUITES))]
    assert jobs[:3] == [PYTHON.name, IMAGES.name, "rust"]
    assert can_start(SUITES["rust"], running(PYTHON.name, IMAGES.name))
    assert IMAGES.name in SUITES["stack"].needs


def test_the_supply_chain_suite_waits_for_a_planned_image_build_without_needing_it():
    # It takes the build's cargo-cyclonedx rather than compiling it a second time.
    supply_chain = SUITES["supply-chain"]
    everything = {job.name for job in plan(list(SUITES))}
    assert IMAGES.name not in supply_chain.needs
    assert [job.name for job in plan(["supply-chain"])] == ["supply-chain"]
    assert ready(supply_chain, {}, {"supply-chain"})
    assert not ready(supply_chain, {}, everything)
    assert ready(supply_chain, {IMAGES.name: (False, 0.0)}, everything)


def require_cyclonedx(tmp_path, answers: str) -> subprocess.CompletedProcess:
    """`require_cargo_tools cargo-cyclonedx@0.5.9` in a checkout whose image build left a
    cargo-cyclonedx answering `answers` to `--version` (as the real one does, called by cargo),
    with an empty $CARGO_HOME and no network: what it runs afterwards, and what it logged."""
    tools = tmp_path / "target" / "images" / "tools"
    tools.mkdir(parents=True)
    stand_in = tools / "cargo-cyclonedx"
    stand_in.write_text(
        '#!/bin/sh\n[ "$*" = "cyclonedx --version" ] || { echo "error: unexpected argument" >&2; exit 2; }\n'
        f'echo "cargo-cyclonedx-cyclonedx {answers}"\n'
    )
    stand_in.chmod(0o755)
    lib = schedule.ROOT / "tests" / "lib.sh"
    env = dict(os.environ, CARGO_HOME=str(tmp_path / "cargo-home"), CARGO_NET_OFFLINE="true")
    script = f'source "{lib}"; require_cargo_tools cargo-cyclonedx@0.5.9; command -v cargo-cyclonedx'
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_a_cargo_tool_the_image_build_copied_out_is_not_compiled_again(tmp_path):
    taken = require_cyclonedx(tmp_path, "0.5.9")
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.strip() == str(tmp_path / "target" / "images" / "tools" / "cargo-cyclonedx")
    assert "installing" not in taken.stderr


def test_a_copied_out_cargo_tool_of_another_version_is_compiled(tmp_path):
    compiled = require_cyclonedx(tmp_path, "0.5.8")
    assert "installing cargo-cyclonedx@0.5.9 (cargo install" in compiled.stderr
