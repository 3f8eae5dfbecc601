"""An advisory is ignored only for a while: `ignores.py DENY_TOML [TODAY]` fails unless every entry
of [advisories] ignore in DENY_TOML is a table with the advisory's id (or a crate) and a reason
ending with "look again by YYYY-MM-DD", a date not yet past (TODAY, default today, UTC)."""

import datetime
import re
import sys
import tomllib

LOOK_AGAIN = re.compile(r"look again by (\d{4}-\d{2}-\d{2})\.?$")


def check(path, today):
    with open(path, "rb") as handle:
        entries = tomllib.load(handle).get("advisories", {}).get("ignore", [])
    problems = []
    for entry in entries:
        if not isinstance(entry, dict) or not (entry.get("id") or entry.get("crate")):
            problems.append(f"{entry!r}: write {{ id = \"RUSTSEC-...\", reason = \"... look again by YYYY-MM-DD\" }}")
            continue
        what = entry.get("id") or entry.get("crate")
        match = LOOK_AGAIN.search(entry.get("reason", ""))
        if not match:
            problems.append(f"{what}: the reason must say why and end with \"look again by YYYY-MM-DD\"")
        elif datetime.date.fromisoformat(match.group(1)) < today:
            problems.append(f"{what}: its date to look again ({match.group(1)}) has passed")
    if problems:
        print("FAILED: " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"  {path}: {len(entries)} ignored advisories, each with a reason and a date still ahead")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    when = datetime.date.fromisoformat(sys.argv[2]) if len(sys.argv) == 3 else datetime.datetime.now(datetime.UTC).date()
    sys.exit(check(sys.argv[1], when))
