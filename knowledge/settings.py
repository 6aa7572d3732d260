"""Settings: every knob declared once, with a default and help text, read from the environment at entry points."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values


SAMPLE_PROFILE = Path(__file__).resolve().parent / "sample" / "profile.toml"


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "hrbot")


def setting(env: str, default, help: str):
    """Declare a settings field bound to an environment variable."""
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    database_url: str | None = setting(
        "DATABASE_URL", None,
        "PostgreSQL (>= 15, with pgvector) connection URL. Unset: an embedded server is started in HRBOT_DATA_DIR.")
    owner_database_url: str | None = setting(
        "HRBOT_OWNER_DATABASE_URL", None,
        "The owning role's URL, for migrations, imports, ingestion and the privacy commands; DATABASE_URL is then "
        "the runtime role's (owns nothing, bound by row-level security). Unset: DATABASE_URL does both.")
    binding_key: str | None = setting(
        "HRBOT_BINDING_KEY", None,
        "The secret that binds a database transaction to one employee and seals what the runtime role stores "
        "(at least 32 characters: `openssl rand -hex 32`). Give the same one to `hrbot db upgrade` and to every "
        "replica; a bot replica then needs only the runtime role's DATABASE_URL. Unset: the owner keeps a random "
        "key in the database and the process reads it with the owner's URL. Changing it rotates the key.")
    runtime_only: bool = setting(
        "HRBOT_RUNTIME_ONLY", False,
        "This process has only the runtime role's DATABASE_URL (a bot replica): it applies no migrations and does "
        "no owner work (imports, ingestion, admins, sources, retention), which a process with the owner's URL "
        "(`hrbot worker`, the migration step) does. Needs HRBOT_BINDING_KEY.")
    db_wait_seconds: float = setting(
        "HRBOT_DB_WAIT_SECONDS", 60.0,
        "At start, how long to keep retrying (with backoff) a DATABASE_URL server that cannot be reached yet "
        "before giving up with one line naming the cause.")
    data_dir: str = setting(
        "HRBOT_DATA_DIR", "",
        "Where the embedded database and runtime files live. Default: $XDG_DATA_HOME/hrbot or ~/.local/share/hrbot.")
    embeddings: str = setting(
        "HRBOT_EMBEDDINGS", "local",
        "Embedding model: 'local' (all-MiniLM-L6-v2 shipped in a wheel, no download) or 'openai:<model>' "
        "for an OpenAI-compatible /embeddings endpoint (uses OPENAI_API_KEY / OPENAI_BASE_URL).")
    multilingual: str = setting(
        "HRBOT_MULTILINGUAL", "auto",
        "'auto': when the company profile lists more than one language, every passage also gets a multilingual "
        "embedding (Universal Sentence Encoder, shipped in a wheel) and questions in a language other than the "
        "first one search with it; questions in the first language search without it (measured: it adds nothing "
        "there and doubles search time). 'use': always, for every question. 'off': never (English-only "
        "retrieval, about 40% faster ingestion).")
    rerank: bool = setting(
        "HRBOT_RERANK", True,
        "Re-rank search candidates by their best sentence's similarity to the question (questions in the "
        "company's first language; the local or any in-process model). Off: the fused first-stage order.")
    embed_runtime: str = setting(
        "HRBOT_EMBED_RUNTIME", "auto",
        "How the local model runs: 'auto' or 'numpy' (a numpy forward pass, ready in 0.2 s, as fast as torch for "
        "bulk ingestion) or 'torch' (sentence-transformers, the optional extra hrbot[torch]; 7-10 s to load). "
        "The vectors are the same to 1e-6 either way.")
    embed_batch_size: int = setting(
        "HRBOT_EMBED_BATCH", 64, "Chunks embedded per batch during ingestion.")
    max_upload_mb: float = setting(
        "HRBOT_MAX_UPLOAD_MB", 25.0, "Largest document accepted for ingestion, in megabytes.")
    max_chunks: int = setting(
        "HRBOT_MAX_CHUNKS", 5000,
        "Most passages one document may become (about 2.5 minutes of embedding per 5,000 on 2 cores); a bigger "
        "one is refused before any work, with a request to split it.")
    max_pages: int = setting(
        "HRBOT_MAX_PAGES", 1500,
        "Most pages one PDF may have; read from the PDF's page tree, so a longer one is refused before its pages are.")
    max_unzipped_mb: float = setting(
        "HRBOT_MAX_UNZIPPED_MB", 50.0,
        "Most a .docx may unpack to (its parts' sizes as its zip directory declares them), in megabytes; checked "
        "before any of its XML is read.")
    max_zip_ratio: float = setting(
        "HRBOT_MAX_ZIP_RATIO", 100.0,
        "Most times larger a part of a .docx (of 1 MB or more) may unpack than it is packed; real documents stay "
        "below about 20, a 'zip bomb' is far above.")
    parse_seconds: float = setting(
        "HRBOT_PARSE_SECONDS", 60.0,
        "Longest one file may take to read (checked between its pages, paragraphs or blocks); a slower one is "
        "refused with this reason and the rest of the batch goes on.")
    personal_answer_days: int = setting(
        "HRBOT_PERSONAL_ANSWER_DAYS", 30,
        "Days the text of an answer that held the asker's own records is kept in the question log; then it is "
        "removed (the question and its rating stay for gaps and stats).")
    retention_days: int = setting(
        "HRBOT_RETENTION_DAYS", 90,
        "Days questions, answers, ratings, hand-offs and the handled-events log are kept at all; pruned daily.")
    search_ef: int = setting(
        "HRBOT_SEARCH_EF", 100, "HNSW ef_search: candidates examined per vector search (recall vs. speed).")
    openai_api_key: str | None = setting(
        "OPENAI_API_KEY", None, "API key for an OpenAI-compatible server (chat and/or embeddings).")
    openai_base_url: str | None = setting(
        "OPENAI_BASE_URL", None, "Base URL of an OpenAI-compatible API (Azure, vLLM, Ollama, llama.cpp...).")
    chat_model: str = setting(
        "HRBOT_CHAT_MODEL", "gpt-4o-mini",
        "The chat model as provider:model, chosen through LangChain's init_chat_model: openai:gpt-4o-mini, "
        "azure_openai:<deployment>, anthropic:<model>, bedrock_converse:<model id>, ollama:<model>... (the "
        "provider's langchain-* package installed), or a bare model name on the OpenAI-compatible server "
        "(OPENAI_BASE_URL) or OpenAI.")
    chat_timeout: float = setting(
        "HRBOT_CHAT_TIMEOUT", 20.0, "Seconds to wait for the chat model before answering from the passages alone.")
    chat_max_tokens: int = setting(
        "HRBOT_CHAT_MAX_TOKENS", 700, "Longest answer the chat model may write, in tokens.")
    chat_max_tokens_field: str = setting(
        "HRBOT_CHAT_MAX_TOKENS_FIELD", "max_tokens",
        "Request field for that limit: 'max_tokens' (most OpenAI-compatible servers) or 'max_completion_tokens'.")
    profile: str = setting(
        "HRBOT_PROFILE", "",
        "The company profile (TOML): name, HR contact, locations, leave types and rules. Default: the sample "
        "company's profile shipped with hrbot. Check one with `hrbot profile check FILE`.")
    hr_contact: str = setting(
        "HRBOT_HR_CONTACT", "",
        "How employees reach a person in HR; offered when the documents do not answer. Default: the profile's "
        "company.hr_contact.")
    slack_bot_token: str | None = setting(
        "SLACK_BOT_TOKEN", None, "Bot token (xoxb-...) from the Slack app's OAuth & Permissions page.")
    slack_signing_secret: str | None = setting(
        "SLACK_SIGNING_SECRET", None, "Signing secret from Basic Information; verifies HTTP requests from Slack.")
    slack_app_token: str | None = setting(
        "SLACK_APP_TOKEN", None, "App-level token (xapp-..., scope connections:write): turns on Socket Mode.")
    slack_api_url: str = setting(
        "SLACK_API_URL", "https://slack.com/api/", "Slack Web API base URL (tests and proxies point it elsewhere).")
    admins: str = setting(
        "HRBOT_ADMINS", "", "Comma-separated Slack user ids of HR admins (uploads, /hr-admin); more with `hrbot admin add`.")
    escalation_channel: str | None = setting(
        "HRBOT_ESCALATION_CHANNEL", None,
        "Channel id where 'Talk to HR' posts questions (the bot must be in it). Default: the profile's "
        "company.escalation_channel.")
    slack_timeout: float = setting(
        "HRBOT_SLACK_TIMEOUT", 10.0,
        "Seconds one Slack Web API request may take before it counts as failed (then it is tried again with "
        "backoff while the answer's lease lasts).")
    drain_seconds: float = setting(
        "HRBOT_DRAIN_SECONDS", 25.0,
        "On SIGTERM, how long `hrbot serve` keeps finishing the answers in progress before it hands the rest back "
        "to the other replicas (or the next start); keep it below the orchestrator's grace period (30 s).")
    http_port: int = setting(
        "HRBOT_HTTP_PORT", 3000, "Port for `hrbot serve --http` (the Events API endpoint and /healthz).")
    public_url: str | None = setting(
        "HRBOT_PUBLIC_URL", None,
        "The bot's public https address (e.g. https://hrbot.example.com), where services send change notifications: "
        "/webhooks/<source name> under it. Unset: sources are updated on their schedule only.")
    log_format: str = setting(
        "HRBOT_LOG_FORMAT", "text", "Log lines as 'text' or 'json' (one object per line). Tokens are masked in both.")
    log_level: str = setting(
        "HRBOT_LOG_LEVEL", "WARNING", "Logging level for the hrbot process (DEBUG, INFO, WARNING, ERROR).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env") -> "Settings":
        """Build settings from a .env file (if present) overlaid by the process environment."""
        values: dict[str, str] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        kwargs = {}
        for f in fields(cls):
            raw = values.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            kwargs[f.name] = _coerce(f, raw)
        settings = cls(**kwargs)
        if not settings.data_dir:
            settings = cls(**{**kwargs, "data_dir": _default_data_dir()})
        return settings

    @property
    def profile_path(self) -> Path:
        return Path(self.profile).expanduser() if self.profile else SAMPLE_PROFILE

    def with_profile(self, profile) -> "Settings":
        """These settings with the company profile's HR contact and hand-off channel where none is set here."""
        return replace(self, hr_contact=self.hr_contact or profile.hr_contact,
                       escalation_channel=self.escalation_channel or profile.escalation_channel)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def admin_ids(self) -> set[str]:
        return {a.strip() for a in self.admins.split(",") if a.strip()}

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret))

    @property
    def chat_configured(self) -> bool:
        """A chat model writes the answers when OPENAI_API_KEY or OPENAI_BASE_URL is set, or when
        HRBOT_CHAT_MODEL names a provider configured its own way (anthropic:, bedrock_converse:, ollama:... with
        ANTHROPIC_API_KEY, AWS credentials, a local server); otherwise the offline answerer quotes passages."""
        if self.openai_api_key or self.openai_base_url:
            return True
        provider, sep, model = self.chat_model.strip().partition(":")
        return bool(sep and model) and provider.replace("-", "_") not in ("openai", "azure_openai")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def documented(cls) -> list[tuple[str, object, str]]:
        """(variable, default, help) for every setting: the README table is checked against this."""
        return [(f.metadata["env"], f.default, f.metadata["help"]) for f in fields(cls)]


def _coerce(f, raw: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind.startswith("bool"):
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        from knowledge.errors import ConfigurationError

        raise ConfigurationError(f"{f.metadata['env']} must be on or off, got {raw!r}.")
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        from knowledge.errors import ConfigurationError

        raise ConfigurationError(f"{f.metadata['env']} must be a number, got {raw!r}.") from None
    return raw
