"""The chat model, chosen by one setting through LangChain's `init_chat_model`: HRBOT_CHAT_MODEL is
"provider:model" ("openai:gpt-4o-mini", "azure_openai:my-deployment", "anthropic:claude-3-5-haiku-latest",
"bedrock_converse:anthropic.claude-3-haiku...", "ollama:llama3") or a bare model name for an OpenAI-compatible
server (OPENAI_BASE_URL) or for OpenAI itself. LangChain knows how to build each provider's client; what this
module adds is which settings go to which provider, and a configuration error a person can act on when the
provider's integration package is not installed (they are not dependencies: a company installs the one it uses).
"""
from __future__ import annotations

import re

from knowledge.errors import ConfigurationError
from knowledge.settings import Settings

def parse_model(spec: str, openai_base_url: str | None = None) -> tuple[str, str]:
    """(provider, model) of HRBOT_CHAT_MODEL. A bare name goes to the OpenAI-compatible server when
    OPENAI_BASE_URL is set (its model names, "llama3", say nothing of a provider); otherwise LangChain infers the
    provider from the name ("gpt-..." is OpenAI, "claude..." Anthropic), and a name it cannot place is refused
    with the form to write instead."""
    from langchain.chat_models.base import _attempt_infer_model_provider

    spec = spec.strip()
    provider, sep, model = spec.partition(":")
    if sep and re.fullmatch(r"[a-z][a-z0-9_-]*", provider) and model:
        return provider.replace("-", "_"), model
    if not spec:
        raise ConfigurationError("HRBOT_CHAT_MODEL is empty: name a model, e.g. openai:gpt-4o-mini.")
    if openai_base_url:
        return "openai", spec
    inferred = _attempt_infer_model_provider(spec)
    if inferred is None:
        raise ConfigurationError(f"HRBOT_CHAT_MODEL={spec!r} does not say which provider serves it: write it as "
                                 "provider:model (openai:, azure_openai:, anthropic:, bedrock_converse:, ollama:...), "
                                 "or set OPENAI_BASE_URL for an OpenAI-compatible server.")
    return inferred, spec


def provider_options(provider: str, model: str, settings: Settings) -> dict:
    """What each provider's client is given besides the model: the answer's length limit, the wait before the
    offline answerer takes over, one retry, and temperature 0 (answers quote policy; they should not vary)."""
    if provider == "openai":
        field = settings.chat_max_tokens_field
        if field not in ("max_tokens", "max_completion_tokens"):
            raise ConfigurationError("HRBOT_CHAT_MAX_TOKENS_FIELD must be max_tokens or max_completion_tokens.")
        # The limit goes in the body under the field the server understands (langchain-openai always sends
        # max_completion_tokens, which some OpenAI-compatible servers reject).
        return {"api_key": settings.openai_api_key or "not-needed", "base_url": settings.openai_base_url,
                "timeout": settings.chat_timeout, "max_retries": 1, "temperature": 0,
                "extra_body": {field: settings.chat_max_tokens}}
    if provider == "azure_openai":  # endpoint, key and API version also from AZURE_OPENAI_* / OPENAI_API_VERSION
        options = {"azure_deployment": model, "timeout": settings.chat_timeout, "max_retries": 1, "temperature": 0,
                   "max_tokens": settings.chat_max_tokens}
        if settings.openai_api_key:
            options["api_key"] = settings.openai_api_key
        if settings.openai_base_url:
            options["azure_endpoint"] = settings.openai_base_url
        return options
    if provider == "anthropic":
        return {"timeout": settings.chat_timeout, "max_retries": 1, "temperature": 0,
                "max_tokens": settings.chat_max_tokens}
    if provider == "bedrock_converse":
        return {"temperature": 0, "max_tokens": settings.chat_max_tokens}
    if provider == "ollama":
        return {"temperature": 0, "num_predict": settings.chat_max_tokens}
    return {"temperature": 0}  # other providers: their own defaults for the rest


def missing_package(exc: Exception, provider: str) -> str:
    """The pip package a provider needs, from LangChain's own message when it names one."""
    named = re.search(r"pip install (?:-U )?`?([A-Za-z0-9_.-]+)", str(exc))
    return named.group(1) if named else f"langchain-{provider.replace('_', '-')}"


def build_chat_model(settings: Settings):
    """The configured chat model, or None (the offline answerer) when none is set up."""
    if not settings.chat_configured:
        return None
    from langchain.chat_models import init_chat_model

    provider, model = parse_model(settings.chat_model, settings.openai_base_url)
    try:
        return init_chat_model(model, model_provider=provider, **provider_options(provider, model, settings))
    except (ImportError, AttributeError) as exc:  # AttributeError: LangChain's fallback module lacks the class
        package = missing_package(exc, provider)
        raise ConfigurationError(f"HRBOT_CHAT_MODEL={settings.chat_model} needs the {package} package, which is "
                                 f"not installed: pip install {package} (in hrbot's environment).") from None
    except ValueError as exc:  # pydantic's ValidationError included: a client missing its endpoint or version
        if "Unsupported" in str(exc):
            raise ConfigurationError(f"HRBOT_CHAT_MODEL={settings.chat_model}: LangChain knows no chat model "
                                     f"provider {provider!r}.") from None
        detail = next((line.strip() for line in str(exc).splitlines() if "error" in line.lower()
                       and "validation error" not in line.lower()), str(exc).splitlines()[0])
        raise ConfigurationError(f"HRBOT_CHAT_MODEL={settings.chat_model}: the {provider} client refused its "
                                 f"settings: {detail}") from None
