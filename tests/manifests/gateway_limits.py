"""The per-client rate limits of the local stack's gateway (gateway/nginx.conf), read the way nginx
reads them, against the same expectations as every Kubernetes flavour's (ratelimits.py): for each
request path of `LIMITS`, the zones whose key is not empty (a zone counts only those), their rate
and burst, refused at once; the dear paths in one count (one zone, one key), the cheap ones
counted per service (one key per service).

nginx's `map` is evaluated here as nginx does it: the exact values first, then the regular
expressions in their order, then `default`; a value may hold variables."""

from __future__ import annotations

import re
from pathlib import Path

from ratelimits import DEAR_PATHS, LIMITS

CONFIG = Path(__file__).resolve().parents[2] / "gateway" / "nginx.conf"
# What the client's address stands for in a key: any one address.
ADDRESS = "\x7f\x00\x00\x01"


def maps(text):
    """{variable: (source variable, [(key, value)])} of every `map` block."""
    found = {}
    for source, target, body in re.findall(r"\n\s*map \$(\w+) \$(\w+) \{(.*?)\n\s*\}", text, re.S):
        entries = []
        for line in body.strip().splitlines():
            key, value = line.strip().rstrip(";").split(None, 1)
            entries.append((key.strip('"'), value.strip().strip('"')))
        found[target] = (source, entries)
    return found


def evaluate(name, variables, table):
    """The value of `$name` for a request whose own variables are `variables`."""
    if name in variables:
        return variables[name]
    source, entries = table[name]
    subject = evaluate(source, variables, table)
    exact = {key: value for key, value in entries if not key.startswith("~")}
    if subject in exact and subject != "default":
        chosen = exact[subject]
    else:
        regexes = [(key[1:], value) for key, value in entries if key.startswith("~")]
        # PCRE's \z (the very end) is Python's \Z; PCRE's $ is Python's $ (before a final newline too).
        regexes = [(pattern.replace(r"\z", r"\Z"), value) for pattern, value in regexes]
        chosen = next((value for pattern, value in regexes if re.search(pattern, subject)), exact.get("default", ""))
    return re.sub(r"\$(\w+)", lambda m: evaluate(m.group(1), variables, table), chosen)


def zones(text):
    """{zone: (key variable, rate a second, burst)} of the zones the server's `limit_req` uses,
    each refused at once (nodelay); a zone refused otherwise is left out."""
    rates = {zone: (key, int(rate)) for key, zone, rate in
             re.findall(r"limit_req_zone \$(\w+) zone=(\w+):\w+ rate=(\d+)r/s;", text)}
    return {zone: (*rates[zone], int(burst)) for zone, burst in
            re.findall(r"\n\s*limit_req zone=(\w+) burst=(\d+) nodelay;", text)}


def check_gateway_limits(text):
    errors = []
    table, limited = maps(text), zones(text)
    # The server's own: every location inherits them (a location with one of its own would not).
    if re.findall(r"\n( *)limit_req zone=", text) != [" " * 8] * len(limited):
        errors.append("a limit_req outside the server's level: the keys alone must say what counts where")
    if "limit_req_status 429;" not in text:
        errors.append("the gateway's refusals are not 429")
    counts = {}
    for path, expected in LIMITS.items():
        variables = {"uri": path, "binary_remote_addr": ADDRESS}
        applied = [(zone, evaluate(key, variables, table), (rate, burst))
                   for zone, (key, rate, burst) in limited.items() if evaluate(key, variables, table)]
        if [limit for _, _, limit in applied] != [expected]:
            errors.append(f"{path}: counted in {[(zone, limit) for zone, _, limit in applied]}, not once at {expected}")
            continue
        zone, key, _ = applied[0]
        counts[path] = (zone, key)
    dear = {counts.get(path) for path in DEAR_PATHS}
    if len(dear) != 1:
        errors.append(f"the dear paths {DEAR_PATHS} are counted apart: {dear}")
    cheap = {path.split("/")[1]: set() for path in LIMITS}
    for path, count in counts.items():
        if path not in DEAR_PATHS:
            cheap[path.split("/")[1]].add(count)
    if any(len(keys) != 1 for keys in cheap.values() if keys) or len({k for keys in cheap.values() for k in keys}) != 2:
        errors.append(f"the cheap paths are not counted once per service: {cheap}")
    return errors
