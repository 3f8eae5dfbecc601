"""The benchmark's own tests (`pytest bench`, in tests/run bench): what
must be right for its figures to mean anything, checked without starting any server."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
from pathlib import Path

from harness import waiting
from harness.wrk import WrkResult

from bench import goals, report, settings, stack, targets
from bench.figures import Figures, Load, Run, WindowIdle, cpu_percent
from bench.footprint import Image, Size, TickCost


def run(rate: float, p99_ms: float = 1.0, p50_ms: float = 0.5, cpu_us: float = 10.0) -> Run:
    """Ten seconds at `rate`, `cpu_us` µs of server CPU per request."""
    return Run(WrkResult(int(rate * 10), 10.0, 0, 0, 0, 0, 0, p50_ms, p99_ms, p99_ms * 2), rate * 10 * cpu_us * 1e-6)


def pinned(cpu_us: dict[str, list[float]]) -> dict[str, Load]:
    """Pinned runs of the CPU table: `cpu_us` per request per round, by target label."""
    by_label = {t.label: t for t in targets.pinned_targets()}
    return {label: Load(by_label[label], [run(50_000.0, cpu_us=us) for us in uss]) for label, uss in cpu_us.items()}


def target(label: str) -> targets.Target:
    return next(t for t in targets.all_targets() if t.label == label)


def measured(rates: dict[str, list[float]], p99_ms: float = 1.0) -> Figures:
    return Figures(load={label: Load(target(label), [run(r, p99_ms) for r in rs]) for label, rs in rates.items()})


def full_figures() -> Figures:
    """Every figure of a run, as a full run fills them in."""
    figures = measured({t.label: [100_000.0, 90_000.0, 110_000.0] for t in targets.all_targets()})
    figures.pinned = pinned({t.label: [9.0, 10.0, 11.0] for t in targets.pinned_targets()})
    figures.rss_idle_kib = {"api-a": 5_000, "api-b": 4_000, "poller": 9_000}
    figures.rss_loaded_kib = {"api-a": 7_000, "api-b": 6_000, "poller": 12_000}
    figures.idle_connections = 10_000
    figures.idle_connections_rss_kib = [40_000, 41_000]
    figures.ready_ms = {"api-a": [5.0, 7.0, 6.0], "api-b": [3.0], "poller": [9.0], "api-a @ 24h": [80.0]}
    figures.sizes = {name: Size(4_000_000, 4_000_000) for name in goals.BINARIES}
    figures.tick = TickCost(300, 0.4, 9_000, 12_000)
    figures.images = [Image("api-a", "btc-price/api-a:local", 4_200_000, "2026-11-30 20:00:00")]
    figures.windows = {w.key: WindowIdle(0.3, 0.2, 6_000) for w in targets.WINDOWS}
    figures.window_rss_loaded_kib = {w.key: 8_000 for w in targets.WINDOWS}
    return figures


class Targets(unittest.TestCase):
    def test_every_target_is_compared_with_a_target_that_is_measured(self):
        labels = [t.label for t in targets.all_targets()]
        self.assertEqual(len(labels), len(set(labels)), "labels are unique")
        for each in targets.all_targets():
            if each.versus is not None:
                self.assertIn(each.versus, labels, each.label)

    def test_a_windowed_route_is_measured_on_every_longer_window_against_the_default_one(self):
        for route in (t for t in targets.TARGETS if t.windows):
            for window in targets.WINDOWS[1:]:
                derived = target(targets.window_label(route, window))
                self.assertEqual((derived.server, derived.path, derived.versus), (window.server, route.path, route.label))

    def test_the_cpu_table_measures_every_service_route_and_history_on_the_longest_window_against_nginx(self):
        pinned = {t.label: t for t in targets.pinned_targets()}
        for label in ("api-b /", "api-a /current", "api-a /average", "api-a /history", "api-a /history @ 24h"):
            self.assertEqual(pinned[label].versus, targets.YARDSTICK, label)
        self.assertIsNone(pinned[targets.YARDSTICK].versus)
        self.assertEqual(pinned["api-a /history @ 24h"].server, targets.WINDOWS[-1].server)
        self.assertEqual({w.server for w in targets.PINNED_WINDOWS}, {t.server for t in pinned.values()} - {"static", "api-b"})

    def test_every_round_runs_each_target_once_and_odd_rounds_run_them_in_reverse(self):
        everything = targets.all_targets()
        first, second = targets.round_order(everything, 0), targets.round_order(everything, 1)
        self.assertEqual(first, everything)
        self.assertEqual(second, everything[::-1])


class Figures_(unittest.TestCase):
    def test_the_ratio_is_the_median_rate_over_the_yardsticks_median_rate(self):
        figures = measured({targets.YARDSTICK: [100.0, 300.0, 200.0], "api-a /current": [50.0, 190.0, 1000.0]})
        self.assertAlmostEqual(figures.ratio("api-a /current"), 190 / 200)
        self.assertIsNone(figures.ratio(targets.YARDSTICK), "a yardstick has no ratio")
        self.assertIsNone(figures.ratio("api-b /"), "not measured")

    def test_the_cpu_ratio_is_the_median_cpu_per_request_over_the_yardsticks_median(self):
        figures = Figures(pinned=pinned({targets.YARDSTICK: [8.0, 9.0, 30.0], "api-b /": [9.0, 100.0, 10.0]}))
        self.assertAlmostEqual(figures.cpu_ratio("api-b /"), 10.0 / 9.0)
        self.assertIsNone(figures.cpu_ratio(targets.YARDSTICK), "a yardstick has no ratio")
        self.assertIsNone(figures.cpu_ratio("api-a /current"), "not measured")

    def test_cpu_time_is_a_share_of_one_core(self):
        self.assertAlmostEqual(cpu_percent(0.6, 30.0), 2.0)


class Goals(unittest.TestCase):
    def test_a_ceiling_is_met_at_the_limit_and_missed_above_it(self):
        goal = goals.Goal("x", lambda f: f.p99_ms("api-b /"), 3, True, " ms")
        self.assertTrue(goal.judge(measured({"api-b /": [1.0]}, p99_ms=3.0)).met)
        self.assertFalse(goal.judge(measured({"api-b /": [1.0]}, p99_ms=3.01)).met)

    def test_a_floor_is_met_at_the_limit_and_missed_below_it(self):
        goal = goals.Goal("x", lambda f: f.ratio("api-b /"), 0.95, False, "×")
        self.assertTrue(goal.judge(measured({targets.YARDSTICK: [100.0], "api-b /": [95.0]})).met)
        self.assertFalse(goal.judge(measured({targets.YARDSTICK: [100.0], "api-b /": [94.0]})).met)

    def test_a_figure_not_measured_is_neither_met_nor_missed(self):
        verdicts = goals.judge(Figures())
        self.assertTrue(all(v.met is None and v.word == "not measured" for v in verdicts))

    def test_every_goal_has_a_figure_in_a_full_run(self):
        missing = [v.goal.text for v in goals.judge(full_figures()) if v.figure is None]
        # Only the images the Docker engine did not have.
        self.assertEqual(missing, ["image api-b", "image poller"])

    def test_the_longest_window_is_judged_on_its_larger_memory_and_its_throughput_against_10_minutes(self):
        figures = full_figures()
        figures.window_rss_loaded_kib["24h"] = 30 * 1024
        figures.load["api-a /average @ 24h"] = Load(target("api-a /average @ 24h"), [run(90_000.0)])
        verdicts = {v.goal.text: v for v in goals.judge(figures)}
        self.assertEqual(verdicts["api-a RSS, 24 h at 2 s (idle and after load)"].figure, 30.0)
        self.assertFalse(verdicts["api-a RSS, 24 h at 2 s (idle and after load)"].met)
        self.assertAlmostEqual(verdicts["api-a /average @ 24h vs the 10 m window"].figure, 0.9)
        self.assertTrue(verdicts["api-a /current @ 24h vs the 10 m window"].met)

    def test_each_route_is_judged_on_its_cpu_per_request_against_nginx_with_its_own_limit(self):
        figures = full_figures()
        figures.pinned = pinned({targets.YARDSTICK: [10.0], "api-b /": [10.0], "api-a /current": [12.5],
                                 "api-a /history": [30.0], "api-a /history @ 24h": [40.5]})  # fmt: skip
        verdicts = {v.goal.text: v for v in goals.judge(figures)}
        versus = f"pinned, vs {targets.YARDSTICK}"
        self.assertTrue(verdicts[f"CPU per request, api-b /, {versus}"].met)
        self.assertFalse(verdicts[f"CPU per request, api-a /current, {versus}"].met)
        self.assertTrue(verdicts[f"CPU per request, api-a /history, {versus}"].met)
        self.assertFalse(verdicts[f"CPU per request, api-a /history @ 24h, {versus}"].met)
        self.assertIsNone(verdicts[f"CPU per request, api-a /average, {versus}"].met, "not measured")
        limits = {text.split(", ")[1]: v.goal.limit for text, v in verdicts.items() if text.startswith("CPU per request")}
        self.assertEqual(limits, {"api-b /": 1.0, "api-a /current": 1.2, "api-a /average": 1.2, "api-a /history": 3.0,
                                  "api-a /history @ 24h": 4.0})  # fmt: skip

    def test_every_direct_target_has_a_p99_goal_and_every_proxied_one_a_ratio_goal(self):
        texts = [goal.text for goal in goals.goals()]
        for each in targets.TARGETS:
            if each.versus == targets.YARDSTICK:
                self.assertIn(f"p99 {each.label}", texts)
            if each.versus == targets.GATEWAY_YARDSTICK:
                self.assertIn(f"{each.label} vs {targets.GATEWAY_YARDSTICK}", texts)


class Settings(unittest.TestCase):
    def test_smoke_defaults_and_overrides_and_the_command_that_reproduces_them(self):
        smoke = settings.read(smoke=True, environ={"DURATION": "3s", "ROUNDS": ""})
        self.assertEqual((smoke.rounds, smoke.duration, smoke.idle_connections), (1, 3, 10_000))
        self.assertEqual(smoke.command, "DURATION=3s bench/run --smoke")
        full = settings.read(smoke=False, environ={})
        self.assertEqual((full.rounds, full.duration, full.idle_cpu_seconds), (5, 10, 30.0))
        self.assertEqual(full.results.relative_to(settings.REPO_ROOT), Path("bench/RESULTS.md"))

    def test_a_knob_that_is_not_a_number_stops_the_run(self):
        with self.assertRaises(SystemExit):
            settings.read(smoke=True, environ={"ROUNDS": "many"})
        with self.assertRaises(SystemExit):
            settings.read(smoke=True, environ={"CONNECTIONS": "0"})


class Stack(unittest.TestCase):
    def test_a_servers_cpu_counts_its_children_such_as_nginx_workers(self):
        with subprocess.Popen(["sleep", "30"]) as child:
            try:
                self.assertEqual(stack.process_tree(os.getpid())[0], os.getpid())
                self.assertIn(child.pid, stack.process_tree(os.getpid()))
            finally:
                child.kill()

    def test_pinning_puts_every_thread_of_a_server_and_its_children_on_one_core(self):
        script = "import threading, subprocess, time; threading.Thread(target=time.sleep, args=(30,)).start(); subprocess.run(['sleep', '30'])"
        with subprocess.Popen([sys.executable, "-c", script]) as server:
            try:
                tree = []
                waiting.eventually(lambda: len(tree := stack.process_tree(server.pid)) == 2 and tree, 10, "a child")
                stack.pin(server.pid, stack.SERVER_CPU)
                tasks = [int(t.name) for pid in stack.process_tree(server.pid) for t in Path(f"/proc/{pid}/task").iterdir()]
                self.assertGreaterEqual(len(tasks), 3, "the main thread, a second thread and the child")
                self.assertEqual({frozenset(os.sched_getaffinity(task)) for task in tasks}, {frozenset({stack.SERVER_CPU})})
            finally:
                for pid in reversed(stack.process_tree(server.pid)):
                    os.kill(pid, 9)


class Report(unittest.TestCase):
    def test_the_yardstick_answers_any_body_verbatim(self):
        config = stack.static_config(Path("/w"), 1234, """{"a":"it's \\ here"}""")
        self.assertIn("""return 200 '{"a":"it\\'s \\\\ here"}';""", config)
        self.assertIn("listen 127.0.0.1:1234;", config)

    def test_a_report_has_every_section_and_every_target(self):
        figures = full_figures()
        text = report.results_markdown(settings.read(smoke=False, environ={}), {"CPUs (nproc)": "2"}, figures,
                                       goals.judge(figures))  # fmt: skip
        for heading in ("## Machine", "## Commands", "## CPU per request", "## Throughput", "## Footprint", "## Windows", "## Goals"):
            self.assertIn(heading, text)
        self.assertIn("| api-a /history @ 24h ", text.split("## CPU per request")[1].split("## Throughput")[0])
        for each in targets.all_targets():
            self.assertIn(f"| {each.label} ", text)
        self.assertIn("| 100,000 |", text)
        self.assertIn("1.00×", text)
        self.assertIn("|              10.0 |", text, "server CPU per request")

    def test_a_new_report_keeps_the_profiles_written_under_the_last_one(self):
        previous = "# Benchmark results\n\nold tables\n\n## Profiles\n\nbefore and after\n"
        self.assertEqual(report.with_profiles("# new\n", previous), "# new\n\n## Profiles\n\nbefore and after\n")
        self.assertEqual(report.with_profiles("# new\n", "# old, no profiles\n"), "# new\n")
        self.assertEqual(report.with_profiles("# new\n", None), "# new\n")

    def test_table_columns_line_up(self):
        lines = report.table(["a", "bb"], [["xyz", "1"], ["q", "22"]]).splitlines()
        self.assertEqual(len({len(line) for line in lines}), 1)
        self.assertEqual(lines[2], "| xyz |  1 |")
