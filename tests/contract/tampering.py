"""Documents tampered with on purpose, to show that the suite fails when the document and the
service disagree: each tampering changes one promise of api-a's served document that the
service does not keep, and names the check that must then fail.

They run in every suite run, after the real ones of their state (see `test_live`): a suite whose checks had
gone blind (a check switched off in the configuration, a report no longer read, a selection
matching nothing) fails there. A tampering whose target is gone from the document raises
`KeyError`: the suite fails loudly instead of tampering with nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from . import states


@dataclass(frozen=True)
class Tampering:
    name: str
    promise: str
    """The promise it adds to the document, which api-a does not keep."""
    path: str
    """The one operation (`GET path`) Schemathesis is run on."""
    state: states.State
    expected_check: str
    change: Callable[[dict], None]

    def apply(self, document: dict) -> dict:
        tampered = copy.deepcopy(document)
        self.change(tampered)
        return tampered


def _responses(document: dict, path: str) -> dict:
    return document["paths"][path]["get"]["responses"]


def _drop_503(document: dict) -> None:
    del _responses(document, "/service1/current")["503"]


def _price_as_text(document: dict) -> None:
    price = document["components"]["schemas"]["Current"]["properties"]["price"]
    price["type"] = "string"
    price.pop("format", None)


def _text_plain(document: dict) -> None:
    ok = _responses(document, "/service1/current")["200"]
    ok["content"] = {"text/plain": ok["content"].pop("application/json")}


def _never_cached(document: dict) -> None:
    headers = _responses(document, "/service1/current")["200"]["headers"]
    assert "Cache-Control" in headers, "GET /service1/current documents no Cache-Control"
    headers["Cache-Control"] = {"required": True, "schema": {"type": "string", "const": "no-store"}}


def _more_points(document: dict) -> None:
    (max_points,) = [p for p in document["paths"]["/service1/history"]["get"]["parameters"] if p["name"] == "max_points"]
    max_points["schema"]["maximum"] = 10_000


TAMPERINGS = (
    Tampering("undocumented 503", "GET /service1/current never answers 503",
              "/service1/current", states.NO_PRICE_YET, "status_code_conformance", _drop_503),
    Tampering("price as text", "the price is a string",
              "/service1/current", states.PRICE_AVAILABLE, "response_schema_conformance", _price_as_text),
    Tampering("wrong content type", "the price comes as text/plain",
              "/service1/current", states.PRICE_AVAILABLE, "content_type_conformance", _text_plain),
    Tampering("never cached", "the price comes with Cache-Control: no-store",
              "/service1/current", states.PRICE_AVAILABLE, "response_headers_conformance", _never_cached),
    Tampering("more points", "/history takes max_points up to 10 000",
              "/service1/history", states.PRICE_AVAILABLE, "positive_data_acceptance", _more_points),
)  # fmt: skip
