"""The rooms and their doors, as rules over the import graph (read with ast from the source files, so every
import counts, including those inside functions: a lazy import hides a dependency, it does not remove it).

- knowledge/ never imports Slack or the bot;
- the rooms have an order, and a module imports only its own room or lower ones; the few exceptions are listed
  with the reason for each, and a new one fails the test (as does an exception that is no longer needed);
- no import cycles between modules;
- Slack listeners go through the desks (knowledge/desks/) and never reach the database, the ingestor or the
  records reader themselves; the employees' listeners get no admin desk; bot/ does not reach through a desk into
  its runtime.
"""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a listener may import from knowledge/: the desks, the errors they raise, and the value types they return.
LISTENER_IMPORTS = {"knowledge.desks.employees", "knowledge.desks.admins", "knowledge.desks.sources",
                    "knowledge.desks.privacy", "knowledge.errors", "knowledge.answering.answers",
                    "knowledge.answering.conversations"}
# The employees' listeners (and what they share): their desk only, never an admin's desk or the admin listeners.
EMPLOYEE_LISTENERS = ["messages", "assistant", "commands", "actions", "delivery"]
ADMIN_SIDE = {"knowledge.desks.admins", "knowledge.desks.sources", "knowledge.desks.privacy",
              "knowledge.desks.operations", "bot.listeners.admin"}

# The rooms, lowest first. A module may import its own room and the rooms of lower levels; rooms on one level are
# independent of each other. A room is a package under knowledge/ (or one of its top-level modules); bot/ is one.
LEVELS = [
    {"errors"},                               # what everything may raise
    {"settings"},                             # what everything may read (its errors are errors.py's)
    {"database"},                             # connections, migrations, roles, seals, the audit log
    {"profile"},                              # the company profile: names, places, languages, dates
    {"documents", "search", "people"},        # the knowledge: documents and their search; employee records
    {"answering", "sources", "operations"},   # answering questions; scheduled sources; running the product
    {"runtime"},                              # the composition root: builds each part once, lazily
    {"desks"},                                # what each audience can do, on the runtime's parts
    {"cli"},                                  # the command line
    {"bot"},                                  # the Slack side
]
LEVEL = {room: n for n, rooms in enumerate(LEVELS) for room in rooms}

# Imports the rules above do not allow, each with why it is there. (importer, imported) are modules.
EXCEPTIONS = {
    ("knowledge.documents.ingest", "knowledge.search.embeddings"):
        "ingesting a document embeds its chunks; the embedding model is search's",
    ("knowledge.documents.ingest", "knowledge.search.sentences"):
        "a passage's sentences are embedded with it and stored in the same transaction (issue 24)",
    ("knowledge.search.sentences", "knowledge.documents.chunking"):
        "a passage's sentences are split the way the chunker splits them",
    ("knowledge.search.evaluation", "knowledge.documents.store"):
        "the retrieval evaluation lists the stored documents, to name the gold questions' sources that are missing",
    ("knowledge.search.reembed", "knowledge.documents.ingest"):
        "re-embedding (a new model, multilingual vectors) walks the stored chunks the way ingestion writes them",
}
# Cycles allowed, as the import edges left out of the cycle check, each with why.
CYCLE_EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in ("knowledge", "bot") for p in (ROOT / top).rglob("*.py")}


def _running(tree: ast.AST, typing: bool = False):
    """Every node that runs: what stands under `if TYPE_CHECKING:` is for the type checker only (no import at run
    time, so neither a layer crossed nor a circle), unless typing: then those count too."""
    for node in ast.iter_child_nodes(tree):
        if not typing and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for other in node.orelse:
                yield other
                yield from _running(other)
            continue
        yield node
        yield from _running(node, typing)


def imports(path: Path, typing: bool = False) -> set[str]:
    """Every module the file imports, anywhere in it; `from package import module` counts as the module.
    typing: those for the type checker alone too."""
    found = set()
    for node in _running(ast.parse(path.read_text()), typing):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: a relative import (this project writes them absolute)"
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                found.add(whole if whole in MODULES else node.module)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports."""
    return {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return "bot" if parts[0] == "bot" else (parts[1] if len(parts) > 1 else "knowledge")


def test_every_room_has_a_level():
    rooms = {room(m) for m in MODULES} - {"knowledge"}  # knowledge/__init__.py imports nothing of the project
    assert rooms - set(LEVEL) == set(), "a new room: give it a level in LEVELS"
    assert graph()["knowledge"] == set()


def test_a_module_imports_only_its_own_room_or_lower_ones():
    found = set()
    for importer, imported in graph().items():
        for target in imported:
            a, b = room(importer), room(target)
            if a != b and LEVEL[b] >= LEVEL[a]:
                found.add((importer, target))
    assert sorted(found - set(EXCEPTIONS)) == [], "import a lower room, or move the code (see LEVELS)"
    assert sorted(set(EXCEPTIONS) - found) == [], "an exception no longer needed: remove it from EXCEPTIONS"


def test_no_import_cycles_between_modules():
    edges = {m: {t for t in targets if (m, t) not in CYCLE_EXCEPTIONS} for m, targets in graph().items()}
    assert set(CYCLE_EXCEPTIONS) <= {(m, t) for m, targets in graph().items() for t in targets}, \
        "a cycle exception no longer needed: remove it from CYCLE_EXCEPTIONS"
    cycles, done = [], set()

    def visit(module, path):
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert cycles == []


def test_knowledge_never_imports_slack_or_the_bot():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.split(".")[0] in
                                                  ("bot", "slack_bolt", "slack_sdk"))
                 for p in (ROOT / "knowledge").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_listeners_use_the_desks_only():
    for path in (ROOT / "bot" / "listeners").glob("*.py"):
        used = {m for m in imports(path) if m.startswith("knowledge")}
        assert used <= LISTENER_IMPORTS, (path.name, used - LISTENER_IMPORTS)
        source = path.read_text()
        for reach in (".runtime", ".db", ".connection(", ".execute(", ".ingestor", ".records.", "SELECT "):
            assert reach not in source, (path.name, reach)


def test_the_employees_listeners_get_no_admin_desk():
    found = {name: sorted(imports(ROOT / "bot" / "listeners" / f"{name}.py") & ADMIN_SIDE)
             for name in EMPLOYEE_LISTENERS}
    assert {k: v for k, v in found.items() if v} == {}


def test_no_sample_company_in_python_code():
    """The sample company (its name, places, codes, products, people) lives in knowledge/sample and tests only:
    everything else gets them from the company profile."""
    import csv

    from knowledge.profile.load import load_profile
    from knowledge.settings import SAMPLE_PROFILE

    profile = load_profile(SAMPLE_PROFILE)
    words = {profile.name.split()[0], *profile.not_names}
    for loc in profile.locations.values():
        words |= {loc.name, *loc.aliases}
    with (ROOT / "knowledge" / "sample" / "records" / "employees.csv").open() as f:
        for row in csv.DictReader(f):
            words |= set(row["name"].split()) | {row["employee_id"], row["slack_user_id"]}
    words.discard("")
    patterns = [re.compile(rf"(?<![\w]){re.escape(w)}(?![\w])") for w in words]
    patterns += [re.compile(rf"(?<![\w-]){code}(?![\w-])") for code in profile.locations]
    found = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "knowledge").rglob("*.py")]:
        if "sample" in path.relative_to(ROOT).parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            found += [f"{path.relative_to(ROOT)}:{n}: {p.pattern}" for p in patterns if p.search(line)]
    assert found == []


def test_the_bot_talks_to_the_desks_not_to_their_runtime():
    """bot/ gets what it needs (the jobs' seal key, the job queue, the admins to alert) from the desks' own
    methods: reaching through one into its runtime would tie the Slack side to how the runtime is built. Only
    the entry points (bot/app.py, bot/cli.py, bot/doctor.py) hold the Runtime, to build the desks."""
    reaches = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "bot").rglob("*.py")
               for n, line in enumerate(path.read_text().splitlines(), start=1)
               if re.search(r"(?<!knowledge)\._?runtime\b", line)]
    assert reaches == []
    entry_points = {"bot.app", "bot.cli", "bot.doctor"}
    holders = sorted(m for m, targets in graph().items() if m.startswith("bot") and "knowledge.runtime" in targets)
    assert set(holders) <= entry_points, holders


def test_the_runtime_builds_no_desk():
    """The desks are built by the entry points from the Runtime, so the composition root never imports them (the
    circle between the runtime and a façade on it is gone)."""
    assert not {m for m in graph()["knowledge.runtime"] if m.startswith("knowledge.desks")}


def test_no_source_kind_imports_the_registry():
    """The store imports the registry (kinds.py), which imports the kinds and the document path (mirror.py); any of
    them importing the registry or the store back, even only to name a type (items.Source is the shared one),
    would make the circle again."""
    below = ["kinds", "mirror", "folder", "web", "confluence", "notion", "records", "items", "transport",
             "deadlines", "payload", "graph", "graph_api", "graph_notify", "delta", "state", "notifications"]
    found = {name: sorted(m for m in imports(ROOT / "knowledge" / "sources" / f"{name}.py", typing=True)
                          if m in ("knowledge.sources.kinds", "knowledge.sources.store", "knowledge.sources.runner"))
             for name in below}
    assert {k: v for k, v in found.items() if v} == {}
