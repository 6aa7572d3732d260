"""Which chat and embedding models answer, by one setting each, through LangChain's init_chat_model and
init_embeddings (issue 23, decided). Only OpenAI-compatible providers run here (the fake OpenAI server); for the
others, the settings are parsed and a missing integration package is a configuration error naming it."""
import sys

import pytest

from knowledge.answering.models import build_chat_model, parse_model
from knowledge.errors import ConfigurationError
from knowledge.search.embeddings import build_embeddings
from knowledge.settings import Settings
from tests.fakes.openai_server import FakeOpenAI


def settings(**environ) -> Settings:
    return Settings.from_env(environ=environ, dotenv_path=None)


@pytest.fixture(scope="module")
def fake_openai():
    with FakeOpenAI(dimension=24) as server:
        yield server


@pytest.mark.parametrize("spec, base_url, parsed", [
    ("openai:gpt-4o-mini", None, ("openai", "gpt-4o-mini")),
    ("gpt-4o-mini", None, ("openai", "gpt-4o-mini")),                       # the default, as before
    ("azure_openai:hr-gpt4o", None, ("azure_openai", "hr-gpt4o")),
    ("anthropic:claude-3-5-haiku-latest", None, ("anthropic", "claude-3-5-haiku-latest")),
    ("claude-3-5-haiku-latest", None, ("anthropic", "claude-3-5-haiku-latest")),  # inferred by LangChain
    ("bedrock_converse:anthropic.claude-3-haiku-20240307-v1:0", None,
     ("bedrock_converse", "anthropic.claude-3-haiku-20240307-v1:0")),        # the model id keeps its colon
    ("ollama:llama3", None, ("ollama", "llama3")),
    ("llama3", "http://127.0.0.1:8080/v1", ("openai", "llama3")),           # a bare name on a compatible server
])
def test_the_chat_model_setting_names_provider_and_model(spec, base_url, parsed):
    assert parse_model(spec, base_url) == parsed


def test_a_model_no_provider_is_known_for_is_refused_with_the_form_to_write():
    with pytest.raises(ConfigurationError, match="provider:model"):
        parse_model("llama3")


def test_which_settings_turn_the_chat_model_on():
    assert not settings().chat_configured                                   # the offline answerer
    assert settings(OPENAI_API_KEY="k").chat_configured
    assert settings(OPENAI_BASE_URL="http://127.0.0.1:1/v1", HRBOT_CHAT_MODEL="llama3").chat_configured
    assert settings(HRBOT_CHAT_MODEL="ollama:llama3").chat_configured       # configured its own way
    assert settings(HRBOT_CHAT_MODEL="anthropic:claude-3-5-haiku-latest").chat_configured
    assert not settings(HRBOT_CHAT_MODEL="openai:gpt-4o").chat_configured   # no key, no server
    assert build_chat_model(settings()) is None


@pytest.mark.parametrize("spec, package", [
    ("anthropic:claude-3-5-haiku-latest", "langchain-anthropic"),
    ("bedrock_converse:anthropic.claude-3-haiku-20240307-v1:0", "langchain-aws"),
    ("ollama:llama3", "langchain-ollama"),
])
def test_a_missing_provider_package_is_a_kind_error_naming_it(spec, package, monkeypatch):
    for module in ("langchain_anthropic", "langchain_aws", "langchain_ollama"):
        monkeypatch.setitem(sys.modules, module, None)  # not installed, whatever this machine has
    with pytest.raises(ConfigurationError, match=f"needs the {package} package.*pip install {package}"):
        build_chat_model(settings(HRBOT_CHAT_MODEL=spec))


def test_an_unknown_provider_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no chat model provider 'nosuch'"):
        build_chat_model(settings(HRBOT_CHAT_MODEL="nosuch:model"))
    with pytest.raises(ConfigurationError, match="no embeddings provider 'nosuch'"):
        build_embeddings(settings(HRBOT_EMBEDDINGS="nosuch:model"))


@pytest.mark.parametrize("spec, sent", [("openai:fake-chat", "fake-chat"), ("local-llama", "local-llama")])
def test_an_openai_compatible_server_answers_by_the_one_setting(spec, sent, fake_openai):
    fake_openai.requests.clear()
    model = build_chat_model(settings(HRBOT_CHAT_MODEL=spec, OPENAI_BASE_URL=fake_openai.base_url))
    reply = model.invoke("Question: is there a dental plan?")
    [request] = fake_openai.chat_requests
    assert request["model"] == sent and request["max_tokens"] == 700 and request["temperature"] == 0
    assert "don't know" in reply.content  # the fake's reply without sources


def test_embeddings_by_provider_and_model(fake_openai, monkeypatch):
    remote = build_embeddings(settings(HRBOT_EMBEDDINGS="openai:fake-embed", OPENAI_BASE_URL=fake_openai.base_url))
    assert (remote.model_name, remote.dimension) == ("openai:fake-embed", 24)
    assert remote.embed_array(["carry over", "sick pay"]).shape == (2, 24)
    monkeypatch.setitem(sys.modules, "langchain_aws", None)
    with pytest.raises(ConfigurationError, match="pip install langchain-aws"):
        build_embeddings(settings(HRBOT_EMBEDDINGS="bedrock:amazon.titan-embed-text-v2:0"))
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY or OPENAI_BASE_URL"):
        build_embeddings(settings(HRBOT_EMBEDDINGS="openai:text-embedding-3-small"))
