"""The rooms and their doors: knowledge/ never imports Slack; Slack listeners go through the application façade
(knowledge.assistant) and never reach the database, the ingestor or the records reader themselves."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a listener may import from knowledge/: the façade, the errors it raises, and the value types it returns.
LISTENER_IMPORTS = {"knowledge.assistant", "knowledge.errors", "knowledge.answering.answers",
                    "knowledge.answering.conversations"}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


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


def test_knowledge_is_split_into_rooms_by_concern():
    flat = sorted(p.name for p in (ROOT / "knowledge").glob("*.py"))
    assert flat == ["__init__.py", "assistant.py", "errors.py", "runtime.py", "settings.py"]
    rooms = {p.name for p in (ROOT / "knowledge").iterdir() if (p / "__init__.py").exists()}
    assert rooms == {"answering", "cli", "database", "documents", "operations", "people", "profile", "search",
                     "sources"}


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


def test_no_source_kind_imports_the_registry():
    """kinds.py imports the kinds; a kind (or what they share) importing it, or the store, back would make the
    circle again."""
    below = ["folder", "web", "confluence", "notion", "records", "items", "transport", "deadlines", "payload"]
    found = {name: sorted(m for m in imports(ROOT / "knowledge" / "sources" / f"{name}.py")
                          if m in ("knowledge.sources.kinds", "knowledge.sources.store", "knowledge.sources.runner"))
             for name in below}
    assert {k: v for k, v in found.items() if v} == {}
