"""What docs/operations.md says about observability, read back for checking: the metrics table (name,
type, labels) and the runbook's sections, one per alert."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PAGE = "docs/operations.md"
"""The page of the metrics table and the runbook; the alerts' runbook_url points into it."""
METRICS_HEADING = "### Metrics"
RUNBOOK_HEADING = "## Alerts and runbook"
CODE = re.compile(r"`([^`]+)`")
# The metrics of this project in a PromQL expression: every service's own prefix.
METRIC_NAME = re.compile(r"\b((?:http|price|poller|process)_[a-z0-9_]+)")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class DocumentedMetric:
    name: str
    type: str
    labels: frozenset[str]


def section(page: str, heading: str) -> str:
    """The text under `heading`, up to the next heading of the same or a higher level."""
    level = heading.split()[0]
    lines = page.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise AssertionError(f"{PAGE} has no heading {heading!r}") from None
    body = []
    for line in lines[start + 1 :]:
        marker = line.split(" ", 1)[0]
        if set(marker) == {"#"} and len(marker) <= len(level):
            break
        body.append(line)
    return "\n".join(body)


def metrics_table(page: str) -> dict[str, DocumentedMetric]:
    """The rows of the table under "### Metrics": | `name` | type | `label`, ... | meaning |."""
    documented = {}
    for line in section(page, METRICS_HEADING).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        name = CODE.findall(cells[0])[0]
        if name in documented:
            raise AssertionError(f"{PAGE} documents {name} twice")
        documented[name] = DocumentedMetric(name, cells[1], frozenset(CODE.findall(cells[2])))
    return documented


def runbook_sections(page: str) -> list[str]:
    """The headings one level under "## Alerts and runbook": one per alert."""
    return [line[4:].strip() for line in section(page, RUNBOOK_HEADING).splitlines() if line.startswith("### ")]


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: str) -> set[str]:
    return {anchor(line.lstrip("#")) for line in page.splitlines() if re.match(r"#{1,6} ", line)}


def metric_names(expr: str) -> set[str]:
    """This project's metric families named in a PromQL expression (histogram series by their
    family's name)."""
    names = set()
    for name in METRIC_NAME.findall(expr):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
                break
        names.add(name)
    return names


def exposed_families(text: str) -> dict[str, DocumentedMetric]:
    """Each metric family of a `/metrics` page: its `# TYPE` and the labels its samples carry
    (a histogram's `le` left out)."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    labels: dict[str, set[str]] = {name: set() for name in types}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
        if not match or line.startswith("#"):
            continue
        family = match.group(1)
        if family not in types:
            owners = [family.removesuffix(s) for s in HISTOGRAM_SUFFIXES if family.removesuffix(s) in types]
            if not owners:
                raise AssertionError(f"the sample {family} belongs to no # TYPE line")
            family = owners[0]
        labels[family] |= set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(2) or "")) - {"le"}
    return {name: DocumentedMetric(name, kind, frozenset(labels[name])) for name, kind in types.items()}


def load_page(root: Path) -> str:
    """docs/operations.md, where the metrics and the runbook are."""
    return (root / PAGE).read_text()
