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

import json
import os
import re
import sys

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "az-cli-arguments.json")
NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


class Refused(Exception):
    """The error the Azure CLI prints before exiting with status 2."""


def load_table(path=TABLE):
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
    choices = spec.get("choices")
    if choices is None:
        return
    allowed = [c.lower() for c in choices] if spec.get("ignore_case") else choices
    if (value.lower() if spec.get("ignore_case") else value) not in allowed:
        raise Refused(f"az {command}: '{value}' is not a valid value for '{spec['options'][0]}'. "
                      f"Allowed values: {', '.join(choices)}.")


def check(words, table, exact=False):
    """Refused when the real CLI would refuse `az WORDS`; returns the command's name otherwise."""
    command, rest = find_command(words, table)
    spec = table["commands"][command]
    options = {name: arg for arg in spec["arguments"] if arg["options"] for name in arg["options"]}
    positionals = [arg for arg in spec["arguments"] if not arg["options"]]
    given, loose, extras = set(), [], []
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
        given.add(id(arg))
        label = "/".join(arg["options"])
        nargs = arg["nargs"]
        if nargs == 0:
            if explicit is not None:
                raise Refused(f"argument {label}: ignored explicit argument '{explicit}'")
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
        for value in values:
            check_value(command, arg, value)
    for arg in positionals:
        if loose:
            given.add(id(arg))
            taken = loose[:1] if arg["nargs"] in (None, "?") else loose
            loose = loose[len(taken):]
            for value in taken:
                check_value(command, arg, value)
    extras.extend(loose)
    if extras:
        raise Refused(f"unrecognized arguments: {' '.join(extras)}")
    missing = ["/".join(arg["options"]) or arg["dest"] for arg in spec["arguments"]
               if arg["required"] and id(arg) not in given]
    if missing:
        raise Refused(f"the following arguments are required: {', '.join(missing)}")
    return command


def generate(commands):
    """The table of COMMANDS, read from the parser of the installed azure-cli."""
    from azure.cli.core import __version__, get_default_cli  # only where azure-cli is installed
    from knack.events import EVENT_INVOKER_CMD_TBL_LOADED

    class Loaded(BaseException):
        pass

    def parser_of(command):
        cli = get_default_cli()

        def capture(_cli, **kwargs):
            raise Loaded(kwargs["parser"])

        cli.register_event(EVENT_INVOKER_CMD_TBL_LOADED, capture)
        cli.invocation = cli.invocation_cls(cli_ctx=cli, parser_cls=cli.parser_cls,
                                            commands_loader_cls=cli.commands_loader_cls,
                                            help_cls=cli.help_cls)
        try:
            cli.invocation.execute(command.split() + ["--only-show-errors"])
        except Loaded as loaded:
            return loaded.args[0].subparser_map[command]
        raise SystemExit(f"azure-cli has no command '{command}'")

    table = {"azure-cli": __version__, "commands": {}}
    for command in sorted(set(commands)):
        parser = parser_of(command)
        arguments = []
        for action in parser._actions:  # pylint: disable=protected-access
            argument = {"options": list(action.option_strings), "dest": action.dest,
                        "nargs": 0 if action.nargs == 0 else action.nargs, "required": bool(action.required)}
            if action.choices is not None:
                argument["choices"] = [str(choice) for choice in action.choices]
                argument["ignore_case"] = type(action.choices).__name__ == "CaseInsensitiveList"
            arguments.append(argument)
        table["commands"][command] = {"allow_abbrev": parser.allow_abbrev, "arguments": arguments}
    return table


def render(table):
    """The table as JSON with one argument per line, so that a regeneration reads as a diff."""
    lines = ["{", f' "azure-cli": {json.dumps(table["azure-cli"])},', ' "commands": {']
    commands = sorted(table["commands"].items())
    for number, (name, spec) in enumerate(commands):
        lines.append(f'  {json.dumps(name)}: {{"allow_abbrev": {json.dumps(spec["allow_abbrev"])}, "arguments": [')
        rows = [f'   {json.dumps(argument, sort_keys=True)}' for argument in spec["arguments"]]
        lines.append(",\n".join(rows))
        lines.append("  ]}" + ("," if number < len(commands) - 1 else ""))
    lines += [" }", "}", ""]
    return "\n".join(lines)


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
            return 2
        return 0
    if argv[1:2] == ["generate"]:
        table = generate(list(load_table()["commands"]) + argv[2:])
        with open(TABLE, "w", encoding="utf-8") as handle:
            handle.write(render(table))
        print(f"{TABLE}: {len(table['commands'])} commands of azure-cli {table['azure-cli']}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
