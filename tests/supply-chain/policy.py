"""The dependency policy stays strict: `policy.py ROOT [TODAY]` fails unless ROOT/deny.toml still
denies what it must and ROOT's workspace hides nothing from it.

- sources: unknown registries and git sources denied, crates.io the one registry, no git source
  allowed;
- bans: wildcard versions and second versions denied, OpenSSL and native-tls banned, every
  skipped duplicate with a reason;
- licences: only permissive licences an MIT project can ship (PERMISSIVE), a confidence threshold
  of at least 0.9, every per-crate exception with a comment above it saying why (cargo-deny's
  exception tables take no reason field);
- advisories: yanked crates denied; every ignore a table with the advisory's id and a reason
  ending "look again by YYYY-MM-DD", a date not yet past and at most MAX_IGNORE_DAYS ahead (an
  ignore cannot be parked for a year);
- the workspace: no [patch] or [replace] and no source replacement in .cargo/config (they swap a
  crate's code under its crates.io name), and every crate cargo builds from a path is a member of
  the workspace: cargo-deny's [licenses.private] ignore skips the licence check of unpublished
  crates, which must be our own (Cargo.toml's MIT), never a vendored copy of someone else's.

TODAY defaults to today (UTC).
"""

import datetime
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

CRATES_IO = "https://github.com/rust-lang/crates.io-index"
MAX_IGNORE_DAYS = 90
LOOK_AGAIN = re.compile(r"look again by (\d{4}-\d{2}-\d{2})\.?$")
PERMISSIVE = {"MIT", "MIT-0", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause",
              "ISC", "Zlib", "Unicode-3.0", "Unicode-DFS-2016", "CC0-1.0", "Unlicense", "BSL-1.0"}
BANNED = {"openssl", "openssl-sys", "native-tls"}


def check_sources(config, problems):
    sources = config.get("sources", {})
    for key in ("unknown-registry", "unknown-git"):
        if sources.get(key) != "deny":
            problems.append(f"[sources] {key} must be \"deny\", is {sources.get(key)!r}")
    if sources.get("allow-registry") != [CRATES_IO]:
        problems.append(f"[sources] allow-registry must be [\"{CRATES_IO}\"] only, is {sources.get('allow-registry')}")
    for key in ("allow-git", "private"):
        if sources.get(key):
            problems.append(f"[sources] {key} must be empty, is {sources[key]}")
    if sources.get("allow-org"):
        problems.append(f"[sources] allow-org must be absent, is {sources['allow-org']}")


def check_bans(config, problems):
    bans = config.get("bans", {})
    for key in ("multiple-versions", "wildcards"):
        if bans.get(key) != "deny":
            problems.append(f"[bans] {key} must be \"deny\", is {bans.get(key)!r}")
    denied = {entry.get("crate", entry.get("name")) if isinstance(entry, dict) else entry for entry in bans.get("deny", [])}
    if not BANNED <= denied:
        problems.append(f"[bans] deny must name {sorted(BANNED)}, lacks {sorted(BANNED - denied)}")
    for key in ("skip", "skip-tree"):
        for entry in bans.get(key, []):
            if not isinstance(entry, dict) or not entry.get("reason", "").strip():
                problems.append(f"[bans] {key}: {entry!r} needs a reason (a table with crate and reason)")


def check_licences(config, text, problems):
    licences = config.get("licenses", {})
    loose = [name for name in licences.get("allow", []) if name not in PERMISSIVE]
    if loose:
        problems.append(f"[licenses] allow names {loose}, not among the permissive licences an MIT project ships")
    if licences.get("confidence-threshold", 0.8) < 0.9:
        problems.append(f"[licenses] confidence-threshold must be at least 0.9, is {licences.get('confidence-threshold', 0.8)}")
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^\s*\{\s*crate\s*=.*allow\s*=", line) and "exceptions" in "".join(lines[max(0, number - 40):number]):
            if number == 0 or not lines[number - 1].strip().startswith("#"):
                problems.append(f"deny.toml:{number + 1}: licence exception {line.strip()} has no comment above it saying why")
    for entry in licences.get("exceptions", []):
        loose = [name for name in entry.get("allow", []) if name not in PERMISSIVE]
        if loose:
            problems.append(f"[licenses] exception for {entry.get('crate')} allows {loose}: not permissive")
    private = licences.get("private", {})
    if private.get("ignore-sources") or private.get("registries"):
        problems.append("[licenses.private] may ignore the workspace's own crates only (no ignore-sources, no registries)")


def check_advisories(config, today, problems):
    advisories = config.get("advisories", {})
    if advisories.get("yanked", "warn") != "deny":
        problems.append(f"[advisories] yanked must be \"deny\", is {advisories.get('yanked', 'warn')!r}")
    entries = advisories.get("ignore", [])
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("id"):
            problems.append(f"{entry!r}: write {{ id = \"RUSTSEC-...\", reason = \"... look again by YYYY-MM-DD\" }}")
            continue
        match = LOOK_AGAIN.search(entry.get("reason", ""))
        if not match or not entry["reason"][:match.start()].strip(" ;,."):
            problems.append(f"{entry['id']}: the reason must say why and end with \"look again by YYYY-MM-DD\"")
            continue
        when = datetime.date.fromisoformat(match.group(1))
        if when < today:
            problems.append(f"{entry['id']}: its date to look again ({when}) has passed")
        elif when > today + datetime.timedelta(days=MAX_IGNORE_DAYS):
            problems.append(f"{entry['id']}: its date to look again ({when}) is over {MAX_IGNORE_DAYS} days ahead")
    return len(entries)


def check_workspace(root, problems):
    manifest = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    for key in ("patch", "replace"):
        if key in manifest:
            problems.append(f"Cargo.toml: [{key}] swaps crates under their crates.io names; not allowed")
    for name in (".cargo/config.toml", ".cargo/config"):
        path = root / name
        if path.exists():
            config = tomllib.loads(path.read_text(encoding="utf-8"))
            for key in ("source", "patch"):
                if key in config:
                    problems.append(f"{name}: [{key}] replaces where crates come from; not allowed")
    read = subprocess.run(["cargo", "metadata", "--format-version", "1", "--offline"],
                          cwd=root, capture_output=True, text=True)
    if read.returncode != 0:
        problems.append(f"cargo metadata cannot read the workspace: {read.stderr.strip().splitlines()[-1:]}")
        return 0
    metadata = json.loads(read.stdout)
    members = set(metadata["workspace_members"])
    workspace = Path(metadata["workspace_root"]).resolve()
    for package in metadata["packages"]:
        if package["source"] is not None:
            continue
        where = Path(package["manifest_path"]).resolve().parent
        if package["id"] not in members or workspace not in where.parents and where != workspace:
            problems.append(f"{package['name']} {package['version']} is built from {where}, a path outside the "
                            "workspace's members: a vendored or path crate escapes the source and licence checks")
        elif package.get("license") != "MIT":
            problems.append(f"{package['name']}: the workspace's crates are MIT, this one says {package.get('license')!r}")
    return len(members)


def check(root, today):
    text = (root / "deny.toml").read_text(encoding="utf-8")
    config = tomllib.loads(text)
    problems = []
    check_sources(config, problems)
    check_bans(config, problems)
    check_licences(config, text, problems)
    ignores = check_advisories(config, today, problems)
    members = check_workspace(root, problems)
    if problems:
        print("FAILED: " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"  {root / 'deny.toml'}: strict (crates.io only, no git, wildcards and duplicates denied, permissive "
          f"licences only, every exception explained); {ignores} ignored advisories, each with a reason and a date "
          f"within {MAX_IGNORE_DAYS} days; {members} path crates, all workspace members")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    when = datetime.date.fromisoformat(sys.argv[2]) if len(sys.argv) == 3 else datetime.datetime.now(datetime.UTC).date()
    sys.exit(check(Path(sys.argv[1]), when))
