"""A stand-in for the GitHub CLI on the CI harness's PATH (tests/e2e/ci_harness.py): the `gh api`
routes, `gh run list` and `gh run download` the recipe calls, over a JSON file that models the
repository (comments, pull requests, workflow runs and their artifacts). `--jq` filters run
through the real jq, as gh's do. Anything else exits 1, so a recipe edit that calls something
this model does not know fails the test instead of passing unseen."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BOT = "github-actions[bot]"
VALUE_FLAGS = {
    "--method", "-X", "--jq", "-q", "-F", "--field", "-f", "--raw-field", "--workflow", "-w",
    "--event", "-e", "--commit", "-c", "--status", "-s", "--limit", "-L", "--json", "--name",
    "-n", "--dir", "-D",
}  # fmt: skip
BOOL_FLAGS = {"--paginate"}


def fail(message: str) -> None:
    print(f"gh (test stand-in): {message}", file=sys.stderr)
    sys.exit(1)


def parse(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    items = iter(args)
    for arg in items:
        if arg in VALUE_FLAGS:
            options.setdefault(arg, []).append(next(items))
        elif arg in BOOL_FLAGS:
            options[arg] = ["true"]
        elif arg.startswith("-"):
            fail(f"unknown flag {arg}")
        else:
            positional.append(arg)
    return positional, options


def one(options: dict[str, list[str]], *names: str) -> str | None:
    values = [v for name in names for v in options.get(name, [])]
    return values[-1] if values else None


def emit(document: Any, jq: str | None) -> None:
    text = json.dumps(document)
    if jq is None:
        print(text)
        return
    done = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"jq failed: {done.stderr.strip()}")
    sys.stdout.write(done.stdout)


def fields(options: dict[str, list[str]]) -> dict[str, str]:
    found = {}
    for field in options.get("-F", []) + options.get("--field", []):
        key, _, value = field.partition("=")
        found[key] = Path(value[1:]).read_text(encoding="utf-8") if value[:1] == "@" else value
    return found


def api(state: dict[str, Any], args: list[str]) -> None:
    (path,), options = parse(args)
    body = fields(options)
    method = one(options, "--method", "-X") or ("POST" if body else "GET")
    repo = re.escape(os.environ["GITHUB_REPOSITORY"])
    comments = state.setdefault("comments", [])
    if m := re.fullmatch(rf"repos/{repo}/issues/(\d+)/comments", path):
        if method == "GET":
            return emit([c for c in comments if c["issue"] == int(m[1])], one(options, "--jq"))
        if method == "POST" and set(body) == {"body"}:
            comment = {"id": 1000 + len(comments), "issue": int(m[1]), "user": {"login": BOT}}
            comments.append({**comment, "body": body["body"]})
            return emit(comments[-1], one(options, "--jq"))
    if (m := re.fullmatch(rf"repos/{repo}/issues/comments/(\d+)", path)) and method == "PATCH":
        comment = next((c for c in comments if c["id"] == int(m[1])), None)
        if comment is None or comment["user"]["login"] != BOT or set(body) != {"body"}:
            fail(f"HTTP 404/403 on PATCH {path}")
        comment["body"] = body["body"]
        return emit(comment, one(options, "--jq"))
    if (m := re.fullmatch(rf"repos/{repo}/commits/(\w+)/pulls", path)) and method == "GET":
        return emit(state.get("commit_pulls", {}).get(m[1], []), one(options, "--jq"))
    if (m := re.fullmatch(rf"repos/{repo}/pulls/(\d+)", path)) and method == "GET":
        return emit(state["pulls"][m[1]], one(options, "--jq"))
    fail(f"no such route in the model: {method} {path}")


def run_list(state: dict[str, Any], args: list[str]) -> None:
    _, options = parse(args)
    wanted = {
        "workflowName": one(options, "--workflow", "-w"),
        "event": one(options, "--event", "-e"),
        "headSha": one(options, "--commit", "-c"),
        "conclusion": one(options, "--status", "-s"),
    }
    runs = [
        r
        for r in sorted(state.get("runs", []), key=lambda r: -r["databaseId"])
        if all(value is None or r[key] == value for key, value in wanted.items())
    ]
    limit = int(one(options, "--limit", "-L") or 20)
    keys = (one(options, "--json") or fail("run list without --json")).split(",")  # type: ignore[union-attr]
    emit([{k: r[k] for k in keys} for r in runs[:limit]], one(options, "--jq"))


def run_download(state: dict[str, Any], args: list[str]) -> None:
    (run_id,), options = parse(args)
    name = one(options, "--name", "-n")
    run = next((r for r in state.get("runs", []) if str(r["databaseId"]) == run_id), None)
    if run is None or name not in run["artifacts"]:
        fail(f"no artifact {name} in run {run_id}")
    shutil.copytree(run["artifacts"][name], one(options, "--dir", "-D") or ".", dirs_exist_ok=True)


def main(argv: list[str]) -> None:
    if not os.environ.get("GH_TOKEN"):
        fail("GH_TOKEN is not set: gh needs a token in a workflow")
    state_file = Path(os.environ["CI_HARNESS_GH_STATE"])
    state = json.loads(state_file.read_text())
    if argv[:1] == ["api"]:
        api(state, argv[1:])
    elif argv[:2] == ["run", "list"]:
        run_list(state, argv[2:])
    elif argv[:2] == ["run", "download"]:
        run_download(state, argv[2:])
    else:
        fail(f"unmodelled command: gh {' '.join(argv)}")
    state_file.write_text(json.dumps(state))


if __name__ == "__main__":
    main(sys.argv[1:])
