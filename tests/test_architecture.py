"""The layering of the code (DESIGN §8), checked on its import graph.

Every module of the project's packages is parsed, nothing is imported; every import statement counts,
at module level and inside functions (`if TYPE_CHECKING:` imports, which never run, are left out of the
cycle rules only). The rules:

(a) No import cycle between apps:
    - no cycle of modules that spans two packages (two apps, or an app and the portal);
    - between apps, no cycle of dependencies: an app that uses another app's code (services,
      selectors, tasks, anything but its models) is above it, and the other one may use only its
      models in return (foreign keys, querysets, admin inlines: Django relations are two-way);
    - contracts never import licenses (licenses follow contracts through contracts.signals), and the
      catalog (editions) never imports contracts (downloads get the contracts' entitlement plugged in
      by contracts.apps).
(b) No app imports the customer pages, the API root, the URLs or the demo.
(c) The core (portal.core) imports no app, nor those.
(d) A services module never imports its own app's tasks: services enqueue tasks by name
    (portal.core.services.enqueue_on_commit("billing.tasks.invoice_send", …)), and every name given
    there, and in the beat schedule, is a registered task.
(e) An import inside a function says why it is there (a comment on its line or the line above):
    the ones that only dodged cycles are gone.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("customers", "editions", "contracts", "licenses", "billing", "support")
PACKAGES = (*APPS, "portal")
ABOVE_THE_APPS = ("portal.pages", "portal.api", "portal.urls", "portal.demo")

# Never imported, whatever the kind of import: (importing app, imported app, why).
FORBIDDEN = [
    (
        "contracts",
        "licenses",
        "licenses follow contracts through the contracts.signals.contract_ended signal",
    ),
    (
        "editions",
        "contracts",
        "the catalog sits below contracts; the downloads' entitlement is plugged in by contracts.apps",
    ),
]


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported project module
    line: int
    kind: str  # "module", "function" or "typing"
    commented: bool  # a comment on its line or above its block of imports
    implied: bool = False  # a package that runs first (importing a.b.c runs a and a.b)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            files[_module_name(path)] = path
    return files


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str], lines: list[str]) -> None:
        self.module, self.is_package, self.known, self.lines = module, is_package, known, lines
        self.depth = 0
        self.typing = 0
        self.found: list[Import] = []

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            self.typing += 1
            for child in node.body:
                self.visit(child)
            self.typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _resolve(self, name: str) -> str | None:
        """The project module that `name` (a module, or a name in one) is, or None."""
        while name:
            if name in self.known:
                return name
            name = name.rpartition(".")[0]
        return None

    def _add(self, node: ast.stmt, names: list[str]) -> None:
        kind = "typing" if self.typing else "function" if self.depth else "module"
        for name in names:
            target = self._resolve(name)
            if target is None or target == self.module:
                continue
            commented = self._commented(node.lineno)
            self.found.append(Import(self.module, target, node.lineno, kind, commented))
            # Importing a.b.c runs the packages a and a.b first.
            parts = target.split(".")
            for i in range(1, len(parts)):
                package = ".".join(parts[:i])
                if package in self.known and package != self.module:
                    self.found.append(
                        Import(self.module, package, node.lineno, kind, commented, implied=True)
                    )

    def _commented(self, lineno: int) -> bool:
        """A comment on the import's line, or on the line above the block of imports it is in."""
        if "#" in self.lines[lineno - 1]:
            return True
        row = lineno - 2
        while row >= 0 and self.lines[row].lstrip().startswith(("from ", "import ")):
            row -= 1
        return row >= 0 and self.lines[row].lstrip().startswith("#")

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node, [alias.name for alias in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.split(".")
            base = base if self.is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            package = ".".join(base + ([node.module] if node.module else []))
        else:
            package = node.module or ""
        self._add(node, [f"{package}.{alias.name}" for alias in node.names] or [package])


def _imports() -> list[Import]:
    files = _project_files()
    known = set(files)
    found: list[Import] = []
    for module, path in files.items():
        source = path.read_text(encoding="utf-8")
        collector = _Collector(module, path.name == "__init__.py", known, source.splitlines())
        collector.visit(ast.parse(source, filename=str(path)))
        found.extend(collector.found)
    return found


IMPORTS = _imports()


def _app(module: str) -> str:
    return module.split(".")[0]


def _layer(module: str) -> str:
    """An app, or one of the portal's parts (core, pages, demo, the project files)."""
    parts = module.split(".")
    if parts[0] == "portal" and len(parts) > 1 and parts[1] in {"core", "pages", "demo"}:
        return ".".join(parts[:2])
    return parts[0]


def _is_models(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] == "models"


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative; the components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    return components


def _describe(imports: list[Import]) -> str:
    return "\n".join(
        f"  {i.source}:{i.line} imports {i.target} ({i.kind} level)" for i in imports if not i.implied
    )


# --- (a) cycles -----------------------------------------------------------------------------------------


def test_no_module_cycle_spans_two_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        if i.kind != "typing":
            graph[i.source].add(i.target)
    crossing = [c for c in _strongly_connected(graph) if len({_layer(m) for m in c}) > 1]
    details = []
    for component in crossing:
        edges = [i for i in IMPORTS if i.source in component and i.target in component and i.kind != "typing"]
        details.append(_describe([i for i in edges if _layer(i.source) != _layer(i.target)]))
    assert not crossing, "import cycles across packages:\n" + "\n".join(details)


def _app_dependencies() -> list[Import]:
    """Imports by which one app uses another app's code (its models aside)."""
    return [
        i
        for i in IMPORTS
        if i.kind != "typing"
        and not i.implied
        and _app(i.source) in APPS
        and _app(i.target) in APPS
        and _app(i.source) != _app(i.target)
        and not _is_models(i.target)
    ]


def test_apps_depend_on_each_other_one_way():
    dependencies = _app_dependencies()
    graph: dict[str, set[str]] = defaultdict(set)
    for i in dependencies:
        graph[_app(i.source)].add(_app(i.target))
    cycles = _strongly_connected(graph)
    details = [
        _describe([i for i in dependencies if _app(i.source) in c and _app(i.target) in c]) for c in cycles
    ]
    assert not cycles, "apps that use each other's code:\n" + "\n".join(details)


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN)
def test_forbidden_directions(importer, imported, why):
    found = [i for i in IMPORTS if _app(i.source) == importer and _app(i.target) == imported]
    assert not found, f"{importer} must not import {imported} ({why}):\n" + _describe(found)


# --- (b), (c) layers ------------------------------------------------------------------------------------


def _imports_any(source_test, targets: tuple[str, ...]) -> list[Import]:
    return [
        i
        for i in IMPORTS
        if source_test(i.source) and any(i.target == t or i.target.startswith(t + ".") for t in targets)
    ]


def test_apps_never_import_the_pages_the_api_root_the_urls_or_the_demo():
    found = _imports_any(lambda m: _app(m) in APPS, ABOVE_THE_APPS)
    assert not found, "apps importing what sits above them:\n" + _describe(found)


def test_the_core_imports_no_app():
    found = _imports_any(lambda m: m.startswith("portal.core"), (*APPS, *ABOVE_THE_APPS))
    assert not found, "portal.core importing an app or the pages:\n" + _describe(found)


# --- (d) services and tasks -----------------------------------------------------------------------------


def _is_services(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] == "services"


def test_services_never_import_their_own_tasks():
    found = [
        i
        for i in IMPORTS
        if _is_services(i.source)
        and (i.target == f"{_app(i.source)}.tasks" or i.target.startswith(f"{_app(i.source)}.tasks."))
    ]
    assert not found, "services importing their app's tasks (enqueue them by name):\n" + _describe(found)


def _enqueued_task_names() -> list[tuple[str, int, str | None]]:
    """(module, line, task name or None when it is not a string) of every enqueue_on_commit call."""
    calls = []
    for module, path in _project_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name != "enqueue_on_commit":
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                calls.append((module, node.lineno, first.value))
            elif isinstance(first, ast.Name) and first.id in constants:
                calls.append((module, node.lineno, constants[first.id]))
            elif module != "portal.core.jobs":
                calls.append((module, node.lineno, None))
    return calls


def test_tasks_are_enqueued_by_the_name_of_a_registered_task():
    from portal.celery import app
    from portal.schedule import BEAT_SCHEDULE

    app.loader.import_default_modules()
    calls = _enqueued_task_names()
    assert len(calls) > 10  # the walk sees the code
    not_names = [f"  {m}:{line}" for m, line, name in calls if name is None]
    assert not not_names, "enqueue_on_commit() must be given a task's name:\n" + "\n".join(not_names)
    unknown = [f"  {m}:{line} {name}" for m, line, name in calls if name not in app.tasks]
    unknown += [f"  beat: {e['task']}" for e in BEAT_SCHEDULE.values() if e["task"] not in app.tasks]
    assert not unknown, "no registered task has these names:\n" + "\n".join(unknown)


# --- (e) imports inside functions -----------------------------------------------------------------------


def test_imports_inside_functions_say_why():
    silent = [i for i in IMPORTS if i.kind == "function" and not i.commented and not i.implied]
    assert not silent, (
        "imports inside a function: move them to the top of the module, or say why they must stay "
        "(a comment on the line or the one above):\n" + _describe(silent)
    )


# --- the walk itself ------------------------------------------------------------------------------------


def test_the_walk_sees_what_it_checks():
    """Guards the checks above against a walk that finds nothing: the known edges are seen, of each
    kind, and a cycle planted in a copy of the graph is found."""
    pairs = {(i.source, i.target, i.kind) for i in IMPORTS}
    assert ("licenses.services.licensing", "contracts.entitlements", "module") in pairs
    assert ("licenses.apps", "licenses.services.licensing", "function") in pairs
    assert ("billing.services", "billing.services.invoices", "module") in pairs
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        graph[i.source].add(i.target)
    graph["contracts.models"].add(
        "licenses.services.licensing"
    )  # a planted cycle: it imports contracts.models
    assert any({"contracts.models", "licenses.services.licensing"} <= c for c in _strongly_connected(graph))


# --- (f) error codes ------------------------------------------------------------------------------------


def test_error_codes_come_from_each_apps_enum():
    """Every app (and the core, and the pages) has its error-code Enum in errors.py, and no
    ApplicationError is raised with a string literal for a code: the codes on the wire are the Enums'
    values."""
    for package in (*APPS, "portal/core", "portal/pages"):
        assert (ROOT / package / "errors.py").exists(), f"{package}/errors.py is missing"
    literal = []
    for module, path in _project_files().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name != "ApplicationError":
                continue
            code = (
                node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "code"), None)
            )
            if isinstance(code, ast.Constant):
                literal.append(f"  {module}:{node.lineno} {code.value!r}")
    assert not literal, "ApplicationError with a literal code (use the app's errors.py Enum):\n" + "\n".join(
        literal
    )
