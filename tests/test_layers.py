"""The layers of DESIGN.md, checked on the source: no import of ``hpo`` runs back up.

DESIGN.md draws ``types, budgets <- schedulers <- tuner -> runners -> trainers``, with
search spaces under the schedulers, the study store under the tuner and dashboards,
reports and export reading the store. :data:`LAYERS` is that picture as data, with every
module of ``hpo/`` placed in it; each layer lists the layers it may import (its own is
always allowed). The tests read every import statement of every module with ``ast``:
those at the top, those inside functions (a lazy import is still a dependency) and those
under ``TYPE_CHECKING``.

A private name (``_helper``) is private to its package: another package that needs it asks
the owning module for a public name. A known violation that belongs to another piece of
work is listed in :data:`KNOWN` or :data:`KNOWN_PRIVATE`, with its reason, until it is
fixed; the lists must not outlive the violations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

HPO = ROOT / "hpo"

# layer: the modules it holds, as prefixes ("hpo.runners" is hpo/runners/ and everything
# under it). Bottom of the picture first.
LAYERS: dict[str, tuple[str, ...]] = {
    "errors": ("hpo.errors",),  # the exception base every layer raises from
    # boundary objects, budget arithmetic, Pareto fronts: arithmetic on plain values
    "types": ("hpo.types", "hpo.budgets", "hpo.pareto"),
    "space": ("hpo.space",),  # search spaces
    "samplers": ("hpo.samplers", "hpo._gp"),  # propose configurations from a space
    "schedulers": ("hpo.schedulers",),  # pure ask/tell state machines
    "trainers": ("hpo.function_trial", "hpo.trainer_spec"),  # the trainer contract
    "settings": ("hpo.registry", "hpo.settings"),  # the methods, and settings that build them
    "tables": ("hpo.tables",),  # recorded learning curves and the sampler over their rows
    "runners": ("hpo.runners",),  # execute trials: serial, Ray, the simulator
    "store": ("hpo.store",),  # the study store
    "tuner": ("hpo.tuner", "hpo.recorders"),  # the one loop, and what it records to
    "readers": ("hpo.report", "hpo.dashboard"),  # read the store (and its recorded settings)
    # what builds a tuner and runs it: a study, a simulation, a benchmark, a comparison
    "orchestration": (
        "hpo.launch",
        "hpo.simulate",
        "hpo.quality",
        "hpo.compare",
        "hpo.progress",
        "hpo.table_compare",
    ),
    "service": ("hpo.service",),  # the HTTP service: a tuner per study, the dashboard's routes
    # the front door (hpo.search; hpo.load -> Result, read from a store or a server through
    # hpo.sources) and the service's clients
    "front": ("hpo.api", "hpo.result", "hpo.sources", "hpo.client", "hpo.worker"),
    "cli": ("hpo.cli", "hpo.__main__"),  # a thin shell over all of it
}

# layer: the layers it may import besides itself. Schedulers know no runner, tuner, store
# or Ray; runners know no tuner and nothing above it; the store knows no tuner, runner or
# service; types and budgets know nothing of hpo but its errors.
_BELOW_TUNER = "errors types space samplers schedulers trainers settings tables runners store"
MAY_IMPORT: dict[str, frozenset[str]] = {layer: frozenset(names.split()) for layer, names in {
    "errors": "",
    "types": "errors",
    "space": "errors types",
    "samplers": "errors types space",
    "schedulers": "errors types space samplers",
    "trainers": "errors types space",
    "settings": "errors types space samplers schedulers trainers",
    "tables": "errors types space samplers",
    "runners": "errors types space trainers tables",
    "store": "errors types",
    "tuner": "errors types space samplers schedulers runners store",
    "readers": "errors types space samplers settings store",
    "orchestration": f"{_BELOW_TUNER} tuner",
    "service": f"{_BELOW_TUNER} tuner readers orchestration",
    "front": f"{_BELOW_TUNER} tuner readers orchestration service",
    "cli": f"{_BELOW_TUNER} tuner readers orchestration service front",
}.items()}  # fmt: skip

# The modules that may import Ray: the Ray runner's, whose names start so (hpo/runners/_ray.py
# and its helpers). DESIGN.md: "Ray is imported only inside the Ray runner".
RAY = "hpo.runners._ray"

# (importer, imported): violations known and left to their own change, with the reason.
KNOWN: dict[tuple[str, str], str] = {
    ("hpo.samplers", "hpo.registry"): "make_sampler looks a sampler's name up in the registry, "
    "which builds samplers from hpo.samplers: the lookup belongs in the registry",
}


# (importer, module.name): private names imported from another package, known and left to
# their own change (STYLE.md 19: never a private helper of the store).
KNOWN_PRIVATE: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(HPO.rglob("*.py"))}


def _resolve(name: str, known: set[str]) -> str:
    """The module ``name`` is, or the module it is an attribute of (a class, a function)."""
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every module (of ``hpo``, or a top-level package) that ``module`` imports anywhere."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {_resolve(a.name, known) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # ``from hpo import registry`` imports the module hpo.registry
            out |= {_resolve(f"{source}.{a.name}", known) for a in node.names}
    return out


def _layer_of(module: str) -> str | None:
    best, length = None, -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = layer, len(prefix)
    return best


def _violations() -> list[tuple[str, str, str]]:
    """(importer, imported, why) for every import that the layer table forbids."""
    modules = _modules()
    known = set(modules)
    out = []
    for module, path in modules.items():
        layer = _layer_of(module)
        if layer is None or module == "hpo":  # the package's lazy front (importlib only)
            continue
        allowed = MAY_IMPORT[layer] | {layer}
        for imported in sorted(_imports(module, path, known)):
            if imported.split(".")[0] == "ray" and not module.startswith(RAY):
                out.append((module, imported, "Ray is imported only inside the Ray runner"))
            if imported != "hpo" and not imported.startswith("hpo."):
                continue
            target = _layer_of(imported)
            if imported == "hpo" or target not in allowed:
                out.append((module, imported, f"{layer} may not import {target or 'hpo'}"))
    return out


def _owner(module: str) -> str:
    """Who a private name is private to: its subpackage (``hpo.runners`` for
    hpo/runners/_base.py), or, for a module directly under hpo/, that module."""
    parts = module.split(".")
    if len(parts) > 2 or (HPO / parts[-1]).is_dir():
        return ".".join(parts[:2])
    return module


def _private_imports() -> list[tuple[str, str]]:
    """(importer, module.name) for every private name one package imports from another."""
    modules = _modules()
    out = []
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if not node.module.startswith("hpo.") or node.module not in modules:
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and _owner(node.module) != _owner(module):
                    out.append((module, f"{node.module}.{alias.name}"))
    return out


def test_no_private_name_crosses_a_package() -> None:
    """A helper another package needs gets a public name in the module that owns it."""
    found = [p for p in _private_imports() if p not in KNOWN_PRIVATE]
    assert not found, "\n".join(f"{a} imports {b}" for a, b in found)


def test_known_private_imports_still_exist() -> None:
    stale = [p for p in KNOWN_PRIVATE if p not in _private_imports()]
    assert not stale, f"fixed, so strike from KNOWN_PRIVATE: {stale}"


def test_every_module_has_a_layer() -> None:
    homeless = [m for m in _modules() if m != "hpo" and _layer_of(m) is None]
    assert not homeless, f"place these modules in LAYERS: {homeless}"


def test_the_layer_table_names_only_layers() -> None:
    assert set(MAY_IMPORT) == set(LAYERS)
    for layer, allowed in MAY_IMPORT.items():
        assert allowed <= set(LAYERS), (layer, allowed - set(LAYERS))


def test_no_import_runs_back_up_the_layers() -> None:
    found = [v for v in _violations() if v[:2] not in KNOWN]
    assert not found, "\n".join(f"{a} imports {b}: {why}" for a, b, why in found)


def test_known_violations_still_exist() -> None:
    """When a known violation is fixed, strike it from KNOWN (the list must not lie)."""
    present = {v[:2] for v in _violations()}
    stale = [pair for pair in KNOWN if pair not in present]
    assert not stale, f"fixed, so strike from KNOWN: {stale}"


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("hpo.runners._simulator", "hpo.tuner"),
        ("hpo.schedulers._asha", "hpo.store"),
        ("hpo.store", "hpo.runners"),
        ("hpo.types", "hpo.schedulers"),
        ("hpo.budgets", "hpo.space"),
    ],
)
def test_the_table_forbids_what_design_forbids(importer: str, imported: str) -> None:
    """The rules the picture draws, asked of the table directly (so the check can fail)."""
    layer = _layer_of(importer)
    assert layer is not None
    assert _layer_of(imported) not in MAY_IMPORT[layer] | {layer}
