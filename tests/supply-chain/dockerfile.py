"""The images a Dockerfile pulls, for pins.py: the `# syntax=` frontend, each FROM (an ${ARG}
there by the ARG's default, whatever the ARG's name), each COPY --from= and RUN --mount=...,from=
that names no stage, and every *_IMAGE build argument, read the way BuildKit reads the file
(parser directives at the head only, continuation lines joined, instructions in any case)."""

import re


class Unpinned(Exception):
    pass


def dockerfile_lines(text):
    """(line number, instruction) with continuation lines joined and comments dropped, and the
    parser directives (# syntax=...) of the file's head as ("syntax", value)."""
    lines, start, parts, head = [], None, [], True
    for number, line in enumerate(text.splitlines(), 1):
        directive = re.match(r"^#\s*syntax\s*=\s*(\S+)\s*$", line, re.IGNORECASE)
        if head and directive:
            lines.append((number, f"SYNTAX {directive.group(1)}"))
            continue
        if head and re.match(r"^#\s*\w+\s*=", line):
            continue
        head = False
        if start is None and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if start is None:
            start = number
        parts.append(line.rstrip().rstrip("\\").strip())
        if not line.rstrip().endswith("\\"):
            lines.append((start, " ".join(parts)))
            start, parts = None, []
    return lines


def dockerfile_references(path):
    """(where, reference, variable) of each image the Dockerfile pulls: the # syntax= frontend,
    each FROM (an ${ARG} there by the ARG's default, whatever its name), each COPY --from= and
    RUN --mount=...,from= that names no stage, and every *_IMAGE build argument; a FROM ${X} whose
    ARG has no default names none (the caller must pass it), nor does FROM scratch or a stage."""
    args, stages, found = {}, set(), []

    def expand(value):
        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)",
                      lambda m: args.get(m.group(1) or m.group(3)) or m.group(2) or m.group(0), value)

    def image(where, value, what):
        variable = re.fullmatch(r"\$\{?(\w+)\}?", value)
        if variable:
            name = variable.group(1)
            if name not in args:
                raise Unpinned(f"{where}: {what} {value}: no ARG {name} before it")
            if args[name] is not None and args[name] not in stages:
                found.append((where, args[name], name))
            return
        value = expand(value)
        if value != "scratch" and value not in stages and not value.isdigit():
            found.append((where, value, None))

    for number, line in dockerfile_lines(path.read_text(encoding="utf-8")):
        where = f"{path}:{number}"
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "SYNTAX":
            found.append((where, rest, None))
        elif keyword == "ARG":
            for name, equals, value in re.findall(r"(\w+)(=?)(\S*)", rest):
                args[name] = expand(value.strip("\"'")) if equals else args.get(name)
                if equals and name.endswith("_IMAGE"):
                    found.append((where, args[name], name))
        elif keyword == "FROM":
            match = re.match(r"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest, re.IGNORECASE)
            if not match:
                raise Unpinned(f"{where}: FROM {rest}: not understood")
            image(where, match.group(1), "FROM")
            if match.group(2):
                stages.add(match.group(2))
        elif keyword in ("COPY", "ADD"):
            for value in re.findall(r"--from=(\S+)", rest):
                image(where, value, "COPY --from=")
        elif keyword == "RUN":
            for mount in re.findall(r"--mount=(\S+)", rest):
                for value in re.findall(r"(?:^|,)from=([^,]+)", mount):
                    image(where, value, "RUN --mount=from=")
    return found
