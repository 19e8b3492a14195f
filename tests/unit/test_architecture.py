"""Architecture rules over the whole package (issue 17): no import cycle among its modules, and
each rule the layers share (reconciler.core.rules) has one definition, not a copy per layer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"

# --- no import cycle ----------------------------------------------------------------------

KNOWN_CYCLE_EDGES: frozenset[tuple[str, str]] = frozenset()
"""Import edges of cycles that existed before this test; every other cycle fails it."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import in the tree, at module level or inside functions, but not under
    `if TYPE_CHECKING:` (those never run)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [node]
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        return [n for child in node.orelse for n in _import_nodes(child)]
    return [n for child in ast.iter_child_nodes(node) for n in _import_nodes(child)]


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(
    node: ast.Import | ast.ImportFrom, importer: str, path: Path, known: set[str]
) -> set[str]:
    """The package's modules an import statement loads, named as specifically as they exist."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        module = _absolute(node, importer, path.name == "__init__.py")
        names = [
            f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
            for alias in node.names
        ]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        edges = {t for n in _import_nodes(tree) for t in _targets(n, name, path, known)}
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, deterministic)."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> list[str] | None:
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        on_stack.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle_but_the_known_ones() -> None:
    graph = {
        module: {t for t in targets if (module, t) not in KNOWN_CYCLE_EDGES}
        for module, targets in import_graph().items()
    }
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_known_cycle_edge_still_exists() -> None:
    """An allow-listed edge that is gone must leave the list, so it cannot hide a new cycle."""
    graph = import_graph()
    assert [e for e in sorted(KNOWN_CYCLE_EDGES) if e[1] not in graph.get(e[0], set())] == []


def test_the_cycle_finder_finds_a_cycle_and_the_graph_sees_function_level_imports() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from reconciler.spec import models\n"
        "def f():\n    from reconciler.plan import guards\n"
    )
    known = {"reconciler.spec.models", "reconciler.plan.guards", "reconciler.plan"}
    found = {
        t for n in _import_nodes(tree) for t in _targets(n, "reconciler.x", Path("x.py"), known)
    }
    assert found == {"reconciler.plan.guards"}


# --- each shared rule has one definition --------------------------------------------------

RULE_COPIES: dict[str, tuple[re.Pattern[str], ...]] = {
    "is this the service key (core.rules.is_service_key)": (
        re.compile(r"""[=!]=\s*["']ServiceKey["']"""),
        re.compile(r"""["']ServiceKey["']\s*(?:[=!]=|if\b)"""),
        re.compile(r"""\bin\s*\(\s*["']ServiceKey["']"""),
        re.compile(r"key_id\s*[=!]=\s*[\w.]*service"),
    ),
    "KMS key-state names (core.rules.key_state_name)": (
        re.compile(r"""["']PendingDeletion["']\s*:\s*["']pending-deletion["']"""),
        re.compile(r"""["']Enabled["']\s*:\s*["']enabled["']"""),
    ),
    "the managed tags (core.rules.managed_tags, user_tags)": (
        re.compile(r"""startswith\(\s*["']acs:["']\s*\)"""),
    ),
    "the account of an ARN (core.rules.account_of_arn)": (
        re.compile(r"""split\(\s*["']:["']\s*\)\s*\[\s*3\s*\]"""),
        re.compile(r"""arn\w*\s*\.split\(\s*["']:["']"""),
    ),
    "rotation interval seconds <-> days (core.rules.rotation_days, rotation_interval)": (
        re.compile(r"\b86_?400\b"),
        re.compile(r"""rstrip\(\s*["']s["']\s*\)"""),
    ),
}
"""Telltales of a copy of a rule that reconciler.core.rules defines once."""

NOT_COPIES: dict[tuple[str, str], str] = {
    (
        "kinds/kms_key/writes.py",
        'if {k: v for k, v in tags.items() if k in wanted or not k.startswith("acs:")} == wanted',
    ): "a lost CreateKey's key is found by the tags of the request itself, acs: ones included",
}
"""(file, line) -> why the line matches a telltale but is another rule."""

OUTSIDE = ("emulator", "core")
"""The emulator models the cloud on its own (it imports nothing from the rest); core is the
one home of the rules."""


def copies_in(text: str) -> list[tuple[str, int, str]]:
    """(rule, line number, line) for every line of `text` that looks like a copy of a rule."""
    return [
        (rule, number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        for rule, patterns in RULE_COPIES.items()
        if any(p.search(line) for p in patterns)
    ]


def test_each_shared_rule_has_one_definition() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {rule}: {line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in OUTSIDE
        for rule, number, line in copies_in(path.read_text())
        if (str(path.relative_to(PACKAGE)), line) not in NOT_COPIES
    ]
    assert found == [], "use reconciler.core.rules instead:\n" + "\n".join(found)


def test_every_exception_to_one_definition_still_exists() -> None:
    for (file, line), why in NOT_COPIES.items():
        assert line in (PACKAGE / file).read_text(), f"{file}: gone ({why}): drop it from the list"


def test_the_scanner_finds_each_rule_copied_as_it_was() -> None:
    """The copies this test replaced, as they were written: each must still be caught."""
    samples = {
        'if enc.key_type == "ServiceKey" or enc.key_id == observed.service_keys.get(r):': 0,
        'key_type = "ServiceKey" if enc.key_id == service_id else "CMK"': 0,
        'if key_type not in ("ServiceKey", "CMK"):': 0,
        "if enc.key_type is None and enc.key_id == service_keys.id(region):": 0,
        '_KEY_STATES = {"Enabled": "enabled", "Disabled": "disabled"}': 1,
        '    "PendingDeletion": "pending-deletion",': 1,
        'return {k: v for k, v in tags.items() if not k.lower().startswith("acs:")}': 2,
        'account = arn.split(":")[3] if arn.count(":") >= 4 else None': 3,
        'parts = arn.split(":")  # acs:ram::<account>:role/<name>': 3,
        'days = int(str(interval).rstrip("s")) // 86_400': 4,
        "return f\"{int(rotation['interval_days']) * 86400}s\"": 4,
    }
    rules = list(RULE_COPIES)
    for sample, rule in samples.items():
        assert {r for r, _, _ in copies_in(sample)} == {rules[rule]}, sample
    assert copies_in("account = account_of_arn(arn)\nif observed.on_service_key(i):") == []


def test_core_imports_nothing_of_the_package_but_core_and_does_no_io() -> None:
    """core sits below every layer (each may import it without a cycle) and is pure; its
    modules may use each other (the fact models use the shared rules)."""
    graph = import_graph()
    io = ("os", "io", "socket", "http", "urllib", "time", "datetime", "pathlib", "alibabacloud")
    for path in sorted((PACKAGE / "core").glob("*.py")):
        name = _module_name(path)
        outside = {t for t in graph[name] if not t.startswith("reconciler.core")}
        assert outside == set(), f"{name} imports {sorted(outside)}"
        roots = {
            (a.name if isinstance(n, ast.Import) else n.module or "").split(".")[0]
            for n in _import_nodes(ast.parse(path.read_text()))
            for a in n.names
        }
        assert not roots & set(io), f"{name} imports {sorted(roots & set(io))}"
        assert "open(" not in path.read_text(), f"{name} opens files"


# --- cloud/ sits below state/ and every layer that plans or writes -------------------------

CLOUD_MAY_IMPORT = (
    "reconciler.cloud",
    "reconciler.core",
    "reconciler.errors",
    "reconciler.cancellation",
    "reconciler.emulator.server",
)
"""The adapters return core's fact models; `--emulator` starts the emulator (cloud/session.py,
lazily). Nothing that observes, plans, applies, reports, knows a kind or prints."""


def test_cloud_imports_only_core_errors_cancellation_and_the_emulator() -> None:
    """cloud/ returns fact models that live below it (core.facts), so state/ sits above cloud/
    only; an adapter that imports state, plan, apply, drift, app, cli or kinds fails here."""
    graph = import_graph()
    found = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == "reconciler.cloud" or module.startswith("reconciler.cloud.")
        for target in targets
        if not any(target == a or target.startswith(a + ".") for a in CLOUD_MAY_IMPORT)
    )
    assert found == [], "cloud/ imports above itself:\n" + "\n".join(found)


# --- the use cases print nothing; the CLI goes through them --------------------------------

PRINTERS = ("click", "rich", "reconciler.cli")
"""What prints or prompts: the use cases import none of it."""


def test_the_use_cases_print_nothing() -> None:
    """app/ raises and reports through callbacks; only cli/ prints, prompts or exits."""
    for path in sorted((PACKAGE / "app").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {
            a.name if isinstance(n, ast.Import) else n.module or ""
            for n in _import_nodes(tree)
            for a in n.names
        }
        bad = sorted(m for m in imported if m.split(".")[0] in PRINTERS or m.startswith(PRINTERS))
        assert bad == [], f"app/{path.name} imports {bad}"
        calls = {
            n.func.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        assert not calls & {"print", "input", "exit"}, f"app/{path.name} prints or exits"


def test_no_module_of_the_package_goes_through_the_workflow_facade() -> None:
    """reconciler/workflow.py only re-exports reconciler.app for older callers (tests)."""
    graph = import_graph()
    users = sorted(m for m, targets in graph.items() if "reconciler.workflow" in targets)
    assert users == [], f"import reconciler.app instead: {users}"


COMMANDS = ("apply", "drift", "emulator", "importer", "permissions", "plan", "spec")
"""cli/ modules that define commands; what they share lives in cli/run.py and its siblings."""


def test_no_command_imports_another_commands_module() -> None:
    """A helper two commands need goes to cli/run.py, not borrowed from one command (as apply,
    drift and import once borrowed plan's connection and drift's cloud target)."""
    graph = import_graph()
    commands = {f"reconciler.cli.{name}" for name in COMMANDS}
    borrowed = sorted(
        f"{module} -> {target}" for module in commands for target in graph[module] & commands
    )
    assert borrowed == []


# --- only reconciler/kinds knows a resource kind --------------------------------------------

ADDRESS_PREFIXES = (
    "rds_encryption",
    "rds_tde",
    "kms_key",
    "ram_policy",
    "ram_role",
    "ram_attachment",
)
"""Every address prefix today (reconciler.kinds.PREFIXES must list the same: a test says so)."""

KINDS_HOME = ("kinds", "emulator")
"""reconciler/kinds is the one home of the kinds; the emulator models the cloud on its own."""


def _names_a_kind(node: ast.AST) -> bool:
    """A string literal that is an address prefix, a stem of one (`ram_`), or a prefix with
    its dot (`rds_encryption.`, `kms_key.x`): what code that dispatches on a kind compares
    with. A tuple, list or set of them too."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_kind(e) for e in node.elts)
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or not node.value:
        return False
    text = node.value
    return any(
        text == p or text.startswith(p + ".") or (text.endswith("_") and p.startswith(text))
        for p in ADDRESS_PREFIXES
    )


def dispatches_on_a_prefix(source: str) -> list[int]:
    """Line numbers where `source` dispatches on an address prefix: compares with
    (`==`, `!=`, `in`), starts with or strips such a literal, or keys a table by one. Building
    an address (f"ram_role.{name}", "ram_role." + name) is not dispatching."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            if any(_names_a_kind(n) for n in [node.left, *node.comparators]):
                found.add(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            tests = ("startswith", "endswith", "removeprefix", "get", "index")
            if node.func.attr in tests and any(_names_a_kind(a) for a in node.args):
                found.add(node.lineno)
        elif isinstance(node, ast.Dict):
            if any(k is not None and _names_a_kind(k) for k in node.keys):
                found.add(node.lineno)
        elif isinstance(node, ast.match_case) and any(
            _names_a_kind(n.value) for n in ast.walk(node.pattern) if isinstance(n, ast.MatchValue)
        ):
            found.add(node.pattern.lineno)
    return sorted(found)


def test_no_module_outside_kinds_dispatches_on_an_address_prefix() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {path.read_text().splitlines()[line - 1].strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in KINDS_HOME
        for line in dispatches_on_a_prefix(path.read_text())
    ]
    assert found == [], "ask reconciler.kinds.kind_of(address) instead:\n" + "\n".join(found)


def test_the_prefix_scanner_finds_the_dispatches_this_test_replaced() -> None:
    """The dispatch sites the registry replaced, as they were written, are each caught; what
    builds an address or splits a host name or an action is not."""
    caught = [
        'if not change.address.startswith("rds_encryption."):\n    pass',
        'if kind.startswith("ram_"):\n    pass',
        'kind = address.split(".", 1)[0]\nif kind == "kms_key":\n    pass',
        'kind, _, name = address.partition(".")\nkey = keys.get(name) if kind == "kms_key" else 0',
        '_KIND_RANK = {"ram_policy": 0, "ram_role": 1}',
        'if address.split(".", 1)[0] in ("ram_policy", "ram_role"):\n    pass',
        'wanted = str(after.get("key_address")).removeprefix("kms_key.")',
        'match kind:\n    case "ram_attachment":\n        pass',
    ]
    for sample in caught:
        assert dispatches_on_a_prefix(sample) != [], sample
    not_caught = (
        'address = f"ram_policy.{ram.policy}"\n'
        'locations["ram_role." + str(role)] = where\n'
        'service, _, action = "ram:CreateRole".partition(":")\n'
        'host, _, rest = "kms.cn-hangzhou.aliyuncs.com".partition(".")\n'
        'name = address.partition(".")[2]\n'
        'where = locations.get("ram")\n'
    )
    assert dispatches_on_a_prefix(not_caught) == []


def test_the_scanner_knows_every_prefix_of_the_registry() -> None:
    from reconciler.kinds import PREFIXES

    assert sorted(PREFIXES) == sorted(ADDRESS_PREFIXES)
