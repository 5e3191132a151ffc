"""The layout shows the flow: sw -> hw -> gen -> sim (-> flow), read from the source with ``ast``.

The packages are read from pyproject.toml's ``[tool.setuptools.package-dir]`` (each maps an
installed package such as ``ipnet_mtj.sw`` to a folder of the repository). Their stage is the
position of the package's last name in ``STAGES``; a package not in that list is a stage after
all of them. Every import of every module counts, also those inside functions: ``import
ipnet_mtj.x.y``, ``from ipnet_mtj.x import y``, ``from . import y``, ``from ..x import name``.
An import names a module of the package when it names the module itself, or a name that is a
submodule of it (``from . import fixed``); a name that is not a submodule is taken from the
module it is imported from.

Checked, each by its own test whose message lists the offenders:

- no import cycles among the modules (each cycle's modules are listed);
- no import from a later stage into an earlier one;
- no private name (``_name``, not a dunder) imported from a module of another (sub)package;
- no module over ``MAX_LINES`` lines, unless its docstring has a paragraph beginning
  ``Why this module is long:`` followed by the reason.

Each check is shown to fail on a small synthetic package written to a temporary folder.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The flow's stage order, earliest first. A package whose last name is not here comes after.
STAGES = ("sw", "hw", "gen", "sim", "flow")
MAX_LINES = 400
LONG_REASON = "Why this module is long:"


@dataclass
class Module:
    name: str                 # dotted, e.g. ipnet_mtj.sw.config
    path: Path
    top: str                  # the package of pyproject's package-dir, e.g. ipnet_mtj.sw
    is_package: bool          # an __init__.py
    tree: ast.Module
    lines: int

    @property
    def package(self):
        """The (sub)package the module belongs to: itself for an __init__.py."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass
class Layout:
    root: Path
    modules: dict[str, Module]
    stages: dict[str, int]                               # top package -> stage index
    edges: dict[str, set[str]] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)     # "module imports _name from module"


def package_dirs(root):
    """{installed package: folder} from pyproject.toml's [tool.setuptools.package-dir]."""
    data = tomllib.loads((Path(root) / "pyproject.toml").read_text())
    dirs = data["tool"]["setuptools"]["package-dir"]
    return {pkg: Path(root) / folder for pkg, folder in dirs.items()}


def stage_of(top):
    last = top.rpartition(".")[2]
    return STAGES.index(last) if last in STAGES else len(STAGES)


def read_modules(root):
    modules = {}
    for top, folder in package_dirs(root).items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = list(rel.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([top, *parts])
            text = path.read_text()
            modules[name] = Module(name, path, top, is_package, ast.parse(text, str(path)),
                                   len(text.splitlines()))
    return modules


def known(modules, dotted):
    """The module of the package that ``dotted`` names: itself, or its longest known prefix."""
    while dotted:
        if dotted in modules:
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def absolute(module, node):
    """The absolute dotted name a ``from ... import`` statement imports from."""
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    if node.level > 1:
        base = base[:-(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def build_layout(root):
    """The import graph of the packages under ``root`` and the private names crossing packages."""
    modules = read_modules(root)
    layout = Layout(Path(root), modules, {m.top: stage_of(m.top) for m in modules.values()})
    for mod in modules.values():
        targets = layout.edges.setdefault(mod.name, set())
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = known(modules, alias.name)
                    if target:
                        targets.add(target)
            elif isinstance(node, ast.ImportFrom):
                source = absolute(mod, node)
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    target = sub if sub in modules else known(modules, source)
                    if target is None:
                        continue
                    targets.add(target)
                    origin = modules[target]
                    if is_private(alias.name) and origin.package != mod.package:
                        layout.private.append(
                            f"{mod.name} imports {alias.name} from {source}")
        targets.discard(mod.name)
    return layout


def cycles(layout):
    """Each import cycle as the sorted list of its modules (Tarjan's strongly connected
    components with more than one module)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        # iterative, so a long chain of imports cannot exceed the recursion limit
        work = [(v, iter(sorted(layout.edges.get(v, ()))))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(layout.edges.get(w, ())))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for v in sorted(layout.edges):
        if v not in index:
            visit(v)
    return sorted(found)


def upward_imports(layout):
    """``importer -> imported`` where the imported module's stage is later than the importer's."""
    out = []
    for name, targets in sorted(layout.edges.items()):
        mine = layout.stages[layout.modules[name].top]
        for target in sorted(targets):
            theirs = layout.stages[layout.modules[target].top]
            if theirs > mine:
                out.append(f"{name} ({layout.modules[name].top}) imports {target} "
                           f"({layout.modules[target].top})")
    return out


def gives_reason(tree):
    """Whether the module's docstring has a paragraph ``Why this module is long: <reason>``."""
    doc = ast.get_docstring(tree) or ""
    for paragraph in re.split(r"\n\s*\n", doc):
        paragraph = paragraph.strip()
        if paragraph.startswith(LONG_REASON) and paragraph[len(LONG_REASON):].strip():
            return True
    return False


def long_modules(layout, limit=MAX_LINES):
    return [f"{m.path.relative_to(layout.root)} ({m.lines} lines)"
            for m in sorted(layout.modules.values(), key=lambda m: m.name)
            if m.lines > limit and not gives_reason(m.tree)]


def listing(lines):
    return "\n  " + "\n  ".join(str(line) for line in lines)


@pytest.fixture(scope="module")
def layout():
    return build_layout(ROOT)


def test_the_packages_are_read(layout):
    """Guards the other checks against passing on nothing: the graph has the known stages and
    the imports between them."""
    assert {"ipnet_mtj.sw", "ipnet_mtj.hw", "ipnet_mtj.gen", "ipnet_mtj.sim"} <= set(layout.stages)
    assert any(t.startswith("ipnet_mtj.sw.") for t in layout.edges["ipnet_mtj.hw.neuron_unit"])
    assert "ipnet_mtj.hw.lint_waivers" in layout.edges["ipnet_mtj.gen.axis"]
    assert sum(len(t) for t in layout.edges.values()) > 100


def test_no_import_cycles(layout):
    found = cycles(layout)
    assert not found, "import cycles (each line: the modules of one cycle):" + listing(
        " <-> ".join(c) for c in found)


def test_no_import_from_a_later_stage(layout):
    found = upward_imports(layout)
    assert not found, (f"imports against the stage order {' -> '.join(STAGES)}:" + listing(found))


def test_no_private_names_across_packages(layout):
    assert not layout.private, ("private names imported from another package (make them public "
                                "or move them):" + listing(layout.private))


def test_no_oversized_modules(layout):
    found = long_modules(layout)
    assert not found, (f"modules over {MAX_LINES} lines without a docstring paragraph "
                       f"'{LONG_REASON} ...':" + listing(found))


# -- each check can fail: a synthetic package with one offender of each kind --------------------

SYNTHETIC = {
    "pyproject.toml": '[tool.setuptools.package-dir]\n"pkg.sw" = "sw"\n"pkg.hw" = "hw"\n'
                      '"pkg.tool" = "tool"\n',
    "sw/__init__.py": "",
    "sw/a.py": "from .b import thing\n",
    "sw/b.py": "def thing():\n    from pkg.sw import a\n    return a\n",
    "sw/up.py": "import pkg.hw.core\n",
    "sw/sub/__init__.py": "",
    "sw/sub/helpers.py": "_secret = 1\n__version__ = '1'\n",
    "sw/sub/same.py": "from .helpers import _secret\nfrom . import helpers\n",
    "hw/__init__.py": "",
    "hw/core.py": "from ..sw.sub.helpers import _secret, __version__\n",
    "hw/late.py": "def run():\n    from pkg.tool import main\n    return main\n",
    "tool/__init__.py": "",
    "tool/main.py": "from pkg.hw import core\nfrom pkg.sw.sub import helpers\n",
    "sw/long.py": '"""Long.\n\nNo reason given."""\n' + "x = 1\n" * 400,
    "sw/long_ok.py": f'"""Long.\n\n{LONG_REASON} one table of constants.\n"""\n' + "x = 1\n" * 400,
    "sw/long_empty.py": f'"""Long.\n\n{LONG_REASON}\n"""\n' + "x = 1\n" * 400,
}


@pytest.fixture
def synthetic(tmp_path):
    for rel, text in SYNTHETIC.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return build_layout(tmp_path)


def test_checker_reports_a_cycle(synthetic):
    assert cycles(synthetic) == [["pkg.sw.a", "pkg.sw.b"]]
    with pytest.raises(AssertionError, match=r"pkg\.sw\.a <-> pkg\.sw\.b"):
        test_no_import_cycles(synthetic)


def test_checker_reports_an_upward_import(synthetic):
    # sw -> hw is upward; hw -> tool is upward too, since an unknown package comes last
    assert upward_imports(synthetic) == [
        "pkg.hw.late (pkg.hw) imports pkg.tool.main (pkg.tool)",
        "pkg.sw.up (pkg.sw) imports pkg.hw.core (pkg.hw)"]
    assert stage_of("pkg.tool") == len(STAGES) > stage_of("pkg.sim") > stage_of("pkg.sw")
    with pytest.raises(AssertionError, match=r"pkg\.sw\.up \(pkg\.sw\) imports pkg\.hw\.core"):
        test_no_import_from_a_later_stage(synthetic)


def test_checker_reports_a_private_import(synthetic):
    # the same subpackage may share a private name; a dunder is not private
    assert synthetic.private == ["pkg.hw.core imports _secret from pkg.sw.sub.helpers"]
    with pytest.raises(AssertionError, match="_secret"):
        test_no_private_names_across_packages(synthetic)


def test_checker_reports_a_long_module(synthetic):
    found = long_modules(synthetic)
    assert [Path(f.split(" (")[0]).name for f in found] == ["long.py", "long_empty.py"]
    with pytest.raises(AssertionError, match=r"long\.py \(403 lines\)"):
        test_no_oversized_modules(synthetic)


def test_checker_resolves_relative_and_submodule_imports(synthetic):
    assert synthetic.edges["pkg.sw.sub.same"] == {"pkg.sw.sub.helpers"}
    assert synthetic.edges["pkg.hw.core"] == {"pkg.sw.sub.helpers"}
    assert synthetic.edges["pkg.hw.late"] == {"pkg.tool.main"}
    assert synthetic.edges["pkg.tool.main"] == {"pkg.hw.core", "pkg.sw.sub.helpers"}
    assert synthetic.edges["pkg.sw.b"] == {"pkg.sw.a"}       # inside a function
