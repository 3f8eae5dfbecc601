"""Reading a service's `/metrics` (Prometheus text format) into numbers."""

from __future__ import annotations

import re

from . import httpclient

# `name{label="value",...} 12.5` or `name 12.5` (an optional timestamp after the value).
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of an exposition: (metric name, labels, value)."""
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            name, labels, value = match.groups()
            samples.append((name, dict(LABEL.findall(labels or "")), float(value)))
    return samples


def total(url: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`, scraped from `url` now."""
    return total_in(httpclient.get(url, timeout=2.0).body.decode(), name, **labels)


def total_in(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`, in the exposition `text`."""
    samples = parse(text)
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    )
