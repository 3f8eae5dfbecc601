"""What the Azure CLI accepts, for the aks suite: a table of every `az` command the aks/ scripts
and the workflow use, with each command's arguments as the real CLI's parser declares them, and a
check of a command line against it that refuses what the real CLI refuses.

  az_cli.py check [--exact] -- ARG...   ARG... (the words after `az`) against the table; prints
                                         the real CLI's error and exits 2 when it would refuse them
  az_cli.py generate [COMMAND...]       rewrites the table from an installed azure-cli (the
                                         table's commands plus COMMAND...; see tests/aks/README.md)

The table (az-cli-arguments.json) is read from the parser of the azure-cli release it names
(argparse actions: option strings, number of values, choices, required), not written by hand, so
an argument that the scripts pass and the CLI does not declare, like `az aks create
--localdns-config`, is refused here as `az` would refuse it ("unrecognized arguments"). The rules
below are argparse's, which the CLI uses: unambiguous abbreviations of long options are accepted
(--exact refuses them: the scripts spell options out, since a new option can make a prefix
ambiguous), `--option=value`, one value for an option without nargs, values until the next option
for nargs + and *, an optional value for nargs ?, case-insensitive choices where the CLI declares
them so (get_enum_type, three-state flags).
"""

import functools
import json
import os
import re
import sys

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "az-cli-arguments.json")
NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


from az_validators import NotEmulated, Refused, convert, run_validators


@functools.cache
def load_table(path=TABLE):
    """The table (read once per process: check_server.py's children share it; never modified)."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def find_command(words, table):
    """The longest leading words that name a command of the table, and the rest."""
    for length in range(min(len(words), 4), 0, -1):
        name = " ".join(words[:length])
        if name in table["commands"]:
            return name, words[length:]
    raise Refused(f"'{' '.join(words[:3])}' is not a command of {os.path.basename(TABLE)} (azure-cli "
                  f"{table['azure-cli']}): misspelled, or add it with tests/aks/az_cli.py generate")


def option_like(word):
    return word.startswith("-") and len(word) > 1 and not NEGATIVE_NUMBER.match(word)


def resolve(word, options, allow_abbrev, exact):
    """The argument that WORD (an option string, maybe abbreviated) names, or None."""
    if word in options:
        return options[word]
    if word.startswith("--") and allow_abbrev:
        matches = sorted({spec["options"][0]: spec for key, spec in options.items()
                          if key.startswith("--") and key.startswith(word)}.items())
        if len(matches) > 1:
            raise Refused(f"ambiguous option: {word} could match {', '.join(name for name, _ in matches)}")
        if matches:
            if exact:
                raise Refused(f"{word} abbreviates {matches[0][0]}: spell the option out")
            return matches[0][1]
    return None


def check_value(command, spec, value):
    """VALUE converted by the argument's type, then checked against its choices, as argparse does."""
    if spec.get("type"):
        value = convert("/".join(spec["options"]) or spec["dest"], spec["type"], value)
    choices = spec.get("choices")
    if choices is None:
        return value
    allowed = [c.lower() for c in choices] if spec.get("ignore_case") else choices
    if (value.lower() if spec.get("ignore_case") else value) not in allowed:
        raise Refused(f"az {command}: '{value}' is not a valid value for '{spec['options'][0]}'. "
                      f"Allowed values: {', '.join(choices)}.")
    return value


def check(words, table, exact=False):
    """Refused when the real CLI would refuse `az WORDS`; returns the command's name otherwise."""
    command, rest = find_command(words, table)
    spec = table["commands"][command]
    options = {name: arg for arg in spec["arguments"] if arg["options"] for name in arg["options"]}
    positionals = [arg for arg in spec["arguments"] if not arg["options"]]
    given, loose, extras = set(), [], []
    namespace = {arg["dest"]: arg.get("default") for arg in spec["arguments"]}
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if word == "--":
            loose.extend(rest[index:])
            break
        if not option_like(word):
            loose.append(word)
            continue
        name, explicit = (word.split("=", 1) + [None])[:2] if "=" in word else (word, None)
        arg = resolve(name, options, spec["allow_abbrev"], exact)
        if arg is None and explicit is None and len(word) > 2 and word[1] != "-" and word[:2] in options:
            arg, explicit = options[word[:2]], word[2:]
        if arg is None:
            extras.append(word)
            while index < len(rest) and not option_like(rest[index]):
                extras.append(rest[index])
                index += 1
            continue
        given.add(arg["dest"])
        label = "/".join(arg["options"])
        nargs = arg["nargs"]
        if nargs == 0:
            if explicit is not None:
                raise Refused(f"argument {label}: ignored explicit argument '{explicit}'")
            namespace[arg["dest"]] = True
            continue
        if explicit is not None:
            values = [explicit]
        else:
            values = []
            while index < len(rest) and not option_like(rest[index]) and rest[index] != "--":
                values.append(rest[index])
                index += 1
                if nargs in (None, "?"):
                    break
        if nargs is None and len(values) != 1:
            raise Refused(f"argument {label}: expected one argument")
        if nargs == "+" and not values:
            raise Refused(f"argument {label}: expected at least one argument")
        values = [check_value(command, arg, value) for value in values]
        namespace[arg["dest"]] = values if nargs in ("+", "*") else (values[0] if values else True)
    for arg in positionals:
        if loose:
            given.add(arg["dest"])
            taken = loose[:1] if arg["nargs"] in (None, "?") else loose
            loose = loose[len(taken):]
            namespace[arg["dest"]] = [check_value(command, arg, value) for value in taken]
    missing = ["/".join(arg["options"]) or arg["dest"] for arg in spec["arguments"]
               if arg["required"] and arg["dest"] not in given]
    if missing:
        raise Refused(f"the following arguments are required: {', '.join(missing)}")
    extras.extend(loose)
    if extras:
        raise Refused(f"unrecognized arguments: {' '.join(extras)}")
    run_validators(command, spec, namespace, given)
    return command


def main(argv):
    if argv[1:2] == ["check"]:
        words = argv[2:]
        exact = words[:1] == ["--exact"]
        words = words[1:] if exact else words
        words = words[1:] if words[:1] == ["--"] else words
        try:
            check(words, load_table(), exact)
        except Refused as refused:
            print(f"ERROR: {refused}", file=sys.stderr)
            return refused.status
        except NotEmulated as gap:
            print(f"az stand-in: cannot tell whether az accepts this: {gap}", file=sys.stderr)
            return 3
        return 0
    if argv[1:2] == ["generate"]:
        import az_table

        table = az_table.generate(list(load_table()["commands"]) + argv[2:])
        with open(TABLE, "w", encoding="utf-8") as handle:
            handle.write(az_table.render(table))
        print(f"{TABLE}: {len(table['commands'])} commands of azure-cli {table['azure-cli']}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
