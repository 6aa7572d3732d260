"""Markup, links and credentials from content (a security issue; an attacker's probe found each of these):

- a document heading reached the Sources line unescaped, so `<!channel> ... <https://evil|https://good>` pinged
  the channel and showed a disguised link, with and without a chat model;
- a sitemap's `<loc>` went raw into citation links, and pages on any host it listed were fetched;
- a web source's Authorization header went to another host the sitemap listed, and across redirects.
"""
import json
import re
from xml.sax.saxutils import escape

import pytest

from bot.render import safe_link, source_line
from knowledge.answering.answers import Citation
from knowledge.sources.items import SourceError
from knowledge.sources.transport import request
from knowledge.sources.runner import run_source
from tests.fakes.http import FakeService
from tests.fakes.openai_server import FakeOpenAI
from tests.slack_helpers import SlackHarness

HOSTILE = "<!channel> Urgent <https://evil.example|https://people.company.example/book>"
BOOKING = (f"# Booking leave\n\n## {HOSTILE}\n\n"
           "Book annual leave in the HR portal at least two weeks before the first day off.\n").encode()
SLACK_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")


NOT_SHOWN = {"value", "action_id", "block_id", "callback_id", "private_metadata"}  # payloads Slack sends back


def displayed(blocks) -> str:
    """Every string Slack shows from blocks (button values are payloads sent back on a click, not shown)."""
    strings = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in NOT_SHOWN:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(blocks)
    return "\n".join(strings)


def shown_in(message) -> str:
    """What a Slack message shows: its blocks and its fallback text."""
    return displayed(message.args.get("blocks") or []) + "\n" + (message.args.get("text") or "")


def assert_inert(shown: str) -> None:
    """No ping, no link to the attacker, and no link whose label is an address other than its target."""
    assert "<!channel>" not in shown and "<!here>" not in shown
    assert "<https://evil.example" not in shown
    for target, label in SLACK_LINK.findall(shown):
        assert "evil.example" not in target
        assert not re.match(r"https?://", label) or label == target, (target, label)


# --- the answer path -----------------------------------------------------------------------------------------

def test_a_hostile_heading_is_inert_in_the_sources_line_without_a_model(bot, fake, runtime):
    runtime.ingestor.ingest_bytes("booking.md", BOOKING, uploaded_by="test")
    bot.dm("U0SAMPLE", "How far ahead do I book annual leave in the HR portal?", ts="1700009500.000100")
    [update] = fake.wait_for("chat.update")
    shown = shown_in(update)
    assert "*Sources*" in shown and "Booking leave" in shown  # the Sources line was rendered
    assert_inert(shown)
    assert "&lt;!channel&gt; Urgent" in shown  # the heading is shown, as text


def test_a_hostile_heading_is_inert_in_the_sources_line_with_a_chat_model(runtime, fake):
    runtime.ingestor.ingest_bytes("booking.md", BOOKING, uploaded_by="test")
    with FakeOpenAI() as llm:
        harness = SlackHarness(runtime, fake, openai_base_url=llm.base_url)
        try:
            harness.dm("U0SAMPLE", "How far ahead do I book annual leave in the HR portal?", ts="1700009600.000100")
            fake.wait_for("chat.stopStream")  # a chat model's answer in a DM is streamed (issue 26)
        finally:
            harness.close()
        assert llm.chat_requests  # the answer came from the chat model
    # everything the DM showed: each streamed piece, the end with its sources line, any replacement
    shown = "\n".join(shown_in(c) + "\n" + (c.args.get("markdown_text") or "") for c in fake.calls
                      if c.method in ("chat.appendStream", "chat.stopStream", "chat.update", "chat.postMessage"))
    assert "*Sources*" in shown and "No AI model is configured" not in shown
    assert_inert(shown)
    assert "&lt;!channel&gt; Urgent" in shown


def test_links_are_built_only_from_checked_http_addresses():
    assert safe_link("https://people.company.example/book?a=1&b=2", "Book <now>|here") == \
        "<https://people.company.example/book?a=1&amp;b=2|Book &lt;now&gt;/here>"
    for bad in ("javascript:alert(1)", "https://evil.example|https://good.example", "https://x.example/<!channel>",
                "https://x.example/a b", "https://x.example/\nb", "ftp://x.example/f", "https:///nohost",
                "https://good.example@evil.example/", "//evil.example/x", ""):
        shown = safe_link(bad, "Leave policy")
        assert not SLACK_LINK.search(shown) and "<" not in shown and ">" not in shown.replace("&gt;", ""), bad
        assert shown.startswith("Leave policy"), bad
    assert safe_link(None, "<!here>") == "&lt;!here&gt;"
    hostile = Citation(1, "x.md", "Leave <!here>", 2, f"Policies > {HOSTILE}", 7, url="javascript:alert(1)//|x>")
    line = source_line(hostile)
    assert_inert(line)
    assert "<javascript:" not in line and "&lt;!channel&gt;" in line and "p. 2" in line


# --- admin surfaces -------------------------------------------------------------------------------------------

def test_admin_views_echo_names_and_errors_inert():
    from datetime import datetime, timezone

    from bot.render import documents_blocks, home_view, upload_summary_blocks
    from knowledge.desks.admins import KnowledgeBaseStatus
    from knowledge.desks.employees import HomeSummary

    rendered = [
        documents_blocks([{"title": HOSTILE, "source": HOSTILE, "version": 1, "audience": HOSTILE,
                           "chunk_count": 3, "uploaded_by": HOSTILE, "created_at": datetime.now(timezone.utc)}]),
        upload_summary_blocks(HOSTILE, type("R", (), {"status": "rejected", "reason": HOSTILE})(), []),
        home_view(HomeSummary([HOSTILE], None), (HOSTILE,), KnowledgeBaseStatus(1, 2, None)),
    ]
    for blocks in rendered:
        assert_inert(displayed(blocks))


def test_hr_admin_sources_shows_a_hostile_name_and_error_inert(runtime, store):
    from bot.listeners.admin import sources_text

    store.add("intranet", "web", {"urls": ["https://intranet.example/leave"]}, 3600)
    store.failed(store.get("intranet"), f"{HOSTILE} refused access (403)")
    with runtime.db.owner.connection() as conn:
        conn.execute("UPDATE sources SET last_changes = %s::jsonb",
                     (json.dumps({"skipped": 1, "skipped because": HOSTILE}),))
    assert_inert(sources_text(store.list()))


# --- sitemaps and credentials ---------------------------------------------------------------------------------

class Site(FakeService):
    """A page behind a token, a sitemap that lists whatever `locs` holds, and redirects in `moved`."""

    def __init__(self, token: str | None = None):
        self.token = token
        self.locs: list[str] = []
        self.moved: dict[str, str] = {}
        super().__init__()

    def answer(self, call):
        if call.path in self.moved:
            return 302, b"", {"Location": self.moved[call.path]}
        if self.token and call.headers.get("Authorization") != self.token:
            return 403, b"forbidden", None
        if call.path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{escape(loc)}</loc></url>" for loc in self.locs)
            return 200, (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}'
                         "</urlset>").encode(), {"Content-Type": "application/xml"}
        title = call.path.strip("/").title()
        return 200, (f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>The {title} rule: staff "
                     "book annual leave two weeks ahead.</p></body></html>").encode(), {"Content-Type": "text/html"}


@pytest.fixture
def sites():
    home, other = Site(token="Bearer s3cret"), Site()
    yield home, other
    home.close()
    other.close()


def _received_token(site: Site) -> list[str]:
    return [c.path for c in site.calls if c.headers.get("Authorization")]


def test_a_sitemap_loc_on_another_origin_or_not_http_is_skipped_with_a_reason(runtime, store, sites, monkeypatch,
                                                                              invoke):
    home, other = sites
    home.locs = [home.base_url + "/leave", "javascript:alert(document.cookie)", other.base_url + "/phish",
                 home.base_url + "/evil|<!channel>"]
    monkeypatch.setenv("INTRANET_AUTH", "Bearer s3cret")
    source = store.add("intranet", "web", {"sitemap": home.base_url + "/sitemap.xml",
                                           "auth_header": "env:INTRANET_AUTH"}, 3600)
    result = run_source(runtime.ingestor, store, source)
    assert result.status == "ok", result.error
    assert result.changes["added"] == 1 and result.changes["skipped"] == 3
    assert other.calls == []  # never asked, so never given the token
    with runtime.db.connection() as conn:
        urls = [r[0] for r in conn.execute("SELECT url FROM documents WHERE status = 'active'").fetchall()]
    assert urls == [home.base_url + "/leave"]
    listed = invoke("sources", "list").output
    assert "another origin" in listed and "not an http(s) address" in listed


def test_a_sitemap_loc_with_a_user_and_password_is_skipped_and_never_echoed(runtime, store, sites, monkeypatch):
    """The outside review's F5: http://user:pw@host/ on the source's own host was fetched, failed the whole run,
    and its password stayed in the error shown to admins."""
    home, _ = sites
    host = home.base_url.split("//", 1)[1]
    home.locs = [home.base_url + "/leave", f"http://user:pw@{host}/userinfo"]
    monkeypatch.setenv("INTRANET_AUTH", "Bearer s3cret")
    source = store.add("intranet", "web", {"sitemap": home.base_url + "/sitemap.xml",
                                           "auth_header": "env:INTRANET_AUTH"}, 3600)
    result = run_source(runtime.ingestor, store, source)
    assert result.status == "ok" and result.changes["added"] == 1 and result.changes["skipped"] == 1
    assert "user name or password" in result.changes["skipped because"]
    assert "pw" not in result.changes["skipped because"] and "/userinfo" not in [c.path for c in home.calls]


def test_a_sitemap_page_on_another_origin_is_never_given_the_token(runtime, store, sites, monkeypatch):
    home, other = sites
    home.locs = [home.base_url + "/leave", other.base_url + "/phish"]
    monkeypatch.setenv("INTRANET_AUTH", "Bearer s3cret")
    source = store.add("intranet", "web", {"sitemap": home.base_url + "/sitemap.xml",
                                           "auth_header": "env:INTRANET_AUTH"}, 3600)
    result = run_source(runtime.ingestor, store, source)
    assert result.status == "ok" and result.changes["added"] == 1
    assert other.calls == []
    assert "another origin" in store.get("intranet").last_changes["skipped because"]


def test_a_sitemap_index_on_another_origin_is_not_fetched_with_credentials(runtime, store, sites, monkeypatch):
    home, other = sites
    home.locs, other.locs = [home.base_url + "/leave"], [other.base_url + "/phish"]
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             + "".join(f"<sitemap><loc>{site.base_url}/sitemap.xml</loc></sitemap>" for site in (home, other))
             + "</sitemapindex>").encode()
    answer = home.answer
    home.answer = lambda call: (200, index, {"Content-Type": "application/xml"}) \
        if call.path == "/index.xml" and call.headers.get("Authorization") else answer(call)
    monkeypatch.setenv("INTRANET_AUTH", "Bearer s3cret")
    source = store.add("intranet", "web", {"sitemap": home.base_url + "/index.xml",
                                           "auth_header": "env:INTRANET_AUTH"}, 3600)
    result = run_source(runtime.ingestor, store, source)
    assert result.status == "ok" and result.changes["added"] == 1 and result.changes["skipped"] == 1
    assert other.calls == []
    assert "another origin" in result.changes["skipped because"]


def test_credentials_never_follow_a_redirect_to_another_origin(runtime, store, sites, monkeypatch):
    home, other = sites
    home.moved = {"/leave": other.base_url + "/leave", "/local": "/leave-here"}
    monkeypatch.setenv("INTRANET_AUTH", "Bearer s3cret")
    source = store.add("intranet", "web", {"urls": [home.base_url + "/leave", home.base_url + "/local"],
                                           "auth_header": "env:INTRANET_AUTH"}, 3600)
    run_source(runtime.ingestor, store, source)
    assert [c.path for c in other.calls] == ["/leave"]  # the redirect was followed ...
    assert _received_token(other) == []                # ... without the token
    assert "/leave-here" in _received_token(home)      # a redirect within the origin keeps it


def test_the_shared_request_helper_drops_credentials_on_a_cross_origin_redirect(sites):
    """BambooHR's client (records.py) fetches through transport.request, so this covers it as well."""
    home, other = sites
    home.moved = {"/api": other.base_url + "/api"}
    request(home.base_url + "/api", {"Authorization": "Basic c2VjcmV0Ong=", "X-Api-Key": "k"}, 1 << 20)
    [call] = other.calls
    assert call.headers.get("Authorization") is None and call.headers.get("X-Api-Key") is None
    home.moved = {"/api": "ftp://127.0.0.1/api"}
    with pytest.raises(SourceError, match="not http"):
        request(home.base_url + "/api", {"Authorization": "Basic c2VjcmV0Ong="}, 1 << 20)


def test_bamboohr_credentials_do_not_follow_a_redirect_to_another_origin(sites, monkeypatch):
    from datetime import date

    from knowledge.sources.records import BambooHR

    home, other = sites
    home.moved = {"/api/gateway.php/acme/v1/time_off/requests/": other.base_url + "/collect"}
    monkeypatch.setenv("BAMBOO_KEY", "k3y")
    api = BambooHR({"company": "acme", "api_key": "env:BAMBOO_KEY", "base_url": home.base_url})
    with pytest.raises(SourceError, match="not valid JSON"):  # the other server answers a page, not BambooHR's JSON
        list(api.requests(date(2026, 1, 1), date(2026, 12, 31)))  # read as it arrives: asked when iterated
    assert [c.path for c in other.calls] == ["/collect"] and _received_token(other) == []


def test_the_slack_bot_token_does_not_follow_a_file_download_to_another_origin(sites):
    from types import SimpleNamespace

    from bot.uploads import download

    home, other = sites
    home.token = "Bearer xoxb-test"
    home.moved = {"/files-pri/T1-F1/download/leave.pdf": other.base_url + "/leave.pdf"}
    download(SimpleNamespace(token="xoxb-test"), home.base_url + "/files-pri/T1-F1/download/leave.pdf", 1 << 20)
    assert [c.path for c in other.calls] == ["/leave.pdf"] and _received_token(other) == []


def test_a_confluence_web_link_stays_on_the_site():
    from knowledge.sources.confluence import Api

    api = Api(None, "https://wiki.corp.example")
    assert api.web_link({"_links": {"webui": "/spaces/HR/pages/1/Leave"}}) == \
        "https://wiki.corp.example/spaces/HR/pages/1/Leave"
    for webui in (".evil.example/login", "@evil.example/", "//evil.example/x", None):
        assert api.web_link({"_links": {"webui": webui}}) is None, webui
