"""Runs the CI recipes (docs/ci/*.yml) as their CI would, without the CI: no local runner installs
here (gitlab-ci-local's release needs Node 22 and a Docker daemon, act a Docker daemon; see
docs/ci/README.md), so this executes each job's steps IN ORDER with bash, as the runners do.

GitHub Actions: a job runs when its `if` holds for the event; each step's `if` (default
`success()`), `${{ }}` expressions (github, vars, env, steps, runner), `env` at every level,
GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, `bash -eo pipefail` per `run`, and the
actions the recipe uses (checkout clones the repo at the commit; upload-artifact skips dotfiles
unless include-hidden-files, as v4 does; upload-sarif takes a SARIF file). An action this
harness does not model fails the run.

GitLab CI: `extends`, `default`, `rules: if`, variables (expanded), `id_tokens`, before_script
and script as one `bash` script with `set -eo pipefail`, `allow_failure: exit_codes`, artifacts
by `when`, `reports: junit`.

The outside world is stand-ins on PATH: `reconciler` runs this checkout's reconciler against the
emulator (RECONCILER_ENDPOINT) and logs the role and OIDC token it ran with; `pip` accepts only
`install rds-encryption-reconciler==X`; `curl` answers only the GitHub OIDC token request; `gh`
is tests/e2e/ci_gh_shim.py; GitLab's API is FakeGitLab over HTTP (the recipe reaches it with
Python's urllib, as in the real image). The only credential the harness adds is the emulator's
AccessKey; the recipes' OIDC variables are still checked by the reconciler (a missing token
file is an error).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

SHIM = Path(__file__).with_name("ci_gh_shim.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
EMULATOR_KEYS = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "emulator",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-secret",
}


def fake_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@dataclass
class Call:
    """One `reconciler` command a job ran: the role and OIDC subject it ran as."""

    role: str
    subject: str | None
    args: list[str]


@dataclass
class JobResult:
    name: str
    ran: bool
    exit_code: int = 0
    status: str = "skipped"  # success | failed | allowed_failure | skipped
    log: str = ""
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact name -> folder
    steps: dict[str, str] = field(default_factory=dict)  # step name or id -> outcome

    @property
    def ok(self) -> bool:
        return self.status in ("success", "allowed_failure")


class World:
    """The shims, the repository and what the jobs left behind, for one test."""

    def __init__(self, root: Path, endpoint: str, pin: str) -> None:
        self.root = root
        self.bin = root / "bin"
        self.repo = root / "repo"
        self.calls_file = root / "calls.tsv"
        self.pip_file = root / "pip.txt"
        self.runs = 0
        self.endpoint = endpoint
        self.bin.mkdir(parents=True)
        self._write_shims(pin)

    def _shim(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)

    def _write_shims(self, pin: str) -> None:
        python = sys.executable
        self._shim(
            "reconciler",
            "#!/bin/sh\n"
            'token=$(cat "${ALIBABA_CLOUD_OIDC_TOKEN_FILE:-/nonexistent}" 2>/dev/null)\n'
            f'printf \'%s\\t%s\\t%s\\n\' "$ALIBABA_CLOUD_ROLE_ARN" "$token" "$*"'
            f' >> "{self.calls_file}"\n'
            f'exec "{python}" -m reconciler "$@"\n',
        )
        self._shim(
            "pip",
            "#!/bin/sh\n"
            f'echo "$*" >> "{self.pip_file}"\n'
            'args=$(echo "$*" | sed "s/--quiet //")\n'
            f'[ "$args" = "install {pin}" ] && exit 0\n'
            "echo \"pip (test stand-in): only 'install " + pin + "' is modelled, got: $*\" >&2\n"
            "exit 1\n",
        )
        self._shim(
            "curl",
            "#!/bin/sh\n"
            '[ "$*" = "-sSf -H Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN '
            '$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.aliyuncs.com" ] || '
            '{ echo "curl (test stand-in): unmodelled request: $*" >&2; exit 22; }\n'
            'printf \'{"value": "%s"}\' "$CI_HARNESS_OIDC_TOKEN"\n',
        )
        self._shim("gh", f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" "$@"\n')

    def base_env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.root / "home"),
            "LANG": "C.UTF-8",
            "CI": "true",
            "RECONCILER_ENDPOINT": self.endpoint,
            "RECONCILER_STATE_HOME": str(self.root / "state"),
            "PYTHONPATH": str(REPO_ROOT),
            **EMULATOR_KEYS,
        }

    def calls(self) -> list[Call]:
        if not self.calls_file.exists():
            return []
        found = []
        for line in self.calls_file.read_text().splitlines():
            role, token, args = line.split("\t")
            subject = jwt_claims(token)["sub"] if token else None
            found.append(Call(role, subject, args.split()))
        return found

    def workspace(self, sha: str) -> Path:
        """A fresh clone of the repository at `sha`, as a runner checks it out."""
        self.runs += 1
        path = self.root / f"ws{self.runs}"
        git("clone", "-q", str(self.repo), str(path))
        git("-C", str(path), "checkout", "-q", sha)
        return path


def git(*args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(["git", *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def run_bash(script: str, cwd: Path, env: dict[str, str], flags: str) -> tuple[int, str]:
    path = cwd.parent / f".script-{os.getpid()}-{abs(hash(script))}.sh"
    path.write_text(script)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", *flags.split(), str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


# --- GitHub Actions expressions ------------------------------------------------------------

_GH_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)
STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")


def gh_eval(expr: str, lookup: Callable[[str], Any], failed: bool) -> Any:
    """A GitHub Actions expression: literals, context paths, == != && || ! ( ), and the status
    functions. Anything else is an error (the harness must not guess)."""
    out, pos, text = [], 0, expr.strip()
    functions = {
        "always": lambda: True,
        "success": lambda: not failed,
        "failure": lambda: failed,
        "cancelled": lambda: False,
    }
    while pos < len(text):
        m = _GH_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unsupported expression: {expr!r}")
        pos = m.end()
        if m["str"] is not None:
            out.append(repr(m["str"][1:-1].replace("''", "'")))
        elif m["num"] is not None:
            out.append(m["num"])
        elif m["op"] is not None:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(m["op"], m["op"]))
        elif m["name"] in functions:
            out.append(f"_f[{m['name']!r}]")
        elif m["name"] in ("true", "false", "null"):
            out.append({"true": "True", "false": "False", "null": "None"}[m["name"]])
        else:
            out.append(f"_ctx({m['name']!r})")
    return eval("".join(out), {"__builtins__": {}}, {"_f": functions, "_ctx": lookup})


def gh_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(text: str, lookup: Callable[[str], Any], failed: bool = False) -> str:
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: gh_text(gh_eval(m[1], lookup, failed)), text, flags=re.S
    )


def read_kv_file(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `key=value` lines and `key<<DELIM` blocks."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().splitlines()) if path.exists() else iter(())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delim:
                    break
                block.append(inner)
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


@dataclass
class GitHubEvent:
    name: str  # pull_request | push | schedule | workflow_dispatch
    sha: str
    ref: str
    pull_request: int | None = None


class GitHubRepo:
    """A GitHub repository for the gh stand-in: comments, pull requests, runs, artifacts."""

    def __init__(self, world: World, slug: str, variables: dict[str, str]) -> None:
        self.world = world
        self.slug = slug
        self.variables = variables
        self.state_file = world.root / "github.json"
        self.state_file.write_text(json.dumps({"comments": [], "runs": [], "pulls": {}}))
        self.code_scanning: list[dict[str, Any]] = []

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        state = self.state
        change(state)
        self.state_file.write_text(json.dumps(state))

    def run_workflow(self, doc: dict[str, Any], event: GitHubEvent) -> dict[str, JobResult]:
        """One workflow run for `event`: every job whose `if` holds, then the run recorded for
        `gh run list` with its conclusion and artifacts."""
        self.world.runs += 1
        run_id = 9000 + self.world.runs
        self.run_artifacts: dict[str, Path] = {}
        results: dict[str, JobResult] = {}
        for name, job in doc["jobs"].items():
            needed = [r for r in results.values() if r.name in _needs(job)]
            for key, matrix in matrix_instances(name, job):
                run = Needs(matrix, needed)
                results[key] = self._job(doc, name, job, event, run_id, run)
        ran = [r for r in results.values() if r.ran]
        artifacts = {k: str(v) for r in ran for k, v in r.artifacts.items()}
        record = {
            "databaseId": run_id,
            "event": event.name,
            "headSha": event.sha,
            "workflowName": doc["name"],
            "conclusion": "success" if all(r.ok for r in ran) else "failure",
            "artifacts": artifacts,
        }
        self.update(lambda state: state["runs"].append(record))
        return results

    def _job(
        self,
        doc: dict[str, Any],
        name: str,
        job: dict[str, Any],
        event: GitHubEvent,
        run_id: int,
        run: Needs,
    ) -> JobResult:
        suffix = "-".join(str(v) for v in run.matrix.values())
        workspace = self.world.root / f"gh-{run_id}-{name}{suffix}"
        temp = self.world.root / f"gh-{run_id}-{name}{suffix}-tmp"
        github = {
            "event_name": event.name,
            "sha": event.sha,
            "ref": event.ref,
            "repository": self.slug,
            "workspace": str(workspace),
            "token": "ghs_harness_token",
            "workflow": doc["name"],
            "event": {"pull_request": {"number": event.pull_request}},
        }
        steps: dict[str, dict[str, Any]] = {}
        env: dict[str, str] = {}

        def lookup(path: str) -> Any:
            head, *rest = path.split(".")
            roots = {
                "github": github,
                "vars": self.variables,
                "env": env,
                "steps": steps,
                "runner": {"temp": str(temp)},
                "secrets": {},
                "matrix": run.matrix,
            }
            value: Any = roots[head]
            for part in rest:
                value = value.get(part) if isinstance(value, dict) else None
            return value

        if not run.should_run(job, lookup):
            return JobResult(name, ran=False)
        workspace.mkdir()
        temp.mkdir()
        subject = self._subject(job, event)
        permissions = job.get("permissions", doc.get("permissions", {}))
        base = self.world.base_env()
        base.update(
            GITHUB_REPOSITORY=self.slug,
            GITHUB_SHA=event.sha,
            GITHUB_REF=event.ref,
            GITHUB_EVENT_NAME=event.name,
            GITHUB_WORKFLOW=doc["name"],
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_SERVER_URL="https://github.com",
            GITHUB_RUN_ID=str(run_id),
            RUNNER_TEMP=str(temp),
            GITHUB_ENV=str(temp / "env"),
            GITHUB_STEP_SUMMARY=str(temp / "summary.md"),
            CI_HARNESS_GH_STATE=str(self.state_file),
        )
        if permissions.get("id-token") == "write":
            base.update(
                ACTIONS_ID_TOKEN_REQUEST_URL="https://token.example/?run=1",
                ACTIONS_ID_TOKEN_REQUEST_TOKEN="request-token",
                CI_HARNESS_OIDC_TOKEN=fake_jwt({"sub": subject, "aud": "sts.aliyuncs.com"}),
            )
        for level in (doc.get("env", {}), job.get("env", {})):
            env.update({k: substitute(gh_text(v), lookup) for k, v in level.items()})
        result = JobResult(name, ran=True, status="success")
        failed = False
        for index, step in enumerate(job["steps"]):
            label = step.get("id") or step.get("name") or step.get("uses") or f"step{index}"
            condition = str(step.get("if", "success()"))
            if not re.search(rf"\b({'|'.join(STATUS_FUNCTIONS)})\(", condition):
                condition = f"success() && ({condition})"
            if not gh_eval(condition, lookup, failed):
                result.steps[label] = "skipped"
                continue
            env.update(read_kv_file(temp / "env"))
            step_env = {**base, **env}
            step_env.update(
                {k: substitute(gh_text(v), lookup, failed) for k, v in step.get("env", {}).items()}
            )
            output_file = temp / f"output-{index}"
            step_env["GITHUB_OUTPUT"] = str(output_file)
            ok, log = self._step(step, workspace, step_env, lookup, failed, event, result)
            result.log += f"--- {label}\n{log}"
            steps[step.get("id", f"_{index}")] = {
                "outputs": read_kv_file(output_file),
                "outcome": "success" if ok else "failure",
            }
            result.steps[label] = "success" if ok else "failure"
            failed = failed or not ok
        result.status = "failed" if failed else "success"
        result.exit_code = 1 if failed else 0
        return result

    def _subject(self, job: dict[str, Any], event: GitHubEvent) -> str:
        """GitHub's default OIDC `sub` for this job (docs/permissions.md lists them)."""
        if job.get("environment"):
            environment = job["environment"]
            name = environment if isinstance(environment, str) else environment["name"]
            return f"repo:{self.slug}:environment:{name}"
        if event.name == "pull_request":
            return f"repo:{self.slug}:pull_request"
        return f"repo:{self.slug}:ref:{event.ref}"

    def _step(
        self,
        step: dict[str, Any],
        workspace: Path,
        env: dict[str, str],
        lookup: Callable[[str], Any],
        failed: bool,
        event: GitHubEvent,
        result: JobResult,
    ) -> tuple[bool, str]:
        if "run" in step:
            script = substitute(step["run"], lookup, failed)
            code, log = run_bash(script, workspace, env, "-eo pipefail")
            return code == 0, log
        uses, given = (
            step["uses"],
            {k: substitute(gh_text(v), lookup, failed) for k, v in step.get("with", {}).items()},
        )
        action = uses.split("@")[0]
        if action == "actions/checkout":
            git("clone", "-q", str(self.world.repo), str(workspace))
            git("-C", str(workspace), "checkout", "-q", event.sha)
            return True, "checked out\n"
        if action == "actions/setup-python":
            return bool(given.get("python-version")), "python ready\n"
        if action == "actions/upload-artifact":
            return self._upload(given, workspace, result)
        if action == "actions/download-artifact":
            return self._download(given, workspace)
        if action == "github/codeql-action/upload-sarif":
            sarif = json.loads((workspace / given["sarif_file"]).read_text())
            assert sarif["runs"], "an empty SARIF upload"
            self.code_scanning.append({"category": given.get("category"), "sarif": sarif})
            return True, "uploaded SARIF\n"
        raise AssertionError(f"the harness does not model the action {uses}")

    def _upload(
        self, given: dict[str, str], workspace: Path, result: JobResult
    ) -> tuple[bool, str]:
        name = given["name"]
        if name in self.run_artifacts:
            return False, f"an artifact named {name} exists already in this run\n"
        hidden = given.get("include-hidden-files", "false") == "true"
        target = self.world.root / "artifacts" / f"{self.world.runs}-{name}"
        found = []
        for pattern in given["path"].split():
            for path in sorted(workspace.glob(pattern)):
                relative = path.relative_to(workspace)
                if not hidden and any(part.startswith(".") for part in relative.parts):
                    continue
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / relative)
                found.append(str(relative))
        if not found and given.get("if-no-files-found", "warn") == "error":
            return False, "no files found\n"
        if found:
            result.artifacts[name] = self.run_artifacts[name] = target
        return True, f"uploaded {found}\n"

    def _download(self, given: dict[str, str], workspace: Path) -> tuple[bool, str]:
        """download-artifact@v4 of this run's artifacts by `name` or `pattern`; with
        merge-multiple all into `path`, else each into `path/NAME`."""
        pattern = given.get("name") or given.get("pattern") or "*"
        names = sorted(n for n in self.run_artifacts if fnmatch.fnmatchcase(n, pattern))
        if not names:
            return False, f"no artifact matches {pattern}\n"
        into = workspace / given.get("path", ".")
        together = given.get("merge-multiple", "false") == "true" or "name" in given
        for name in names:
            shutil.copytree(
                self.run_artifacts[name], into if together else into / name, dirs_exist_ok=True
            )
        return True, f"downloaded {names}\n"


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def matrix_instances(name: str, job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(the job's name as GitHub shows it, its `matrix` context) for each combination of
    `strategy.matrix` (lists only; include/exclude are not modelled and fail)."""
    matrix = job.get("strategy", {}).get("matrix")
    if not matrix:
        return [(name, {})]
    unmodelled = set(matrix) & {"include", "exclude"}
    assert not unmodelled, f"the harness does not model matrix {unmodelled}"
    combos = [dict(zip(matrix, values, strict=True)) for values in product(*matrix.values())]
    return [(f"{name} ({', '.join(str(v) for v in c.values())})", c) for c in combos]


@dataclass
class Needs:
    """One job instance's matrix values and the results of the jobs it `needs`: GitHub runs a
    job only when every needed job succeeded, unless its `if` calls a status function
    (always(), failure()), which then sees the needed jobs' outcome."""

    matrix: dict[str, Any]
    needed: list[JobResult]

    def should_run(self, job: dict[str, Any], lookup: Callable[[str], Any]) -> bool:
        failed = any(r.ran and not r.ok for r in self.needed)
        skipped = any(not r.ran for r in self.needed)
        condition = str(job.get("if", "true"))
        if re.search(rf"\b({'|'.join(STATUS_FUNCTIONS)})\(", condition):
            return bool(gh_eval(condition, lookup, failed))
        return not failed and not skipped and bool(gh_eval(condition, lookup, False))


# --- GitLab CI ----------------------------------------------------------------------------

_GL_TOKEN = re.compile(
    r'\s*(?:(?P<var>\$\{?\w+\}?)|(?P<str>"[^"]*"|\'[^\']*\')|(?P<op>==|!=|&&|\|\||\(|\))'
    r"|(?P<null>null))"
)


def gitlab_eval(expr: str, env: dict[str, str]) -> bool:
    """A `rules: if` expression: variables, strings, null, == != && || ( )."""
    out, pos = [], 0
    while pos < len(expr.strip()):
        m = _GL_TOKEN.match(expr.strip(), pos)
        if not m or m.end() == pos:
            raise ValueError(f"unsupported rules expression: {expr!r}")
        pos = m.end()
        if m["var"]:
            out.append(repr(env.get(m["var"].strip("${}"))))
        elif m["str"]:
            out.append(repr(m["str"][1:-1]))
        elif m["null"]:
            out.append("None")
        else:
            out.append({"&&": " and ", "||": " or "}.get(m["op"], m["op"]))
    return bool(eval("".join(out), {"__builtins__": {}}, {}))


def expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m[1], ""), value)


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """GitLab's `extends` merge: hashes deep-merged, everything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def resolve_gitlab_job(doc: dict[str, Any], name: str) -> dict[str, Any]:
    job = doc[name]
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        job = merged(resolve_gitlab_job(doc, parent), job)
    for key, value in doc.get("default", {}).items():
        job.setdefault(key, value)
    return job


def matching_rule(job: dict[str, Any], env: dict[str, str]) -> dict[str, Any] | None:
    """The first rule whose `if` holds ({} for a job without rules); None: the job is not in
    the pipeline."""
    rules = job.get("rules")
    if rules is None:
        return {}
    return next((r for r in rules if "if" in r and gitlab_eval(r["if"], env)), None)


def parallel_instances(name: str, job: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """`parallel: N`: N jobs `NAME I/N` with CI_NODE_INDEX and CI_NODE_TOTAL (parallel:matrix
    is not modelled and fails)."""
    count = job.get("parallel")
    if count is None:
        return [(name, {})]
    assert isinstance(count, int), "the harness models `parallel: N` only"
    return [
        (f"{name} {i}/{count}", {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(count)})
        for i in range(1, count + 1)
    ]


class GitLabProject:
    """A GitLab project: pipelines run here; the API the recipe calls is `api` (FakeGitLab)."""

    def __init__(self, world: World, path: str, api: Any, variables: dict[str, str]) -> None:
        self.world = world
        self.path = path
        self.api = api
        self.variables = variables

    def run_pipeline(
        self, doc: dict[str, Any], source: str, sha: str, branch: str, mr_iid: int | None = None
    ) -> dict[str, JobResult]:
        self.world.runs += 1
        pipeline_id = 500 + self.world.runs
        predefined = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": source,
            "CI_COMMIT_SHA": sha,
            "CI_DEFAULT_BRANCH": "main",
            "CI_PROJECT_ID": str(self.api.project_id),
            "CI_PROJECT_PATH": self.path,
            "CI_API_V4_URL": f"{self.api.url}/api/v4",
            "CI_PIPELINE_ID": str(pipeline_id),
        }
        if mr_iid is not None:
            predefined.update(CI_MERGE_REQUEST_IID=str(mr_iid), CI_COMMIT_REF_NAME=branch)
        else:
            predefined.update(CI_COMMIT_BRANCH=branch, CI_COMMIT_REF_NAME=branch)
        results: dict[str, JobResult] = {}
        blocked = False
        for stage in doc["stages"]:
            for name, raw in doc.items():
                if not isinstance(raw, dict) or name.startswith(".") or "script" not in raw:
                    continue
                if raw.get("stage", "test") != stage:
                    continue
                job = resolve_gitlab_job(doc, name)
                env = {**self.variables, **predefined}
                rule = matching_rule(job, env)
                always = rule is not None and rule.get("when") == "always"
                if rule is None or (blocked and not always):
                    results[name] = JobResult(name, ran=False)
                    continue
                needed = [r for r in results.values() if r.name in _needs(job)]
                for key, node in parallel_instances(name, job):
                    results[key] = self._job(
                        name, job, doc, {**env, **node}, sha, branch, pipeline_id, needed
                    )
                    blocked = blocked or not results[key].ok
        ran = [r for r in results.values() if r.ran]
        status = "success" if all(r.ok for r in ran) else "failed"
        self.api.record_pipeline(pipeline_id, sha, status, mr_iid, ran)
        return results

    def _job(
        self,
        name: str,
        job: dict[str, Any],
        doc: dict[str, Any],
        env: dict[str, str],
        sha: str,
        branch: str,
        pipeline_id: int,
        needed: list[JobResult],
    ) -> JobResult:
        workspace = self.world.workspace(sha)
        for earlier in needed:  # `needs:` downloads the needed jobs' artifacts
            for folder in earlier.artifacts.values():
                shutil.copytree(folder, workspace, dirs_exist_ok=True)
        env = {**self.world.base_env(), **env, "CI_PROJECT_DIR": str(workspace)}
        env["CI_JOB_URL"] = f"https://gitlab.example/{self.path}/-/jobs/{pipeline_id}"
        for level in (doc.get("variables", {}), job.get("variables", {})):
            for key, value in level.items():
                env[key] = expand(str(value), env)
        subject = f"project_path:{self.path}:ref_type:branch:ref:{branch}"
        for token, spec in job.get("id_tokens", {}).items():
            env[token] = fake_jwt({"sub": subject, "aud": spec["aud"]})
        script = "\n".join([*job.get("before_script", []), *job["script"]])
        code, log = run_bash(script, workspace, env, "-eo pipefail")
        allowed = job.get("allow_failure", {})
        if code == 0:
            status = "success"
        elif allowed is True or (
            isinstance(allowed, dict) and code in allowed.get("exit_codes", [])
        ):
            status = "allowed_failure"
        else:
            status = "failed"
        shown = (
            f"{name} {env['CI_NODE_INDEX']}/{env['CI_NODE_TOTAL']}" if "parallel" in job else name
        )
        result = JobResult(name, ran=True, exit_code=code, status=status, log=log)
        artifacts = job.get("artifacts", {})
        when = artifacts.get("when", "on_success")
        if when == "always" or (when == "on_success") == (status != "failed"):
            paths = [*artifacts.get("paths", []), *artifacts.get("reports", {}).values()]
            target = self.world.root / "artifacts" / f"{pipeline_id}-{shown.replace('/', '-')}"
            for pattern in paths:
                for path in workspace.glob(pattern):
                    relative = path.relative_to(workspace)
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / relative)
            if target.exists():
                result.artifacts[shown] = target
        return result
