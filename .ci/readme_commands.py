#!/usr/bin/env python3
"""The README's two set-up commands, run as a stranger would (standard library only).

    python3 .ci/readme_commands.py test-command   # prints the README's test command
    python3 .ci/readme_commands.py stack-check    # runs the README's first command and its
                                                  # quick start, then stops it with SIGINT

``stack-check`` starts the first set-up command exactly as written (in a session of its own, as
a terminal would), waits for the banner, checks that the banner's webhook is the README's, sends
the README's quick-start ``curl`` commands as written (``localhost:8080`` pointed at the port the
stack printed, if 8080 was taken), waits for the job to succeed, checks ``GET /queues`` and the
duplicate answer, then presses Ctrl-C (SIGINT to the process group) and checks that every process
the command started is gone. Any drift between the README and what the stack does fails it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BANNER_SECONDS = 900  # a fresh clone builds .venv first
JOB_SECONDS = 60
STOP_SECONDS = 60


class CheckFailed(Exception):
    pass


def fenced_block(text: str, heading: str) -> list[str]:
    """Lines of the first fenced code block under ``heading``."""
    section = text.split(f"\n{heading}\n", 1)
    if len(section) != 2:
        raise CheckFailed(f"README.md has no section {heading!r}")
    match = re.search(r"```[a-z]*\n(.*?)```", section[1], re.S)
    if not match:
        raise CheckFailed(f"README.md's {heading!r} has no code block")
    return match.group(1).splitlines()


def commands_of(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Shell commands (continuations joined, trailing comments kept apart), each with the
    comment lines that follow it (the README writes the expected answer there)."""
    commands: list[tuple[str, list[str]]] = []
    pending = ""
    for line in lines:
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            if commands:
                commands[-1][1].append(stripped.lstrip("# "))
            continue
        if not stripped:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        command = pending + stripped
        pending = ""
        if " #" in command and not command.startswith("curl"):
            command = command.split(" #", 1)[0].strip()
        commands.append((command, []))
    return commands


def setup_commands() -> list[str]:
    commands = [c for c, _ in commands_of(fenced_block(README.read_text(), "## Set up"))]
    if len(commands) != 2:
        raise CheckFailed(f"README.md's set-up block must hold exactly two commands, has "
                          f"{commands}")
    return commands


def run_shell(command: str) -> str:
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                          cwd=ROOT)
    if done.returncode != 0:
        raise CheckFailed(f"`{command}` exited {done.returncode}: {done.stderr[-500:]}")
    return done.stdout


def answer_json(command: str) -> dict:
    out = run_shell(command)
    try:
        return json.loads(out)
    except ValueError:
        raise CheckFailed(f"`{command}` did not answer JSON: {out[:500]!r}") from None


def curl_data(command: str) -> tuple[str, list[str]]:
    """The ``-d`` body and the ``-H`` headers of a curl command."""
    words = shlex.split(command)
    body = words[words.index("-d") + 1] if "-d" in words else ""
    headers = [words[i + 1] for i, w in enumerate(words) if w == "-H"]
    return body, headers


def process_table() -> dict[int, tuple[str, list[str]]]:
    """pid -> (name, the fields of /proc/<pid>/stat after the name) of every live process."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text.split(" (", 1)[1].rsplit(")", 1)[0]
        fields = text.rsplit(")", 1)[1].split()  # state ppid pgrp session ... starttime (20)
        if fields[0] != "Z":  # a zombie has ended already
            table[int(stat.parent.name)] = (name, fields)
    return table


def descendants(root: int) -> set[tuple[int, str, str]]:
    """(pid, start time, name) of ``root`` and every process below it, wherever their session:
    a child that started a session of its own is still the command's."""
    table = process_table()
    found, frontier = set(), [root]
    while frontier:
        parent = frontier.pop()
        for pid, (name, fields) in table.items():
            if int(fields[1]) == parent:
                found.add((pid, fields[19], name))
                frontier.append(pid)
    if root in table:
        found.add((root, table[root][1][19], table[root][0]))
    return found


def still_running(started: set[tuple[int, str, str]], sid: int) -> list[str]:
    table = process_table()
    left = {(pid, name) for pid, start, name in started
            if pid in table and table[pid][1][19] == start}
    left |= {(pid, name) for pid, (name, fields) in table.items() if int(fields[3]) == sid}
    return [f"{pid} {name}" for pid, name in sorted(left)]


def stack_check() -> None:
    first, _ = setup_commands()
    quick = commands_of(fenced_block(README.read_text(), "## Quick start"))
    if not quick or not quick[0][0].startswith("curl"):
        raise CheckFailed("README.md's quick start must begin with the webhook's curl")
    log_path = ROOT / ".ci-stack.log"
    print(f"readme: running `{first}` (output in {log_path})", flush=True)
    with log_path.open("wb") as log:
        stack = subprocess.Popen(["bash", "-c", first], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        check_running_stack(stack, log_path, quick)
    except BaseException:
        try:
            stop_stack(stack, log_path)
        except CheckFailed as also:
            print(f"readme: and then: {also}", file=sys.stderr)
        raise
    stop_stack(stack, log_path)


def check_running_stack(stack: subprocess.Popen[bytes], log_path: Path,
                        quick: list[tuple[str, list[str]]]) -> None:
    deadline = time.monotonic() + BANNER_SECONDS
    url = None
    while url is None:
        output = log_path.read_text(errors="replace")
        match = re.search(r"ingest +(http://127\.0\.0\.1:\d+)", output)
        if match:
            url = match.group(1)
        elif stack.poll() is not None:
            raise CheckFailed(f"the stack exited with {stack.returncode} before it was up:\n"
                              + output[-3000:])
        elif time.monotonic() > deadline:
            raise CheckFailed("the stack printed no ingest URL within "
                              f"{BANNER_SECONDS} s:\n{output[-3000:]}")
        else:
            time.sleep(0.5)
    time.sleep(0.5)  # the rest of the banner
    banner = log_path.read_text(errors="replace")
    banner_curl = re.search(r"(curl -s \S+/webhooks/nhanh .*?-d '[^']*')", banner.replace(
        "\\\n", " "), re.S)
    if not banner_curl:
        raise CheckFailed(f"the banner shows no webhook curl:\n{banner[-2000:]}")
    webhook, expected = quick[0]
    if curl_data(" ".join(banner_curl.group(1).split())) != curl_data(webhook):
        raise CheckFailed("the README's quick-start webhook differs from the one the stack "
                          f"prints:\n README: {webhook}\n banner: {banner_curl.group(1)}")
    port = url.rsplit(":", 1)[1]
    nhanh = re.search(r"nhanh +http://127\.0\.0\.1:(\d+)", banner)
    nhanh_port = nhanh.group(1) if nhanh else "8083"

    def as_run(command: str) -> str:
        return command.replace("localhost:8080", f"localhost:{port}").replace(
            "localhost:8083", f"localhost:{nhanh_port}")

    answer = answer_json(as_run(webhook))
    print(f"readme: webhook answered {answer}", flush=True)
    shape = json.loads(expected[0]) if expected and expected[0].startswith("{") else None
    if shape is not None and set(shape) != set(answer):
        raise CheckFailed(f"the README promises an answer like {expected[0]}, got {answer}")
    if answer.get("duplicate") is not False or not answer.get("jobs"):
        raise CheckFailed(f"the webhook was not accepted: {answer}")
    job_id = answer["jobs"][0]
    for command, _ in quick[1:]:
        command = as_run(command.replace("<job id>", job_id))
        if f"/jobs/{job_id}" in command:
            wait_job(command)
        elif "/jobs?queue=customer-sync" in command:
            wait_listed_job(command)
        elif "/queues" in command:
            queues = answer_json(command)
            listed = set(queues.get("queues") or ())
            if not {"customer-sync", "inventory-sync", "deploy"} <= listed:
                raise CheckFailed(f"GET /queues answered {queues}")
            print(f"readme: GET /queues lists {sorted(listed)}", flush=True)
        else:
            run_shell(command)
    again = answer_json(as_run(webhook))
    if again.get("duplicate") is not True or again.get("jobs") != answer["jobs"]:
        raise CheckFailed(f"sending the same body again answered {again}, not the duplicate "
                          "with the original job ids the README promises")


def wait_listed_job(command: str) -> None:
    """The README's order made a customer job (the Nhanh sandbox sent ``orderAdd`` to ingest);
    wait until the listed newest one succeeded."""
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        listed = answer_json(command).get("jobs") or []
        if listed and listed[0].get("state") == "succeeded":
            print(f"readme: customer job {listed[0]['id']} succeeded: "
                  f"{listed[0].get('result')}", flush=True)
            return
        if (listed and listed[0].get("state") in ("failed", "cancelled")) \
                or time.monotonic() > deadline:
            raise CheckFailed(f"the quick-start order's customer job did not succeed: {listed}")
        time.sleep(0.5)


def wait_job(command: str) -> None:
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        job = answer_json(command)
        if job.get("state") == "succeeded":
            print(f"readme: job {job['id']} succeeded", flush=True)
            return
        if job.get("state") in ("failed", "cancelled") or time.monotonic() > deadline:
            raise CheckFailed(f"the quick-start job did not succeed: {job}")
        time.sleep(0.25)


def stop_stack(stack: subprocess.Popen[bytes], log_path: Path) -> None:
    """Ctrl-C, as the README says, then check that nothing the command started is left."""
    started = descendants(stack.pid)
    if stack.poll() is None:
        os.killpg(stack.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    while still_running(started, stack.pid) and time.monotonic() < deadline:
        stack.poll()  # reaps the command itself once it ends
        time.sleep(0.2)
    left = still_running(started, stack.pid)
    if left:
        os.killpg(stack.pid, signal.SIGKILL)
        for pid in {int(entry.split()[0]) for entry in left}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise CheckFailed(f"{STOP_SECONDS} s after Ctrl-C these processes of the stack still "
                          f"run: {left}\n{log_path.read_text(errors='replace')[-2000:]}")
    stack.wait()
    print(f"readme: Ctrl-C stopped the stack (exit {stack.returncode}); no process is left",
          flush=True)


def main(argv: list[str]) -> int:
    try:
        if argv == ["test-command"]:
            print(setup_commands()[1])
        elif argv == ["stack-check"]:
            stack_check()
            print("readme: the README's first command and quick start work as written")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as failure:
        print(f"readme: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
