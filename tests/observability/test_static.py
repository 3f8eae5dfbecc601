"""The suite's checks that need no running service (`python3 -m unittest discover -s
tests/observability -t tests`): the shortened rules the live test runs, the dashboard's shape,
and docs/operations.md against the rules and the dashboard."""

from __future__ import annotations

import json
import unittest
from pathlib import Path

from observability import dashboard, documentation, rendering

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = rendering.SHIPPED
DASHBOARD = SHIPPED / "grafana-dashboard.json"
SEVERITIES = {"critical", "warning"}


def shipped_rules() -> list[dict]:
    return [rule for group in rendering.load(SHIPPED / "alerts.yaml")["groups"] for rule in group["rules"]]


class ShortenedRules(unittest.TestCase):
    RULES = {
        "groups": [
            {
                "name": "g",
                "rules": [
                    {"alert": "Long", "expr": "increase(a[15m]) / rate(b[1m]) > max_over_time(c[1h:5m])", "for": "10m"},
                    {"alert": "Instant", "expr": "d == 0"},
                ],
            }
        ]
    }

    def test_every_for_and_range_is_divided_by_the_factor_down_to_the_shortest(self):
        long, instant = rendering.shortened_rules(self.RULES, factor=12, shortest=5)["groups"][0]["rules"]
        self.assertEqual(long["for"], "50s")
        self.assertEqual(long["expr"], "increase(a[75s]) / rate(b[5s]) > max_over_time(c[300s:5m])")
        self.assertEqual(instant, {"alert": "Instant", "expr": "d == 0"})

    def test_the_shipped_rules_are_left_as_they_are(self):
        rendering.shortened_rules(self.RULES, factor=12, shortest=5)
        self.assertEqual(self.RULES["groups"][0]["rules"][0]["for"], "10m")

    def test_a_duration_of_several_units_is_refused_rather_than_misread(self):
        with self.assertRaises(ValueError):
            rendering.shortened_rules({"groups": [{"rules": [{"expr": "rate(a[1h30m])"}]}]}, 12, 5)

    def test_every_shipped_duration_can_be_shortened(self):
        rules = rendering.shortened_rules(rendering.load(SHIPPED / "alerts.yaml"), 12, 5)
        for rule in (r for g in rules["groups"] for r in g["rules"]):
            self.assertNotRegex(rule["expr"], r"\[\d+[mhd]\]", rule["alert"])


class ScrapeConfig(unittest.TestCase):
    def test_each_shipped_job_gets_its_loopback_target_and_the_short_intervals(self):
        shipped = rendering.load(SHIPPED / "prometheus.yml")
        targets = {job["job_name"]: f"127.0.0.1:{20000 + i}" for i, job in enumerate(shipped["scrape_configs"])}
        config = rendering.scrape_config(shipped, targets, "1s", Path("/tmp/rules.yaml"))
        for job in config["scrape_configs"]:
            self.assertEqual(job["static_configs"], [{"targets": [targets[job["job_name"]]]}])
        self.assertEqual(config["global"]["scrape_interval"], "1s")
        self.assertEqual(config["global"]["evaluation_interval"], "1s")
        self.assertEqual(config["rule_files"], ["/tmp/rules.yaml"])

    def test_a_shipped_job_without_a_target_is_an_error(self):
        with self.assertRaises(ValueError):
            rendering.scrape_config(rendering.load(SHIPPED / "prometheus.yml"), {"api-a": "x:1"}, "1s", Path("r"))


class Dashboard(unittest.TestCase):
    def setUp(self):
        self.dashboard = json.loads(DASHBOARD.read_text())
        self.panels = dashboard.panels(self.dashboard)

    def test_every_panel_has_a_query_on_the_chosen_data_source(self):
        self.assertTrue(self.panels)
        for panel in self.panels:
            with self.subTest(panel=panel["title"]):
                self.assertTrue(panel.get("targets"), "no query")
                self.assertEqual(panel["datasource"]["uid"], "${datasource}")
                for target in panel["targets"]:
                    self.assertTrue(target["expr"].strip())
                    self.assertEqual(target["datasource"]["uid"], "${datasource}")

    def test_the_data_source_is_a_variable_of_type_prometheus(self):
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")

    def test_every_query_uses_only_variables_the_live_test_can_fill(self):
        for query in dashboard.queries(DASHBOARD):
            dashboard.for_prometheus(query.expr, dashboard.VALUES_FOR_1S_SCRAPES)

    def test_an_unknown_variable_is_refused(self):
        with self.assertRaises(KeyError):
            dashboard.for_prometheus("rate(x[$__interval])", dashboard.VALUES_FOR_1S_SCRAPES)

    def test_panel_ids_are_unique_and_panels_do_not_overlap(self):
        every = self.dashboard["panels"]
        ids = [p["id"] for p in every]
        self.assertEqual(len(ids), len(set(ids)))
        cells: dict[tuple[int, int], str] = {}
        for panel in every:
            box = panel["gridPos"]
            self.assertLessEqual(box["x"] + box["w"], 24, panel["title"])
            for x in range(box["x"], box["x"] + box["w"]):
                for y in range(box["y"], box["y"] + box["h"]):
                    self.assertNotIn((x, y), cells, f"{panel['title']} overlaps {cells.get((x, y))}")
                    cells[(x, y)] = panel["title"]


class Documentation(unittest.TestCase):
    def setUp(self):
        self.page = documentation.load_page(ROOT)

    def test_every_alert_has_a_severity_a_summary_a_description_and_its_runbook_section(self):
        anchors = documentation.anchors(self.page)
        for rule in shipped_rules():
            with self.subTest(alert=rule["alert"]):
                self.assertIn(rule["labels"]["severity"], SEVERITIES)
                self.assertTrue(rule["annotations"]["summary"])
                self.assertTrue(rule["annotations"]["description"])
                page, _, fragment = rule["annotations"]["runbook_url"].partition("#")
                self.assertEqual(page, documentation.PAGE)
                self.assertEqual(fragment, documentation.anchor(rule["alert"]))
                self.assertIn(fragment, anchors)

    def test_the_runbook_has_one_section_per_alert_and_no_other(self):
        alerts = [rule["alert"] for rule in shipped_rules()]
        self.assertEqual(sorted(documentation.runbook_sections(self.page)), sorted(alerts))

    def test_every_metric_the_alerts_and_the_dashboard_read_is_in_the_metrics_table(self):
        documented = documentation.metrics_table(self.page)
        exprs = [rule["expr"] for rule in shipped_rules()] + [q.expr for q in dashboard.queries(DASHBOARD)]
        for expr in exprs:
            for name in documentation.metric_names(expr):
                self.assertIn(name, documented, expr)

    def test_the_metrics_table_gives_a_prometheus_type_for_every_row(self):
        for row in documentation.metrics_table(self.page).values():
            self.assertIn(row.type, {"counter", "gauge", "histogram"}, row.name)

    def test_histogram_series_count_as_their_family(self):
        self.assertEqual(
            documentation.metric_names('histogram_quantile(0.9, rate(poller_spread_ratio_bucket[5m])) + up'),
            {"poller_spread_ratio"},
        )


if __name__ == "__main__":
    unittest.main()
