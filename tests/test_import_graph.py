"""Imports run one way: down the order of the folders (the README's architecture table gives
the same order), with no cycle among tuneyard's modules, imports inside functions and relative
ones included (a cycle or an upward import hidden in a function body is still one in the
design); and an import sits inside a function only to put off a heavy library."""

import ast
import io
import tokenize
import tomllib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# The layers, bottom first; a module imports only from its own layer or the ones below it.
# A folder of src/tuneyard is its layer; the modules at the top of the package are named.
LAYERS = (
    ("tuneyard", "tuneyard.errors", "tuneyard.atomic", "tuneyard.checkpoint", "tuneyard.quiet_import",
     "tuneyard.keras_backend"),
    ("tuneyard.records",),
    ("tuneyard.workloads",),
    ("tuneyard.space",),
    ("tuneyard.store",),
    ("tuneyard.backends",),
    ("tuneyard.analysis",),
    ("tuneyard.engine",),
    ("tuneyard.evaluation",),
    ("tuneyard.report",),
    ("tuneyard.race",),
    ("tuneyard.cli",),
    ("tuneyard.api", "tuneyard.testing", "tuneyard.__main__"),
)
# What an import inside a function may put off (a module of tuneyard counts when it loads
# one of these as it is imported).
HEAVY = frozenset({"tensorflow", "keras", "keras_tuner", "optuna", "pandas", "numpy", "torch", "jax",
                   "matplotlib", "sklearn", "ray", "mlflow", "tensorboard",
                   "IPython"})  # IPython: only in a notebook kernel, where it is loaded already


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "tuneyard").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def targets(name: str, path: Path, node: ast.AST, known: dict) -> list[str]:
    """What one import statement imports: tuneyard modules (relative ones resolved) as they
    are known, other libraries by their top-level name."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([node.module] if node.module else [])])
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out = []
    for target in names:
        if target.split(".")[0] != "tuneyard":
            out.append(target.split(".")[0])
            continue
        while target and target not in known:
            target = target.rpartition(".")[0]
        out.append(target)
    return out


def statements(path: Path) -> list[tuple[ast.AST, ast.AST | None]]:
    """Every import statement of a file, with the function it sits in (None: module level).
    Imports under `if TYPE_CHECKING:` never run and are left out; `__future__` too."""
    tree = ast.parse(path.read_text())
    skip, inside = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                inside.setdefault(id(inner), node) if inner is not node else None
    return [(n, inside.get(id(n))) for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skip
            and getattr(n, "module", None) != "__future__"]


def imported(name: str, path: Path, known: dict) -> set[str]:
    """tuneyard modules that `name` imports anywhere in its body."""
    return {t for node, _ in statements(path) for t in targets(name, path, node, known)
            if t.startswith("tuneyard") and t != name}


def layer(module: str) -> int:
    """The index in LAYERS of a tuneyard module (its folder's, or its own at the top)."""
    for index, names in enumerate(LAYERS):
        if module in names or any(module.startswith(n + ".") for n in names if n != "tuneyard"):
            return index
    raise AssertionError(f"{module} is in no layer: name its folder in LAYERS (and the README)")


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a module to one in a layer above it."""
    return sorted(f"{a} -> {b}" for a, bs in graph.items() for b in bs if layer(b) > layer(a))


def loads(known: dict) -> dict[str, set[str]]:
    """The heavy libraries each module loads as it is imported (its packages' included)."""
    direct = {}
    for name, path in known.items():
        found = [(t, f) for node, f in statements(path) for t in targets(name, path, node, known)]
        direct[name] = {t for t, f in found if f is None and t != name}

    def of(module: str, seen: set) -> set[str]:
        out: set[str] = set()
        parts = module.split(".")
        for whole in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if whole in seen or whole not in direct:
                continue
            seen.add(whole)
            for target in direct[whole]:
                out |= {target} & HEAVY if not target.startswith("tuneyard") else of(target, seen)
        return out

    return {name: of(name, set()) for name in known}


def light_imports_in_functions(known: dict) -> list[str]:
    """Imports inside functions that load no heavy library the module has not loaded already,
    and functions that put off a heavy one with no `# heavy` comment up to their last import."""
    heavy, bad = loads(known), []
    for name, path in known.items():
        text = path.read_text()
        comments = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                    if tok.type == tokenize.COMMENT and "heavy" in tok.string}
        last: dict[ast.AST, int] = {}
        for node, function in statements(path):
            if function is None:
                continue
            last[function] = max(last.get(function, 0), node.end_lineno)
            need = set()
            for target in targets(name, path, node, known):
                need |= heavy[target] if target.startswith("tuneyard") else {target} & HEAVY
            if not need - heavy[name]:
                bad.append(f"{path.relative_to(SRC)}:{node.lineno} imports {ast.unparse(node)!r} "
                           f"inside {function.name}()")
        bad += [f"{path.relative_to(SRC)}:{f.lineno} {f.name}() does not say what is heavy"
                for f, end in last.items() if not comments.intersection(range(f.lineno, end + 1))]
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tuneyard_has_no_import_cycle():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert len(graph) > 40 and graph["tuneyard.engine.sweep"]  # the graph was really read
    assert cycles(graph) == []


def test_the_checker_finds_an_import_up_the_layers():
    graph = {"tuneyard.store.ledger": {"tuneyard.analysis.leaderboard", "tuneyard.records.trial"},
             "tuneyard.records.trial": set()}
    assert upward(graph) == ["tuneyard.store.ledger -> tuneyard.analysis.leaderboard"]


def test_imports_run_down_the_layers():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert "tuneyard.records.trial" in graph["tuneyard.engine.sweep"]  # relative and absolute read
    assert "tuneyard.workloads.base" in graph["tuneyard.workloads.sine"]
    assert upward(graph) == []


def test_the_readme_orders_the_folders_as_the_layers():
    readme = (SRC.parent / "README.md").read_text()
    table = readme[readme.index("## Architecture"):readme.index("## Benchmarks")]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| `")]
    folders = [part.strip(" `/") for row in rows for part in row.split(",")]
    layers = [names[0].removeprefix("tuneyard.") for names in LAYERS[1:-1]]
    assert folders == layers


def test_imports_inside_functions_only_put_off_heavy_libraries():
    assert light_imports_in_functions(modules()) == []


def test_no_shipped_workload_is_named_outside_workloads():
    # Workloads are plug-ins: what the rest of tuneyard needs of one comes through the
    # Workload contract's optional hooks, never through its name.
    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())
    names = set(project["project"]["entry-points"]["tuneyard.workloads"])
    assert "sine_lstm" in names  # the list was really read
    found = [f"{path.relative_to(SRC)}: {name}" for path in (SRC / "tuneyard").rglob("*.py")
             if "workloads" not in path.relative_to(SRC).parts
             for name in sorted(names) if name in path.read_text()]
    assert found == []
