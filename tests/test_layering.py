"""The rooms and their doors, as rules over the import graph (read with ast from the source files, so every
import counts, including those inside functions: a lazy import hides a dependency, it does not remove it).

- knowledge/ never imports Slack or the bot;
- the rooms have an order, and a module imports only its own room or lower ones; the few exceptions are listed
  with the reason for each, and a new one fails the test (as does an exception that is no longer needed);
- no import cycles between modules;
- Slack listeners go through the application façade (knowledge.assistant) and never reach the database, the
  ingestor or the records reader themselves; bot/ does not reach through the façade into its runtime.
"""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a listener may import from knowledge/: the façade, the errors it raises, and the value types it returns.
LISTENER_IMPORTS = {"knowledge.assistant", "knowledge.errors", "knowledge.answering.answers",
                    "knowledge.answering.conversations"}

# The rooms, lowest first. A module may import its own room and the rooms of lower levels; rooms on one level are
# independent of each other. A room is a package under knowledge/ (or one of its top-level modules); bot/ is one.
LEVELS = [
    {"errors"},                               # what everything may raise
    {"settings"},                             # what everything may read (its errors are errors.py's)
    {"database"},                             # connections, migrations, roles, seals, the audit log
    {"profile"},                              # the company profile: names, places, languages, dates
    {"documents", "search", "people"},        # the knowledge: documents and their search; employee records
    {"answering", "sources", "operations"},   # answering questions; scheduled sources; running the product
    {"assistant", "runtime"},                 # the composition root and the application façade on it
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
    ("knowledge.assistant", "knowledge.runtime"):
        "the façade is built on the runtime it is given (runtime.assistant), which it keeps",
    ("knowledge.runtime", "knowledge.assistant"):
        "the composition root builds the façade (runtime.assistant); both sit on one level, so name it",
}
# Cycles allowed, as the import edges left out of the cycle check, each with why.
CYCLE_EXCEPTIONS = {
    ("knowledge.runtime", "knowledge.assistant"):
        "the composition root builds the façade lazily; the façade imports the runtime only to name its type",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in ("knowledge", "bot") for p in (ROOT / top).rglob("*.py")}


def _running(tree: ast.AST):
    """Every node that runs: what stands under `if TYPE_CHECKING:` is for the type checker only (no import at run
    time, so neither a layer crossed nor a circle)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for other in node.orelse:
                yield other
                yield from _running(other)
            continue
        yield node
        yield from _running(node)


def imports(path: Path) -> set[str]:
    """Every module the file imports, anywhere in it; `from package import module` counts as the module."""
    found = set()
    for node in _running(ast.parse(path.read_text())):
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


def test_listeners_use_the_facade_only():
    for path in (ROOT / "bot" / "listeners").glob("*.py"):
        used = {m for m in imports(path) if m.startswith("knowledge")}
        assert used <= LISTENER_IMPORTS, (path.name, used - LISTENER_IMPORTS)
        source = path.read_text()
        for reach in (".runtime", ".db", ".connection(", ".execute(", ".ingestor", ".records.", "SELECT "):
            assert reach not in source, (path.name, reach)


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


def test_the_bot_talks_to_the_facade_not_to_its_runtime():
    """bot/ gets what it needs (the jobs' seal key, the job queue, the admins to alert) from HRAssistant's own
    methods: reaching through it into `assistant.runtime` would tie the Slack side to how the runtime is built."""
    reaches = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "bot").rglob("*.py")
               for n, line in enumerate(path.read_text().splitlines(), start=1)
               if re.search(r"assistant\.runtime\b|\.runtime\.", line)]
    assert reaches == []


def test_no_source_kind_imports_the_registry():
    """kinds.py imports the kinds; a kind (or what they share) importing it, or the store, back would make the
    circle again."""
    below = ["folder", "web", "confluence", "notion", "records", "items", "transport", "deadlines", "payload"]
    found = {name: sorted(m for m in imports(ROOT / "knowledge" / "sources" / f"{name}.py")
                          if m in ("knowledge.sources.kinds", "knowledge.sources.store", "knowledge.sources.runner"))
             for name in below}
    assert {k: v for k, v in found.items() if v} == {}
