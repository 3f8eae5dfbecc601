"""The harness's own tests (pytest, in the drills suite): the parts
that must be right for a drill to mean anything, checked without starting any service."""

from __future__ import annotations

import json
import unittest
from pathlib import Path

from harness import fixtures, fuzz, gateway, httpclient, prometheus, wrk


class Fixtures(unittest.TestCase):
    def test_the_original_price_gives_back_each_fixture_byte_for_byte(self):
        for provider, form in fixtures.FORMATS.items():
            with self.subTest(provider=provider):
                text = fixtures.price_text(provider, fixtures.original_price(provider))
                self.assertEqual(
                    fixtures.body_with_price(provider, text, at=fixtures.ORIGINAL_TIME), fixtures.fixture(form.ok)
                )

    def test_a_substituted_price_is_where_the_provider_puts_it(self):
        for provider, form in fixtures.FORMATS.items():
            with self.subTest(provider=provider):
                value = json.loads(fixtures.ok_body(provider, 81_234.5))
                for step in form.price_at:
                    value = value[step]
                self.assertEqual(float(value), 81_234.5)

    def test_a_body_is_stamped_where_and_as_its_exchange_stamps_quotes(self):
        at = 1_800_000_123.456
        written = {
            "coinbase": "2027-01-15T08:02:03.456000Z",
            "bitstamp": "1800000123",
            "gemini": 1_800_000_120_000,
            "coingecko": 1_800_000_123,
        }
        for provider, form in fixtures.FORMATS.items():
            with self.subTest(provider=provider):
                value = json.loads(fixtures.ok_body(provider, 81_234.5, at=at))
                self.assertEqual(fixtures.stamps(provider), provider in written)
                if form.stamp_at is None:
                    continue
                for step in form.stamp_at:
                    value = value[step]
                self.assertEqual(value, written[provider])

    def test_other_markets_keep_the_price_and_change_the_name(self):
        body = fixtures.body_with_price("kraken", fixtures.price_text("kraken", 3100), "ETH/USD")
        self.assertIn(b'"XETHZUSD"', body)
        self.assertNotIn(b"XXBTZUSD", body)
        with self.assertRaises(ValueError):
            fixtures.body_with_price("coinbase", "1", "ETH/USD")


class Gateway(unittest.TestCase):
    def test_the_real_config_is_rendered_with_local_addresses_only(self):
        text = gateway.render(
            gateway.CONFIG.read_text(),
            {"service_a": ["127.0.0.1:1", "127.0.0.1:2"], "service_b": ["127.0.0.1:3"]},
            port=4,
            health_port=5,
            workdir=Path("/run/here"),
        )
        self.assertIn("server 127.0.0.1:1;\n        server 127.0.0.1:2;\n        keepalive", text)
        self.assertIn("listen 127.0.0.1:4;", text)
        self.assertIn("listen 127.0.0.1:5;", text)
        for gone in ("pod-a:", "api-b:8080", " /tmp/", "/dev/stdout"):
            self.assertNotIn(gone, text)

    def test_the_rate_limits_stay_unless_a_load_test_lifts_them(self):
        args = (gateway.CONFIG.read_text(), {"service_a": ["127.0.0.1:1"], "service_b": ["127.0.0.1:3"]}, 4, 5, Path("/x"))
        kept = gateway.render(*args)
        self.assertEqual(kept.count("limit_req zone="), 2)
        lifted = gateway.render(*args, per_client_limits=False)
        self.assertNotIn("limit_req zone=", lifted)
        self.assertIn("limit_req_zone $per_service_client zone=per_client", lifted)
        with self.assertRaises(ValueError):
            gateway.render(args[0].replace("limit_req zone=", "# no limit: "), *args[1:], per_client_limits=False)

    def test_a_changed_config_fails_loudly(self):
        with self.assertRaises(ValueError):
            gateway.render("events {}", {"service_a": ["127.0.0.1:1"]}, 4, 5, Path("/x"))


class Parsers(unittest.TestCase):
    def test_wrk_summary_line(self):
        line = (
            wrk.MARKER + '{"requests":100,"duration_us":2000000,"connect":1,"read":2,"write":0,'
            '"status":3,"timeout":4,"p50_us":500,"p99_us":1500,"max_us":9000}'
        )
        result = wrk.parse("Running 2s test\n" + line + "\n")
        self.assertEqual((result.requests, result.failures, result.rate, result.p99_ms), (100, 10, 50.0, 1.5))
        with self.assertRaises(ValueError):
            wrk.parse("no summary")

    def test_prometheus_samples_with_and_without_labels(self):
        text = '# HELP x y\nhttp_requests_total{route="/a",status="200"} 3\nup 1\n'
        self.assertEqual(
            prometheus.parse(text), [("http_requests_total", {"route": "/a", "status": "200"}, 3.0), ("up", {}, 1.0)]
        )

    def test_status_line_and_content_length(self):
        self.assertEqual(httpclient.parse_status(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), 431)
        self.assertIsNone(httpclient.parse_status(b"garbage"))
        self.assertEqual(httpclient.content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 12"), 12)


class Fuzz(unittest.TestCase):
    def test_the_same_seed_gives_the_same_requests(self):
        self.assertEqual(fuzz.requests(7, 50, ["/a"]), fuzz.requests(7, 50, ["/a"]))
        self.assertNotEqual(fuzz.requests(7, 50, ["/a"]), fuzz.requests(8, 50, ["/a"]))

    def test_every_request_asks_to_close_and_stays_under_the_head_limit(self):
        for _, request in fuzz.requests(1, 500, ["/service1", "/"]):
            head = request.split(b"\r\n\r\n", 1)[0]
            self.assertIn(b"\r\nConnection: close", head)
            self.assertLess(len(head), 16 * 1024)
