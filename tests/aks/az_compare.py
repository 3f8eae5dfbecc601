"""The az stand-in held against the real Azure CLI, for checks.py: the cases of az-refusals.txt
(status and first error line), and every az command the runbooks plan or run (accepted: the real
CLI, not logged in, gets as far as asking for a login). Local only: it needs an installed azure-cli
(AKS_REAL_AZ, see tests/aks/README.md); a fresh configuration directory keeps it from using or
changing the caller's login."""

import os
import re
import shlex
import subprocess
import tempfile

import az_cli
from az_validators import NotEmulated, Refused
from common import CheckFailed, require

# What the real CLI says once a command line passed its checks: it asks for a login, or (az acr
# repository) first tries to reach the registry it names.
PAST_CHECKS = ("Please run 'az login' to setup account.", "Could not connect to the registry login server ")


def cases(path):
    """(status, message, words) of each case line."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            status, message, command = line.split("|", 2)
            require(status in ("0", "1", "2") and (message == "") == (status == "0"),
                    f"{path}:{number}: not status|message|words: {line!r}")
            found.append((int(status), message, shlex.split(command)))
    return found


def stand_in(words):
    """(status, first error line) of the stand-in's check."""
    try:
        az_cli.check(words, az_cli.load_table())
    except Refused as refused:
        return refused.status, str(refused)
    except NotEmulated as gap:
        raise CheckFailed(f"az {shlex.join(words)}: {gap}") from gap
    return 0, ""


def real(az, config, words):
    """(status, first error line) of the real CLI; getting past its checks counts as accepted."""
    run = subprocess.run([az, *words, "--only-show-errors"], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, AZURE_CONFIG_DIR=config, AZURE_CORE_COLLECT_TELEMETRY="false"),
                         check=False)
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR: ")]
    first = errors[0][len("ERROR: "):] if errors else run.stderr.strip()
    return (0, "") if first.startswith(PAST_CHECKS) else (run.returncode, first)


def check_cases(path):
    """Every case through the stand-in."""
    for status, message, words in cases(path):
        got = stand_in(words)
        require(got == (status, message), f"az {shlex.join(words)}: the stand-in says {got}, "
                                          f"expected {(status, message)}")
    print(f"  {path}: the stand-in refuses each case as listed")


def compare(az, cases_path, command_lines):
    """The cases and COMMAND_LINES (accepted) through the real CLI AZ and the stand-in."""
    with tempfile.TemporaryDirectory() as config:
        checked = [(status, message, words) for status, message, words in cases(cases_path)]
        checked += [(0, "", words) for words in command_lines]
        for status, message, words in checked:
            want, got = real(az, config, words), stand_in(words)
            require(want == got == (status, message),
                    f"az {shlex.join(words)}:\n  real {want}\n  stand-in {got}\n  listed {(status, message)}")
    print(f"  {len(checked)} command lines: the real CLI ({az}) and the stand-in agree")


def planned_commands(blocks):
    """The distinct az command lines of runbook blocks (+ and ?), as words after `az`."""
    seen = {}
    for block in blocks:
        match = re.match(r"^[+?] az (.*)$", block)
        if match:
            seen.setdefault(match.group(1), shlex.split(match.group(1)))
    return list(seen.values())
