"""Rewrite README.md's output blocks from a real run (`make readme`).

Each block README shows as "captured from a real run" follows a marker line
`<!-- output: SCENE -->`; the fenced block after it is replaced by what SCENE prints now. The
scenes run the real CLI (in-process, the real SDK over HTTP) against emulators in a temporary
folder: the demo world (plan, the refused example, apply, the plan after it, drift) and the
drift world of tests/e2e/drift_world.py. Long outputs are cut the same way every run (a scene
keeps chosen changes, addresses or lines and writes `...` for the rest), so the README stays
readable and the cut is reproducible.

tests/unit/test_readme_outputs.py runs the same generation and fails when README differs
(after normalising what must vary: timestamps, temporary paths, request ids, durations).
After a change of any output: `make readme` (or `.venv/bin/python scripts/regenerate-readme.py`)
and commit README.md. `--check` exits 1 instead of writing when README is out of date.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/e2e's world builders

from reconciler.cli import cli  # noqa: E402

README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- output: ([a-z0-9-]+) -->\n", re.M)
ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "emulator",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-secret",
    "CI": "1",
    "NO_COLOR": "1",
}
APPLY = ("--auto-approve", "--allow-restart", "--allow-irreversible")
FLAGS = {"--emulator", "--endpoint", "--emulator-state"}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit code, what a terminal shows: stdout and stderr as they come) of the CLI."""
    result = CliRunner().invoke(cli, list(args), env=env or ENV, catch_exceptions=False)
    return result.exit_code, result.output


def shown(args: tuple[str, ...]) -> str:
    """The command line as README shows it: without the emulator's state or endpoint."""
    words, skip = [], False
    for word in args:
        if skip:
            skip = False
            continue
        if word in ("--emulator-state", "--endpoint"):
            skip = True
            continue
        words.append(word)
    return "$ reconciler " + " ".join(words)


class Session:
    """One scene's transcript: `$ command`, its output, `$ echo $?` where README shows it.
    `env`: the scene's environment instead of ENV (e.g. other credentials)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.env = env

    def cmd(
        self,
        *args: str,
        echo: bool = False,
        cut: Callable[[str], str] = lambda out: out,
        show: str | None = None,
    ) -> int:
        code, out = run(*args, env=self.env)
        self.lines.append(show or shown(args))
        self.lines.append(cut(out).rstrip("\n"))
        if echo:
            self.lines += ["$ echo $?", str(code)]
        return code

    def text(self) -> str:
        return "\n".join(line for line in self.lines if line != "") + "\n"


# --- cuts: the same every run ---------------------------------------------------------------


def keep_changes(out: str, addresses: list[str]) -> str:
    """A plan's text with only the change blocks of `addresses` and its summary line; `  ...`
    for every run of what is cut (other changes, the warnings)."""
    body, _, summary = out.rstrip("\n").rpartition("\n")
    head, _, rest = body.rstrip("\n").partition("\n\n")
    kept: list[str] = [head]
    for block in rest.split("\n\n"):
        change = re.match(r"  [+~\-] \S+ (\S+)", block)
        if change and change.group(1) in addresses:
            kept.append(block)
        elif not kept[-1].endswith("\n  ..."):
            kept[-1] += "\n  ..."
    text = kept[0]
    for before, block in itertools.pairwise(kept):
        text += ("\n" if before.endswith("\n  ...") else "\n\n") + block
    return text + "\n" + summary


def keep_addresses(out: str, addresses: list[str]) -> str:
    """An apply's progress: each of `addresses`' lines in that order (timing lines dropped),
    `...` between; then the result from `Done:` on."""
    progress, _, done = out.partition("\nDone:\n")
    parts = ["..."]
    for address in addresses:
        lines = [
            line
            for line in progress.splitlines()
            if line.startswith(f"{address}: ") and not re.search(r" (Running|Pending) \(", line)
        ]
        parts += [*lines, "..."]
    return "\n".join(parts[:-1]) + "\n\nDone:\n" + done


def keep_lines(out: str, first_item: bool, prefixes: tuple[str, ...]) -> str:
    """A drift report's text: its first item (when `first_item`) and the lines starting with
    `prefixes`, `...` for what is cut."""
    lines = out.splitlines()
    kept: list[str] = []
    item = [i for i, line in enumerate(lines) if re.match(r"  [A-Z]+ +\w", line)]
    wanted = set(range(0, 2)) if lines else set()
    if first_item and item:
        start = item[0]
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
        wanted |= set(range(start, end))
    wanted |= {i for i, line in enumerate(lines) if line.startswith(prefixes)}
    for i, line in enumerate(lines):
        if i in wanted:
            kept.append(line)
        elif kept and kept[-1] != "..." and line.strip():
            kept.append("...")
    return "\n".join(kept)


def limit_fields(out: str, most: int = 3) -> str:
    """A drift report's text with at most `most` field-change lines per item, then `...`."""
    kept: list[str] = []
    count = 0
    for line in out.splitlines():
        if not line.startswith("  ") or not line.strip():
            count = 0
        is_field = line.startswith("      ") and " -> " in line
        count += is_field
        if is_field and count > most:
            if kept[-1] != "      ...":
                kept.append("      ...")
            continue
        kept.append(line)
    return "\n".join(kept)


# --- scenes ---------------------------------------------------------------------------------


@contextmanager
def workdir() -> Iterator[Path]:
    """A temporary folder holding a copy of specs/, made the working directory."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="reconciler-readme-") as folder:
        work = Path(folder)
        shutil.copytree(ROOT / "specs", work / "specs")
        (work / ".reconciler").mkdir()  # as scripts/demo.sh makes it for the HTML report
        os.chdir(work)
        try:
            yield work
        finally:
            os.chdir(before)


DEMO_PLAN_KEPT = [
    "ram_policy.AliyunRDSInstanceEncryptionRolePolicy",
    "ram_role.AliyunRDSInstanceEncryptionDefaultRole",
    "ram_attachment.AliyunRDSInstanceEncryptionDefaultRole/AliyunRDSInstanceEncryptionRolePolicy",
    "kms_key.rds-legacy",
    "kms_key.rds-prod",
    "rds_encryption.pgm-bp1ded0000000001",
    "rds_tde.pgm-bp1ded0000000001",
]
DEMO_APPLY_KEPT = [
    "ram_policy.AliyunRDSInstanceEncryptionRolePolicy",
    "kms_key.rds-prod",
    "rds_encryption.pgm-bp1ded0000000001",
    "rds_tde.pgm-bp1ded0000000001",
]


def demo_plan(work: Path) -> str:
    s = Session()
    state = str(work / "plan.sqlite")
    s.cmd(
        "--emulator",
        "--emulator-state",
        state,
        "plan",
        "specs/",
        cut=lambda out: keep_changes(out, DEMO_PLAN_KEPT),
    )
    return s.text()


def refusals(work: Path) -> str:
    _, out = run(
        "--emulator", "--emulator-state", str(work / "r.sqlite"), "plan", "specs/examples/refusals"
    )
    return out.rstrip("\n") + "\n"


def demo_apply(work: Path) -> str:
    s = Session()
    fleet = ("--emulator", "--emulator-state", str(work / "fleet.sqlite"))
    s.cmd(*fleet, "apply", "specs/", *APPLY, cut=lambda out: keep_addresses(out, DEMO_APPLY_KEPT))
    s.cmd(*fleet, "plan", "specs/", "--detailed-exitcode", echo=True)
    drift_cut = (
        "Coverage:",
        "Disk encryption and TDE:",
        "In sync",
        "Drift:",
        "Drift report (",
    )
    s.cmd(
        *fleet,
        "drift",
        "specs/",
        "-o",
        ".reconciler/drift-report.html",
        echo=True,
        cut=lambda out: keep_lines(out, True, drift_cut),
    )
    return s.text()


def drift_world(work: Path) -> str:
    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.server import Emulator
    from tests.e2e import drift_world as dw
    from tests.e2e import world

    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        world.outside_the_window(world.with_kms_instances(emu))
        built = dw.build_cmk_world(emu.endpoint)
        world.create_instance(emu.endpoint)  # unencrypted, outside the spec
        dw.new_policy_version(emu.endpoint, dw.widened_document())
        dw.untag_key(emu.endpoint, built.key_id, "acs:rds:instance-encryption")
        shutil.rmtree(work / "specs")
        (work / "specs").mkdir()
        doc = world.in_kms_instances({"version": 1, **built.spec()})
        (work / "specs" / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        s = Session()
        s.cmd(
            "--endpoint",
            emu.endpoint,
            "drift",
            echo=True,
            show="$ reconciler drift",
            cut=limit_fields,
        )
        return s.text()


FLEET_SPEC = "specs/examples/company-fleet"
FLEET_ENV = {
    **ENV,
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "fleet-deployer-key",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "fleet-deployer-secret",
}
"""The company-fleet world's RAM user, which may only assume each account's role."""
FLEET_PLAN_KEPT = [
    "payments/rds_encryption.pgm-bp1pay0000000001",
    "retail/rds_encryption.pgm-wz9ret0000000001",
]


def _new_fleet_instance(endpoint: str) -> str:
    """scripts/demo-fleet-new-instance.py's instance: env=prod, in account retail."""
    import importlib.util

    path = ROOT / "scripts" / "demo-fleet-new-instance.py"
    spec = importlib.util.spec_from_file_location("demo_fleet_new_instance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.create_tagged_instance(endpoint))


def company_fleet(work: Path) -> str:
    """`make demo-fleet`'s steps (scripts/demo-fleet.sh): plan, apply, the empty plan, a new
    tagged instance and the plan that covers it."""
    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.server import Emulator

    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="company-fleet") as emu:
        s = Session(env=FLEET_ENV)
        cloud = ("--endpoint", emu.endpoint)
        s.cmd(*cloud, "plan", FLEET_SPEC, cut=lambda out: keep_changes(out, FLEET_PLAN_KEPT))
        s.cmd(
            *cloud,
            "apply",
            FLEET_SPEC,
            "--auto-approve",
            "--allow-restart",
            cut=lambda out: "...\nDone:\n" + out.partition("\nDone:\n")[2],
        )
        s.cmd(*cloud, "plan", FLEET_SPEC, "--detailed-exitcode", echo=True)
        created = _new_fleet_instance(emu.endpoint)
        s.lines.append(f"$ # a team creates {created} in account retail, tagged env=prod")
        s.cmd(
            *cloud,
            "plan",
            FLEET_SPEC,
            "--detailed-exitcode",
            echo=True,
            cut=lambda out: keep_changes(out, [f"retail/rds_encryption.{created}"]),
        )
        return s.text()


SCENES: dict[str, Callable[[Path], str]] = {
    "demo-plan": demo_plan,
    "refusals": refusals,
    "demo-apply": demo_apply,
    "drift-world": drift_world,
    "company-fleet": company_fleet,
}


def outputs(names: set[str]) -> dict[str, str]:
    """What each named scene prints now, each on a fresh world in a fresh folder."""
    found = {}
    for name in sorted(names):
        if name not in SCENES:
            raise SystemExit(f"README names an unknown output scene {name!r}: {sorted(SCENES)}")
        with workdir() as work:
            found[name] = SCENES[name](work)
    return found


def regenerate(text: str) -> str:
    """`text` (README.md) with every marked block replaced by its scene's output now."""
    made = outputs(set(MARKER.findall(text)))
    out, rest = [], text
    while match := MARKER.search(rest):
        out.append(rest[: match.end()])
        rest = rest[match.end() :]
        if not rest.startswith("```"):
            raise SystemExit(f"<!-- output: {match.group(1)} --> must be followed by a ``` block")
        end = rest.index("\n```\n", 3) + 5
        out.append("```\n" + made[match.group(1)] + "```\n")
        rest = rest[end:]
    return "".join(out) + rest


if __name__ == "__main__":
    now = README.read_text()
    new = regenerate(now)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if new == now else 1)
    README.write_text(new)
