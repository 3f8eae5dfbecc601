"""The schedule of `tests/run` (`schedule`): every suite in it, and what may run beside what."""

from __future__ import annotations

import os

from harness import schedule
from harness.schedule import IMAGES, PYTHON, SUITES, can_start, plan


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
