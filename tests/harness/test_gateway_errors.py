"""The gateway's own answers (gateway/nginx.conf, run for real by the machine's nginx): every error
nginx gives itself is a problem (RFC 9457, `application/problem+json`) with the type the services
give the same problem, and the status it says, and says nosniff as the services' answers do; its
loopback health server too, for whatever it does not serve."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import unittest
from pathlib import Path

from harness import httpclient
from harness.gateway import Gateway
from harness.processes import free_port

PREFIX = "tag:btc-price-services,2026:"


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """`request` sent as it is; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@unittest.skipUnless(shutil.which("nginx"), "nginx is not installed")
class GatewayErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = Path(tempfile.mkdtemp())
        # Nothing listens behind either route: every proxied request is a 502.
        dead = {"service_a": [f"127.0.0.1:{free_port()}"], "service_b": [f"127.0.0.1:{free_port()}"]}
        cls.gateway = Gateway(cls.workdir, dead).start()

    @classmethod
    def tearDownClass(cls):
        cls.gateway.process.kill()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def assertProblem(self, status: int, headers: dict[str, str], body: bytes, code: str, expected: int) -> None:
        self.assertEqual(status, expected)
        self.assertEqual(headers["content-type"], "application/problem+json")
        problem = json.loads(body)
        self.assertEqual(problem["type"], PREFIX + code)
        self.assertEqual(problem["status"], expected)
        self.assertTrue(problem["title"] and problem["detail"])
        self.assertEqual(headers["x-content-type-options"], "nosniff")

    def test_an_unrouted_path_is_a_not_found_problem(self):
        answer = httpclient.get(self.gateway.url("/service3/"))
        self.assertProblem(answer.status, dict(answer.headers), answer.body, "not-found", 404)

    def test_a_method_nginx_refuses_is_a_method_not_allowed_problem_with_allow(self):
        status, headers, body = raw(self.gateway.port, b"TRACE /service2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertProblem(status, headers, body, "method-not-allowed", 405)
        self.assertEqual(headers["allow"], "GET, HEAD")

    def test_a_head_over_the_limit_is_a_request_head_too_large_problem(self):
        header = b"X-Big: " + b"a" * 17_000 + b"\r\n"
        request = b"GET /service2/ HTTP/1.1\r\nHost: x\r\n" + header + b"Connection: close\r\n\r\n"
        status, headers, body = raw(self.gateway.port, request)
        self.assertProblem(status, headers, body, "request-head-too-large", 431)

    def test_a_request_line_over_the_limit_is_a_request_head_too_large_problem_whole(self):
        # Its protocol unread, it is no HTTP/0.9 request on its way to the error page.
        request = b"GET /service2/" + b"a" * 16_370 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        status, headers, body = raw(self.gateway.port, request)
        self.assertProblem(status, headers, body, "request-head-too-large", 431)

    def test_a_head_nginx_cannot_read_is_a_malformed_request_problem(self):
        request = b"GET /service2/ HTTP/1.1\r\nHost: x\r\nX-Odd: a\x00b\r\nConnection: close\r\n\r\n"
        status, headers, body = raw(self.gateway.port, request)
        self.assertProblem(status, headers, body, "malformed-request", 400)

    def test_a_request_line_nginx_cannot_read_is_a_malformed_request_problem(self):
        # No URI to carry to an error page: a named location there would be nginx's HTML 500.
        for line in (b"get /service2/ HTTP/1.1", b"OPTIONS * HTTP/1.1", b"GET /service2/\t HTTP/1.1"):
            with self.subTest(line=line):
                status, headers, body = raw(self.gateway.port, line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertProblem(status, headers, body, "malformed-request", 400)

    def test_a_request_nginx_will_not_take_on_is_a_malformed_request_problem(self):
        for request in (b"GET /service2/ HTTP/2.0\r\nHost: x\r\n\r\n",
                        b"GET /service2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n"):  # fmt: skip
            with self.subTest(request=request):
                status, headers, body = raw(self.gateway.port, request)
                self.assertProblem(status, headers, body, "malformed-request", 400)

    def test_a_head_wrong_in_another_way_that_declares_a_body_gets_that_problem_not_nginx_s_html(self):
        # Refused for its framing, it still meets no body-size check on the way to the error page.
        for request in (b"GET /service2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: identity\r\n\r\n",
                        b"GET /service2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                        b"GET /service2/ HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"):  # fmt: skip
            with self.subTest(request=request):
                status, headers, body = raw(self.gateway.port, request)
                self.assertProblem(status, headers, body, "malformed-request", 400)

    def test_a_request_that_declares_a_body_is_a_request_body_too_large_problem(self):
        # No route takes one: nginx refuses it by its head, before reading a byte of it.
        chunk = b"a" * (2 << 20)
        for request in (b"POST /service2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
                        b"GET /service1/history HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
                        b"GET /service3/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na",
                        b"POST /service2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"):  # fmt: skip
            with self.subTest(request=request[:60]):
                # nginx lingers after it, reading what the client still sends: one answer is read.
                answer = httpclient.send_raw(self.gateway.port, request)
                lines = answer.head.decode("latin-1").split("\r\n")[1:]
                headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
                self.assertProblem(answer.status, headers, answer.body, "request-body-too-large", 413)

    def test_an_http_0_9_request_reaches_no_service_and_its_answer_is_a_malformed_request_problem(self):
        # HTTP/0.9 has no status line and no headers: the body alone is the answer. Had it been
        # proxied, it would be this gateway's service-unreachable (nothing listens behind).
        for line in (b"GET /service2/", b"GET /service1/history", b"HEAD /service2/"):
            with self.subTest(line=line):
                with socket.create_connection(("127.0.0.1", self.gateway.port), timeout=5) as conn:
                    conn.sendall(line + b"\r\n")
                    answer = b""
                    while chunk := conn.recv(65536):
                        answer += chunk
                self.assertFalse(answer.startswith(b"HTTP/"), answer[:100])
                problem = json.loads(answer)
                self.assertEqual((problem["type"], problem["status"]), (PREFIX + "malformed-request", 400))

    def test_a_request_refused_by_its_head_alone_closes_its_connection(self):
        # These refusals are counted in no per-client limit (they reach no service): each must
        # cost its client a connection, as a 429 does, and leave nothing idle at the gateway.
        # None asks for a close; the gateway keeps an answered connection 5 s, longer than the
        # 2 s this waits for the end of the stream.
        for request in (b"GET /service2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na",
                        b"GET /service2/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17_000 + b"\r\n\r\n",
                        b"GET /service2/ HTTP/1.1\r\nHost: x\r\nX-Odd: a\x00b\r\n\r\n",
                        b"GET /service2/\r\n"):  # fmt: skip
            with self.subTest(request=request[:40]):
                with socket.create_connection(("127.0.0.1", self.gateway.port), timeout=2) as conn:
                    conn.sendall(request)
                    answer = b""
                    try:
                        while chunk := conn.recv(65536):
                            answer += chunk
                    except TimeoutError:
                        self.fail(f"still open 2 s after the answer {answer[:40]!r}")
                self.assertIn(b"tag:btc-price-services,2026:", answer)

    def test_the_gateway_s_own_error_pages_asked_for_from_outside_are_not_found_problems(self):
        for path in ("/head-too-large", "/malformed-request", "/body-too-large", "/internal-error"):
            with self.subTest(path=path):
                answer = httpclient.get(self.gateway.url(path))
                self.assertProblem(answer.status, dict(answer.headers), answer.body, "not-found", 404)

    def test_the_loopback_health_server_answers_what_it_does_not_serve_with_the_same_problems(self):
        health = f"http://127.0.0.1:{self.gateway.health_port}"
        answer = httpclient.get(health + "/healthz")
        self.assertEqual((answer.status, answer.headers["content-type"]), (200, "application/json"))
        for method, path in (("GET", "/nope"), ("DELETE", "/"), ("GET", "/healthz/")):
            with self.subTest(method=method, path=path):
                answer = httpclient.get(health + path, method=method)
                self.assertProblem(answer.status, dict(answer.headers), answer.body, "not-found", 404)
        for method in ("POST", "DELETE", "OPTIONS", "TRACE"):
            with self.subTest(method=method):
                request = f"{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                status, headers, body = raw(self.gateway.health_port, request)
                self.assertProblem(status, headers, body, "method-not-allowed", 405)
                self.assertEqual(headers["allow"], "GET, HEAD")

    def test_a_service_that_does_not_answer_is_a_service_unreachable_problem(self):
        for path in ("/service1/current", "/service2/"):
            answer = httpclient.get(self.gateway.url(path))
            self.assertProblem(answer.status, dict(answer.headers), answer.body, "service-unreachable", 502)

    def test_a_client_over_its_rate_gets_a_too_many_requests_problem_with_retry_after(self):
        # 20 a second with bursts of 40 per client: 60 requests at once overflow it. From an
        # address of its own, so that the other tests' client keeps its share.
        answers = [httpclient.get(self.gateway.url("/service2/"), source="127.0.0.3") for _ in range(60)]
        refused = [a for a in answers if a.status == 429]
        self.assertTrue(refused, f"no 429 among {sorted({a.status for a in answers})}")
        answer = refused[0]
        headers = {k.lower(): v for k, v in dict(answer.headers).items()}
        self.assertProblem(answer.status, headers, answer.body, "too-many-requests", 429)
        self.assertEqual(headers["retry-after"], "1")
        self.assertTrue(headers["x-request-id"])
