"""The checks of checks.py, and the az and kubectl stand-ins' parsers (az_cli.py check,
kube_select.py), answered by one long-lived process for tests/suites/aks.sh: the suite asks for
them some thousand times (every dry run's plan, every runbook's order and flags, every az command
line not seen before, every listing, in every mutated copy), and a Python start with their imports
costs more than most answers.

  check_server.py PORT_FILE     listens on 127.0.0.1 (a free port, written to PORT_FILE once it
                                listens) until killed

A request is NUL-terminated fields: the number of arguments, the token the server was started
with (CHECK_SERVER_TOKEN: another user of the machine cannot reach a port on 127.0.0.1 without
it), the client's working directory, a file for standard input (empty: none), the program (checks.py, az_cli.py or kube_select.py), then
its arguments. The server forks for each (the modules are imported and az's table read once,
before; an answer cannot disturb the next one); the child runs the program's main in that
directory with its standard output and error captured, and answers the exit status, the output and
the error, each NUL-terminated: exactly what `python3 PROGRAM ARG... <STDIN` would have printed
and returned. The client is check_client.sh's ask_checks.
"""

import hmac
import os
import signal
import socket
import sys
import traceback

import az_cli
import az_compare  # noqa: F401 (imported for the children: what the checks import when they run)
import checks
import kube_select
import signatures  # noqa: F401
import workflow  # noqa: F401
import workflow_files  # noqa: F401
import yaml  # noqa: F401


TOKEN = os.environ["CHECK_SERVER_TOKEN"]
PROGRAMS = {"checks.py": checks.main, "az_cli.py": az_cli.main, "kube_select.py": kube_select.main}


def read_request(connection):
    """[token, cwd, stdin, program, arg...] of the request."""
    data = b""
    while True:
        fields = data.split(b"\0")
        if len(fields) > 1 and len(fields) - 1 >= int(fields[0]) + 5:
            return [field.decode() for field in fields[1 : int(fields[0]) + 5]]
        chunk = connection.recv(65536)
        if not chunk:
            raise EOFError("request cut short")
        data += chunk


def captured(fd):
    """A memory file in place of FD (1 or 2), so that whatever writes there is the answer's."""
    memory = os.memfd_create(f"fd{fd}")
    os.dup2(memory, fd)
    return memory


def answer(connection):
    token, cwd, stdin, program, *args = read_request(connection)
    if not hmac.compare_digest(token, TOKEN):
        return
    os.chdir(cwd)
    os.dup2(os.open(stdin or os.devnull, os.O_RDONLY), 0)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    out, err = captured(1), captured(2)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    try:
        status = PROGRAMS[program]([program, *args])
    except SystemExit as exit_:  # what the interpreter would do with it
        if isinstance(exit_.code, int) or exit_.code is None:
            status = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            status = 1
    except Exception:  # noqa: BLE001 (likewise: the traceback, exit status 1)
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    texts = []
    for memory in (out, err):
        os.lseek(memory, 0, os.SEEK_SET)
        texts.append(os.read(memory, os.fstat(memory).st_size))
    connection.sendall(b"%d\0%s\0%s\0" % (status, texts[0].replace(b"\0", b""), texts[1].replace(b"\0", b"")))


def reap(*_):
    """Waits for the children that ended, so that their CPU time counts as the server's (and, once
    the suite waited for the server, as the suite's)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def stop(*_):
    raise SystemExit(0)


def main(port_file):
    az_cli.load_table()  # read once, kept for every child
    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGTERM, stop)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    with open(port_file + ".new", "w", encoding="utf-8") as handle:
        handle.write(f"{server.getsockname()[1]}\n")
    os.rename(port_file + ".new", port_file)
    try:
        while True:
            connection, _ = server.accept()
            if os.fork() == 0:
                server.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                try:
                    # A client that connects and sends nothing must not hold the suite's end.
                    connection.settimeout(60)
                    answer(connection)
                finally:
                    os._exit(0)
            connection.close()
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            while os.waitpid(-1, 0):
                pass
        except ChildProcessError:
            pass


if __name__ == "__main__":
    main(sys.argv[1])
