"""Paths -> files -> one merged, validated Spec plus a source map; or every problem at once.

A path is a file or a folder (see files.py for what a folder holds). Files merge: `kms_keys`
and `instances` are unions (the same name in two files is an error, reported at both places);
`version`, `defaults` and `ram` may be set in several files only with identical values, and
`version` must be set in one of them.

`load_spec` loads everything it is given as one configuration (what `plan` and `apply` act on);
`load_configurations` is what `validate` runs: each folder named on its own, the files named
together as one, and also the checks the planner would otherwise refuse later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.core.collector import collector_paused
from reconciler.errors import Diagnostic, SpecError
from reconciler.spec import checks, key_refs
from reconciler.spec.accounts import account_problems
from reconciler.spec.files import configurations, expand
from reconciler.spec.messages import diagnostics_for
from reconciler.spec.models import DEFAULT_POLICY, DEFAULT_ROLE, Spec
from reconciler.spec.regions import region_problem
from reconciler.spec.scalars import shown
from reconciler.spec.source import Location, ParsedFile, read_file


@dataclass(frozen=True)
class LoadedSpec:
    """The merged Spec, the files it came from, and where every resource and field was written.

    `locations` maps resource addresses (`kms_key.<name>`, `rds_encryption.<instance id>`,
    `ram_role.<name>`, `ram_policy.<name>`) and dotted field paths
    (`instances.<id>.encryption.key`, `kms_keys.<name>.rotation.interval_days`, `defaults`) to
    the line that set them, so later stages can point a refusal at the YAML.
    """

    spec: Spec
    locations: dict[str, Location] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    fleets: Any = None
    """Once the fleets are read (app/fleets.py): their `Expansion`, whose spec is `spec` and
    which keeps the spec as written (`written`), each added instance's fleet and the fleets'
    refusals and warnings. None: not expanded (or no fleet)."""
    written: Spec | None = None
    """The spec as the files wrote it, when `spec` is the fleets' expansion of it."""

    def as_written(self) -> Spec:
        """The spec of the files (its digest is the plan's `spec_digest`)."""
        return self.written or self.spec

    def where(self, address: str) -> Location | None:
        """The location of an address or dotted field path, if the spec wrote it."""
        return self.locations.get(address)


@dataclass(frozen=True)
class Configuration:
    """One configuration of `validate PATH...` and what loading it found.

    `paths` are the arguments it came from: one folder, or every non-folder path named (files
    given together form one configuration). Exactly one of `loaded` and `diagnostics` is set.
    """

    paths: tuple[str, ...]
    loaded: LoadedSpec | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def valid(self) -> bool:
        return self.loaded is not None


def load_configurations(
    paths: Sequence[str | Path], *, default_region: str | None = None, together: bool = False
) -> list[Configuration]:
    """Validate each configuration named by `paths` on its own; never raises SpecError.

    A folder is one configuration; all the other paths (files, missing paths) together are one
    more, placed where the first of them was named. Each is loaded as `load_spec(...,
    planner_checks=True)` would, so it also reports what the planner would refuse from the spec
    alone. `default_region` is the `--region` option, as for load_spec. `together`: every
    path as one configuration, as plan loads them (validate's default).
    """
    found = []
    groups = [tuple(paths)] if together else configurations(paths)
    for group in groups:
        names = tuple(str(p) for p in group)
        try:
            loaded = load_spec(group, default_region=default_region, planner_checks=True)
        except SpecError as error:
            found.append(Configuration(names, None, tuple(error.diagnostics)))
        else:
            found.append(Configuration(names, loaded))
    return found


def load_spec(
    paths: Sequence[str | Path],
    *,
    default_region: str | None = None,
    planner_checks: bool = False,
) -> LoadedSpec:
    """Load, merge and validate spec files as one configuration.

    `default_region` (the `--region` option) fills `defaults.region` where no file sets it.
    `planner_checks` also refuses, as spec errors, what the planner would refuse from the spec
    alone (checks.planner_refusals: a kms_keys entry of another region than its instance, or
    not enabled, or asked to be deleted while deletion-protected); `plan` leaves them to the
    planner, which reports them as refusals in the plan. Raises SpecError carrying every problem.
    """
    with collector_paused():
        return _load_spec(paths, default_region, planner_checks)


def _load_spec(
    paths: Sequence[str | Path], default_region: str | None, planner_checks: bool
) -> LoadedSpec:
    problems: list[Diagnostic] = []
    parsed = [read_file(path, name) for path, name in expand(paths, problems)]
    specs: list[Spec | None] = []
    for one in parsed:
        problems.extend(one.diagnostics)
        specs.append(_validate(one, problems) if one.readable else None)
        for earlier in one.earlier:  # each earlier definition of a duplicate key
            _validate(earlier, problems)
    problems.extend(checks.cross_file_problems(parsed))
    if all(one.readable for one in parsed):
        views = [view for one in parsed for view in (one, *one.earlier)]
        problems.extend(checks.dangling_references(views))
        problems.extend(checks.missing_version(parsed))
    if default_region is not None and region_problem(default_region):
        problems.append(Diagnostic("--region", 0, 0, str(region_problem(default_region))))
    if problems:
        raise _spec_error(problems)
    merged = _merge(parsed, [s for s in specs if s is not None], default_region)
    merged = key_refs.with_spec_aliases(merged)
    loaded = LoadedSpec(merged, _source_map(parsed), [one.name for one in parsed])
    later = checks.shared_aliases(merged, loaded.locations)
    later += key_refs.arn_problems(merged, loaded.locations)
    later += account_problems(merged, loaded.locations)
    if planner_checks:
        later += checks.planner_refusals(merged, loaded.locations)
    if later:
        raise _spec_error(later)
    return loaded


def _spec_error(problems: list[Diagnostic]) -> SpecError:
    """Every message on one line, whatever text from the YAML it quotes."""
    return SpecError(
        [
            p if p.message.isprintable() else replace(p, message=shown(p.message, 10**6))
            for p in problems
        ]
    )


def _validate(parsed: ParsedFile, problems: list[Diagnostic]) -> Spec | None:
    try:
        return Spec.model_validate(parsed.data)
    except ValidationError as error:
        problems.extend(diagnostics_for(parsed, error.errors()))
        return None


def _merge(parsed: list[ParsedFile], specs: list[Spec], default_region: str | None) -> Spec:
    if len(specs) == 1:
        merged = specs[0]
    else:
        values: dict[str, Any] = {"kms_keys": {}, "instances": {}, "fleets": {}}
        for one, spec in zip(parsed, specs, strict=True):
            for name in checks.SINGLETONS:
                if name in one.data:
                    values[name] = getattr(spec, name)
            values["kms_keys"].update(spec.kms_keys)
            values["instances"].update(spec.instances)
            values["fleets"].update(spec.fleets)
        merged = Spec(**values)  # sub-models are already validated; pydantic does not redo them
    if default_region is None or "region" in merged.defaults.model_fields_set:
        return merged
    defaults = merged.defaults.model_copy(update={"region": default_region})
    defaults.model_fields_set.add("region")  # named (by --region or the environment)
    return merged.model_copy(update={"defaults": defaults})


def _source_map(parsed: list[ParsedFile]) -> dict[str, Location]:
    locations: dict[str, Location] = {}
    for one in parsed:
        keys = one.keys
        for path, where in one.values.items():
            if path:
                locations[_dotted(path)] = keys.get(path, where)
        data = one.data
        for name in data.get("kms_keys") or {}:
            locations[f"kms_key.{name}"] = one.keys[("kms_keys", name)]
        for name in data.get("instances") or {}:
            locations[f"rds_encryption.{name}"] = one.keys[("instances", name)]
        for name in data.get("fleets") or {}:
            locations[f"fleets.{name}"] = one.keys[("fleets", name)]
        if isinstance(data.get("ram"), dict):
            ram = data["ram"]
            locations["ram_role." + str(ram.get("role", DEFAULT_ROLE))] = one.keys[("ram",)]
            locations["ram_policy." + str(ram.get("policy", DEFAULT_POLICY))] = one.keys[("ram",)]
    return locations


def _dotted(path: tuple[Any, ...]) -> str:
    """`instances.pgm-1.encryption.key`; list indexes as numbers (`regions.0`)."""
    try:
        return ".".join(path)  # the common case: every part a mapping key (text)
    except TypeError:
        return ".".join(map(str, path))
