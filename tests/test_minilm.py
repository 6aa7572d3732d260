"""The numpy runtime of all-MiniLM-L6-v2 computes what sentence-transformers computes, and 'auto' keeps torch out
of a process that only asks questions.

torch is the optional extra `.[torch]`: where it is installed the vectors are compared with sentence-transformers
live; everywhere they are compared with tests/data/minilm_reference.npy, sentence-transformers' vectors of TEXTS
stored once (sentence-transformers 6.3 on torch 2.13.0 over the same files; `python tests/test_minilm.py` with
the extra installed writes them again).
"""
import hashlib
import math
import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from knowledge.errors import ConfigurationError
from knowledge.search.embeddings import LocalEmbeddings, build_multilingual
from knowledge.search.minilm import SHA256, NumpyMiniLM, erf, read_safetensors, shipped_model_dir
from knowledge.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parent / "data" / "minilm_reference.npy"
needs_torch = pytest.mark.skipif(find_spec("sentence_transformers") is None,
                                 reason="sentence-transformers is the optional extra .[torch]")

TEXTS = [
    "How much annual leave do I have?",
    "Does our dental plan cover implants?",
    "Wie viele Urlaubstage habe ich noch?",
    "¿Puedo trabajar desde España un mes? 🌍",
    "",
    "a",
    # Longer than the model's 256 tokens: both runtimes truncate it the same way.
    "You may carry over up to five days of unused leave into the next leave year with your manager's approval. " * 30,
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shipped_model_dir()


def sentence_transformers_vectors() -> np.ndarray:
    return LocalEmbeddings(runtime="torch").embed_array(TEXTS)


@needs_torch
def test_numpy_vectors_equal_sentence_transformers(model_dir):
    expected = sentence_transformers_vectors()
    got = NumpyMiniLM(model_dir).encode(TEXTS, batch_size=3)  # mixed lengths across batches: padding is masked
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(np.load(REFERENCE) - expected).max() < 1e-6  # the stored vectors are still upstream's


def test_numpy_vectors_equal_the_stored_sentence_transformers_vectors(model_dir):
    expected = np.load(REFERENCE)
    got = NumpyMiniLM(model_dir).encode(TEXTS, batch_size=3)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_both_paths_give_the_stored_vectors(model_dir):
    """A question's few texts run packed on the calling thread; a passage batch runs padded on the pool. Both
    compute upstream's function: the packed path for each text alone and all together, the padded one for a call
    too large to pack."""
    expected = np.load(REFERENCE)
    model = NumpyMiniLM(model_dir)
    ids = [model.tokenizer.encode(text).ids for text in TEXTS]
    together = model._forward_packed(ids)
    alone = np.vstack([model._forward_packed([one]) for one in ids])
    padded = model.encode(TEXTS * 2, batch_size=3)  # 14 texts: more than a packed call takes
    for got in (together, alone, padded[:len(TEXTS)], padded[len(TEXTS):]):
        assert np.abs(got - expected).max() < 1e-5


def test_the_installed_weights_are_upstreams_byte_for_byte(model_dir):
    for name, digest in SHA256.items():
        assert hashlib.sha256((model_dir / name).read_bytes()).hexdigest() == digest, name


def test_the_default_install_needs_no_torch():
    """torch and sentence-transformers are 1.1 GB: nothing hrbot needs without extras may bring them."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    needed, queue = set(), ["hrbot"]
    while queue:
        name = queue.pop()
        try:
            listed = requires(name) or []
        except PackageNotFoundError:  # not installed: a dependency for another platform
            continue
        for line in listed:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency not in needed:
                needed.add(dependency)
                queue.append(dependency)
    assert "numpy" in needed and "tokenizers" in needed
    assert not needed & {"torch", "sentence-transformers", "transformers", "scipy"}, sorted(needed)


def test_the_numpy_gelu_uses_erf_to_float32_rounding():
    x = np.linspace(-8, 8, 160_001, dtype=np.float32)
    exact = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert np.abs(erf(x) - exact).max() < 5e-7
    assert erf(np.array([0.0, 10.0, -10.0], dtype=np.float32)).tolist() == [0.0, 1.0, -1.0]


def test_threads_do_not_change_a_vector(model_dir):
    texts = TEXTS * 5
    alone = NumpyMiniLM(model_dir, threads=1).encode(texts, batch_size=4)
    shared = NumpyMiniLM(model_dir, threads=3).encode(texts, batch_size=4)
    assert np.abs(alone - shared).max() < 1e-6


def test_batching_does_not_change_a_vector(model_dir):
    model = NumpyMiniLM(model_dir)
    alone = model.encode([TEXTS[0]])
    among_longer = model.encode([TEXTS[-1], TEXTS[0], TEXTS[3]], batch_size=8)
    assert np.abs(alone[0] - among_longer[1]).max() < 1e-5


def test_safetensors_reader_gives_the_shapes_of_the_header(model_dir):
    tensors = read_safetensors(model_dir / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert tensors["encoder.layer.5.output.dense.weight"].shape == (384, 1536)


def test_auto_never_imports_torch_even_to_store_passages():
    """What `hrbot search` / `ask` gain (no 7 s torch import) and what ingestion and serving gain (no 750 MB of
    torch in memory, the same speed): 'auto' is the numpy runtime whether or not torch is installed (checked in a
    fresh interpreter)."""
    code = ("import sys; from knowledge.search.embeddings import LocalEmbeddings; e = LocalEmbeddings(runtime='auto'); "
            "assert len(e.embed_query('How much annual leave do I have?')) == 384; "
            "assert e.embed_bulk([f'passage {i} of a policy' for i in range(100)]).shape == (100, 384); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@needs_torch
def test_the_torch_runtime_computes_the_same_vectors():
    torch_runtime = LocalEmbeddings(runtime="torch")
    assert torch_runtime.dimension == 384
    assert np.abs(torch_runtime.embed_bulk(TEXTS) - np.load(REFERENCE)).max() < 1e-6


def test_the_torch_runtime_without_the_extra_names_it():
    if find_spec("sentence_transformers") is not None:
        pytest.skip("the torch extra is installed here")
    with pytest.raises(ConfigurationError, match=r"hrbot\[torch\]"):
        LocalEmbeddings(runtime="torch")


def test_an_unknown_runtime_is_refused_with_the_choices():
    with pytest.raises(ConfigurationError, match="auto, numpy, torch"):
        LocalEmbeddings(runtime="onnx")


def test_multilingual_auto_follows_the_profiles_languages():
    auto = Settings.from_env(environ={}, dotenv_path=None)
    assert auto.multilingual == "auto"
    assert build_multilingual(auto, languages=1) is None
    assert build_multilingual(auto, languages=2) is not None
    always = Settings.from_env(environ={"HRBOT_MULTILINGUAL": "use"}, dotenv_path=None)
    assert build_multilingual(always, languages=1) is not None
    with pytest.raises(ConfigurationError, match="'auto', 'use' or 'off'"):
        build_multilingual(Settings.from_env(environ={"HRBOT_MULTILINGUAL": "maybe"}, dotenv_path=None))


@pytest.mark.parametrize("languages, mode, on", [
    (["en"], "auto", False), (["de"], "auto", False), (["en", "en"], "auto", False),  # one language, however named
    (["en", "de"], "auto", True), (["de", "en"], "auto", True),                          # a second language
    (["en"], "use", True), (["en", "de"], "off", False)])
def test_auto_means_the_profile_lists_a_second_language(languages, mode, on, embeddings):
    """What a process builds from the company profile, end to end: the second embedding (and so the ingestor's
    second vectors and the searcher's second search) exists with 'auto' exactly when the profile lists a language
    besides its first; 'use' and 'off' overrule the profile."""
    from types import SimpleNamespace

    from knowledge.profile.load import parse_profile
    from knowledge.runtime import Runtime
    from knowledge.settings import SAMPLE_PROFILE

    listed = "languages = [" + ", ".join(f'"{code}"' for code in languages) + "]"
    text = SAMPLE_PROFILE.read_text().replace('languages = ["en", "de"]', listed)
    assert text != SAMPLE_PROFILE.read_text() or languages == ["en", "de"]
    if "de" not in languages:  # words in a language the company no longer lists are a profile error: drop them too
        text = re.sub(r"\nde = [^\n]+\n", "\n", text)  # [company.hr_contact_in]'s German contact
        text, dropped = re.subn(r"\n\[leave_type_names\.de\]\n(?:[^\n]+\n)+", "\n", text)  # to the blank line
        assert dropped == 1
    profile = parse_profile(text)
    rt = Runtime(Settings.from_env(environ={"HRBOT_MULTILINGUAL": mode}, dotenv_path=None), profile=profile,
                 embeddings=embeddings, db=SimpleNamespace(owner=SimpleNamespace()))  # no database is opened
    assert (rt.multilingual is not None) == on
    assert rt.ingestor.multilingual is rt.multilingual and rt.searcher.multilingual is rt.multilingual


def test_questions_in_the_first_language_search_without_the_multilingual_vector(sample_runtime):
    searcher = sample_runtime.searcher  # the sample company asks in its first language and one more
    assert searcher.multilingual is not None
    assert not searcher.wants_multilingual("How much annual leave do I have?")
    assert searcher.wants_multilingual("Wie viele Urlaubstage habe ich noch?")


def test_the_reranker_lifts_the_passage_whose_one_sentence_answers(embeddings):
    from knowledge.answering.answers import passage_sentences
    from knowledge.answering.selection import MeaningScorer, SentenceReranker

    reranker = SentenceReranker(MeaningScorer(embeddings),
                                lambda text, section: [c for _, c in passage_sentences(text, section)])
    answer = ("Our offices open at 8am. Parking is free for staff. The dental plan pays for implants up to 2,000 "
              "euros a year. Coffee is on the house.")
    rows = [(1, 1, "a", "A", None, None, None, "Benefits overview", "Dental care matters to us and our staff.", 0.62),
            (2, 1, "a", "A", None, None, None, "Office life", answer, 0.55)]
    question = embeddings.embed_array(["Does the dental plan cover implants?"])[0]
    ranked = reranker(question, rows, text_at=8, section_at=7, score_at=9)
    assert [r[0] for r in ranked] == [2, 1]
    assert SentenceReranker(reranker.scorer, reranker.sentences, weight=0)(question, rows, 8, 7, 9) == rows


def test_questions_in_another_language_are_not_reranked(sample_runtime):
    searcher = sample_runtime.searcher
    assert searcher.reranker is not None
    assert searcher.rerank_for("Does our dental plan cover implants?")
    assert not searcher.rerank_for("Übernimmt die Zahnversicherung Implantate?")


if __name__ == "__main__":  # writes the stored reference vectors (needs the .[torch] extra)
    np.save(REFERENCE, sentence_transformers_vectors())
    print(f"written to {REFERENCE}")
