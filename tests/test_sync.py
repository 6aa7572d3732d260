"""Folder sync: new and changed files in, vanished files out, other uploads untouched, overlapping runs safe."""
import json

from knowledge.sources.sync import SYNC_LOCK, sync_folder


def active(db):
    with db.connection() as conn:
        return dict(conn.execute("SELECT source, version FROM documents WHERE status = 'active'").fetchall())


def test_sync_tracks_the_folder(runtime, db, tmp_path, invoke):
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nAlpha policy text.\n")
    (folder / "b.md").write_text("# B\n\nBeta policy text.\n")
    (tmp_path / "manual.md").write_text("# M\n\nUploaded by hand.\n")
    runtime.ingestor.ingest_paths([tmp_path / "manual.md"], uploaded_by="U0ADMIN")

    first = json.loads(invoke("sync", str(folder), "--json").output)
    assert sorted(r["status"] for r in first["results"]) == ["added", "added"]
    (folder / "a.md").write_text("# A\n\nAlpha policy text, revised.\n")
    (folder / "b.md").unlink()
    result = invoke("sync", str(folder))
    assert result.exit_code == 0
    assert "0 added, 1 replaced, 0 unchanged, 0 rejected, 1 retired (b.md)" in result.output
    assert active(db) == {"a.md": 2, "manual.md": 1}  # the hand upload is not the folder's to retire
    assert "0 added, 0 replaced, 1 unchanged" in invoke("sync", str(folder)).output


def test_overlapping_sync_runs_do_nothing(runtime, db, tmp_path):
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nAlpha.\n")
    with db.connection() as other_run:
        other_run.execute(SYNC_LOCK, {"folder": str(folder.resolve())})
        result = sync_folder(runtime.ingestor, folder)
        other_run.execute("SELECT pg_advisory_unlock_all()")
    assert result.skipped_busy and active(db) == {}


def test_same_named_files_in_subfolders_are_two_documents(runtime, db, tmp_path, invoke):
    folder = tmp_path / "drive"
    (folder / "uk").mkdir(parents=True)
    (folder / "de").mkdir()
    (folder / "uk" / "policy.md").write_text("# UK leave\n\n25 days of annual leave.\n")
    (folder / "de" / "policy.md").write_text("# German leave\n\n30 days of annual leave.\n")
    assert invoke("sync", str(folder)).exit_code == 0
    assert active(db) == {"uk/policy.md": 1, "de/policy.md": 1}
    second = invoke("sync", str(folder))
    assert "0 added, 0 replaced, 2 unchanged" in second.output  # no flipping between the two
    assert active(db) == {"uk/policy.md": 1, "de/policy.md": 1}
    (folder / "de" / "policy.md").unlink()
    assert "1 retired (de/policy.md)" in invoke("sync", str(folder)).output
    assert active(db) == {"uk/policy.md": 1}


def test_sync_does_not_follow_links_out_of_the_folder_or_index_secrets(runtime, tmp_path, invoke):
    """A link to a .env-style file, a linked folder, a hidden folder and a file named like credentials: none
    is indexed, each is reported, and the token inside never comes back from search (issue 14 item 5)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "prod.env").write_text("SLACK_BOT_TOKEN=xoxb-super-secret-token\n")
    (outside / "elsewhere.md").write_text("# Elsewhere\n\nxoxb-super-secret-token lives here too.\n")
    folder = tmp_path / "policies"
    (folder / ".git").mkdir(parents=True)
    (folder / "leave.md").write_text("# Leave\n\nAsk your manager two weeks ahead.\n")
    (folder / "notes.md").symlink_to(outside / "prod.env")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / ".git" / "config.md").write_text("# Config\n\nxoxb-super-secret-token\n")
    (folder / "aws-credentials.md").write_text("# AWS\n\nxoxb-super-secret-token\n")
    result = invoke("sync", str(folder))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    assert "skipped   notes.md: a link to a file outside the folder" in result.output
    assert "skipped   linked: a link to a folder" in result.output
    assert "skipped   aws-credentials.md: its name looks like a secret" in result.output
    assert "config.md" not in result.output  # hidden folders are not walked at all
    hits = json.loads(invoke("search", "xoxb super secret token", "--json").output)
    assert all("xoxb" not in h["text"] for h in hits) and {h["source"] for h in hits} <= {"leave.md"}
