"""The contract suite's own tests: the parts that must be right for a Schemathesis run to mean
anything, checked without running it."""

from __future__ import annotations

import json
import tomllib
import unittest
from pathlib import Path

from harness.binaries import REPO_ROOT

from contract import events, report, runs, states, tampering

COMMITTED_A = REPO_ROOT / "docs" / "openapi" / "api-a.json"


def scenario(label: str, statuses: list[int], failures: list[tuple[str, str]] = ()) -> str:
    """A `ScenarioFinished` line as Schemathesis 4 writes it: one interaction per status, and
    the failed checks as (check, code)."""
    interactions = {
        f"case{i}": {"request": {"method": "GET", "uri": f"http://x{label.split()[1]}"},
                     "response": {"status_code": status}}
        for i, status in enumerate(statuses)
    }  # fmt: skip
    checks = {
        "case0": [{"name": "not_a_server_error", "status": "success"}]
        + [
            {"name": name, "status": "failure",
             "failure_info": {"failure": {"code": code, "operation": label, "title": "Bad", "message": "why\nmore"}}}
            for name, code in failures
        ]  # fmt: skip
    }
    recorder = {"label": label, "interactions": interactions, "checks": checks}
    return json.dumps({"ScenarioFinished": {"phase": "fuzzing", "status": "success", "recorder": recorder}})


REPORT = [
    json.dumps({"Initialize": {"seed": 42}}),
    json.dumps({"PhaseFinished": {"phase": {"name": "probing"}, "payload": {"probes": [{}, {}]}}}),
    json.dumps({"ScenarioFinished": {"phase": "examples", "status": "skip", "recorder": {"label": "GET /a"}}}),
    scenario("GET /a", [200, 405, 405]),
    scenario("GET /b", [503], [("status_code_conformance", "ST103")]),
    scenario("GET /b", [503], [("status_code_conformance", "ST103")]),
    json.dumps({"NonFatalError": {"label": "GET /c", "value": {"type": "ConnectionError", "message": "refused"}}}),
    "",
]


def outcome(run: runs.Run, summary: events.Summary, exit_status: int = 0, answered: int | None = None) -> runs.Outcome:
    result = runs.Outcome(run, summary, exit_status, 1.0, Path("/nonexistent.log"), answered)
    runs.judge(result)
    return result


def a_run(route: str = runs.DIRECT, expected: frozenset[str] = frozenset({"GET /a", "GET /b"})) -> runs.Run:
    return runs.Run("api-a", "price available", route, "http://127.0.0.1:1/service1/openapi.json",
                    ("--include-path-regex", "^/"), expected, "http://127.0.0.1:1/metrics")  # fmt: skip


class ReadingTheReport(unittest.TestCase):
    def test_every_request_of_every_phase_and_every_probe_is_counted(self):
        summary = events.summarize(REPORT)
        self.assertEqual((summary.interactions, summary.probes, summary.requests), (5, 2, 7))
        self.assertEqual(summary.statuses, {200: 1, 405: 2, 503: 2})
        self.assertEqual(summary.seed, "42")

    def test_an_operation_counts_as_tested_only_once_it_was_sent_a_request(self):
        self.assertEqual(events.summarize(REPORT).operations, {"GET /a", "GET /b"})

    def test_the_same_failure_found_twice_is_one_finding_and_errors_are_findings_too(self):
        summary = events.summarize(REPORT)
        self.assertEqual([(f.operation, f.kind, f.code) for f in summary.failures],
                         [("GET /b", "status_code_conformance", "ST103")])  # fmt: skip
        self.assertEqual([(f.operation, f.kind) for f in summary.errors], [("GET /c", "ConnectionError")])
        self.assertEqual(str(summary.failures[0]), "GET /b: ST103 status_code_conformance: Bad: why")


class JudgingARun(unittest.TestCase):
    def clean(self) -> events.Summary:
        return events.summarize(REPORT[:4] + [scenario("GET /b", [200])])

    def test_a_clean_run_that_tested_every_operation_passes(self):
        self.assertFalse(outcome(a_run(), self.clean(), answered=5).failed)

    def test_an_operation_left_untested_fails_the_run(self):
        result = outcome(a_run(expected=frozenset({"GET /a", "GET /b", "GET /c"})), self.clean(), answered=5)
        self.assertEqual(result.problems, ["operations not tested: GET /c"])

    def test_directly_the_service_must_have_answered_every_test_and_never_more_than_was_sent(self):
        self.assertTrue(outcome(a_run(), self.clean(), answered=3).failed)
        self.assertTrue(outcome(a_run(), self.clean(), answered=9).failed)
        # Through the gateway, nginx answers some requests itself (TRACE, oversized heads).
        self.assertFalse(outcome(a_run(runs.GATEWAY), self.clean(), answered=3).failed)

    def test_a_failing_exit_status_fails_the_run_even_without_a_finding(self):
        result = outcome(a_run(), self.clean(), exit_status=1, answered=5)
        self.assertTrue(result.failed)
        self.assertIn("st exited 1", result.problems[0])

    def test_the_document_download_counts_as_a_request_unless_it_came_from_a_file(self):
        from_file = runs.Run("api-a", "s", runs.DIRECT, "/tmp/doc.json", (), frozenset(), base_url="http://x/")
        self.assertEqual(outcome(a_run(), self.clean()).requests, 6 + 1)
        self.assertEqual(outcome(from_file, self.clean()).requests, 6)


class CommandLine(unittest.TestCase):
    def test_every_check_is_on_with_the_suites_configuration_and_a_report(self):
        argv = runs.command(a_run(), 25, Path("/r.ndjson"), seed=7)
        self.assertEqual(argv[:3], ["st", "--config-file", str(runs.CONFIG)])
        for pair in (["--checks", "all"], ["--max-examples", "25"], ["--report-ndjson-path", "/r.ndjson"],
                     ["--seed", "7"], ["--include-path-regex", "^/"]):  # fmt: skip
            with self.subTest(pair=pair):
                index = argv.index(pair[0])
                self.assertEqual(argv[index : index + 2], pair)

    def test_a_document_file_is_sent_to_the_given_server(self):
        run = runs.Run("api-a", "s", runs.DIRECT, "/tmp/doc.json", (), frozenset(), base_url="http://127.0.0.1:9/")
        argv = runs.command(run, 5, Path("/r.ndjson"))
        self.assertEqual(argv[argv.index("--url") + 1], "http://127.0.0.1:9/")
        self.assertNotIn("--seed", argv)

    def test_only_a_documented_503_is_no_server_error(self):
        config = tomllib.loads(runs.CONFIG.read_text())
        self.assertEqual(config["checks"]["not_a_server_error"]["expected-statuses"], ["2xx", "3xx", "4xx", "503"])
        self.assertIs(config["warnings"]["fail-on"], True)

    def test_through_the_gateway_only_the_paths_under_the_base_path_are_selected(self):
        document = {"paths": {p: {"get": {}} for p in ("/healthz", "/service1", "/service1/current", "/service10/x")}}
        document["paths"]["/service1/current"]["parameters"] = []
        self.assertEqual(runs.operations(document, "^/service1(/|$)"), {"GET /service1", "GET /service1/current"})
        self.assertEqual(len(runs.operations(document, "^/")), 4)


class TamperedDocuments(unittest.TestCase):
    def test_each_tampering_changes_the_committed_document_and_leaves_it_untouched(self):
        document = json.loads(COMMITTED_A.read_text())
        original = json.dumps(document, sort_keys=True)
        for each in tampering.TAMPERINGS:
            with self.subTest(tampering=each.name):
                tampered = each.apply(document)
                self.assertNotEqual(json.dumps(tampered, sort_keys=True), original)
                self.assertIn(each.path, tampered["paths"])
        self.assertEqual(json.dumps(document, sort_keys=True), original)

    def test_every_check_that_judges_a_response_is_aimed_at_by_a_tampering(self):
        self.assertEqual(
            {t.expected_check for t in tampering.TAMPERINGS},
            {"status_code_conformance", "response_schema_conformance", "content_type_conformance",
             "response_headers_conformance", "positive_data_acceptance"},
        )  # fmt: skip
        self.assertTrue(all(t.state in states.STATES for t in tampering.TAMPERINGS))

    def test_a_tampering_counts_as_caught_only_when_its_own_check_failed(self):
        never_cached = tampering.TAMPERINGS[3]
        summary = events.summarize([scenario("GET /service1/current", [200], [("status_code_conformance", "ST103")])])
        result = runs.Outcome(a_run(), summary, 1, 1.0, Path("/x"))
        self.assertFalse(report.caught(never_cached, result))


class Tables(unittest.TestCase):
    def test_the_total_row_adds_up_the_runs(self):
        summary = events.summarize(REPORT)
        first, second = outcome(a_run(), summary, answered=6), outcome(a_run(runs.GATEWAY), summary, answered=4)
        total = report.runs_table([first, second]).splitlines()[-1]
        cells = [cell.strip() for cell in total.strip("|").split("|")]
        self.assertEqual(cells[:8], ["total", "2 runs", "", "4", "16", "10", "4", "2.0"])
        self.assertEqual(cells[8], "FAIL")
