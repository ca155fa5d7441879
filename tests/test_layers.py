"""The house's layering, checked: no import cycles, a pure core that imports nothing heavy, training that
never imports evaluation, and no module below the command line that imports a command."""

import ast
import subprocess
import sys
from pathlib import Path

import o3video

PACKAGE = Path(o3video.__file__).parent
CORE = ("o3video.tasks", "o3video.mixes", "o3video.grammar", "o3video.geometry", "o3video.rewards", "o3video.errors",
        "o3video.io", "o3video.stats", "o3video.data.stgr", "o3video.data.vstar")
HEAVY = ("torch", "transformers", "trl", "datasets", "av", "accelerate", "cv2", "matplotlib", "openai")


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return name.removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Every o3video module's o3video imports, at any depth of its code (function-level ones too)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            # a module importing its own package (`o3video.video` from `o3video.video.sampling`) is no cycle
            graph[name] |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_training_never_imports_evaluation_and_only_commands_import_commands():
    graph = import_graph()
    upward = [(m, t) for m, targets in graph.items() for t in targets
              if (m.startswith("o3video.train") and t.startswith("o3video.eval"))
              or (t.startswith("o3video.commands") and not m.startswith(("o3video.commands", "o3video.cli")))]
    assert upward == []


LAB = "o3video.lab"
# The command line is the one layer above both: `o3video demo` and `o3video perception-base` are the lab's commands.
ABOVE_THE_LAB = ("o3video.cli", "o3video.commands")


def lab_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(product module, lab module) for every import of the lab from outside it and the command line."""
    return sorted((m, t) for m, targets in graph.items() for t in targets
                  if (t == LAB or t.startswith(LAB + ".")) and not (m == LAB or m.startswith(LAB + "."))
                  and not m.startswith(ABOVE_THE_LAB))


def test_the_product_never_imports_the_lab():
    assert lab_imports(import_graph()) == []


def test_the_lab_check_finds_a_product_module_that_imports_the_lab():
    graph = {"o3video.construction.pipeline": {"o3video.lab.offline.annotator"}, "o3video.lab.demo.run": {"o3video.io"},
             "o3video.commands.demo": {"o3video.lab.demo"}, "o3video.train.sft": {"o3video.train.common"}}
    assert lab_imports(graph) == [("o3video.construction.pipeline", "o3video.lab.offline.annotator")]


# The model plugin, and the V-STaR task's functions (they strip reasoning as lmms-eval's own scoring loop does).
LMMS_EVAL_IMPORTERS = {"o3video.eval.lmms_model", "o3video.eval.vstar_lmms"}


def test_only_the_lmms_eval_plugin_and_task_import_lmms_eval():
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n.split(".")[0] == "lmms_eval" for n in names):
                importers.add(module_name(path))
    assert importers == LMMS_EVAL_IMPORTERS


def test_the_core_imports_nothing_heavy():
    code = (f"import sys\nfor m in {CORE!r}: __import__(m)\n"
            f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_a_command_whose_extra_is_missing_says_which_extra_to_install(capsys, monkeypatch):
    """Without PyAV (the [video] extra), `o3video frames` names the extra in one line."""
    from o3video.cli import main

    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ModuleNotFoundError, as in a core-only install
    for name in [m for m in sys.modules if m.startswith("o3video.video")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["frames", str(Path(__file__)), "--num", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("o3video frames: needs the [video] extra") and "pip install 'o3video[video]'" in err
