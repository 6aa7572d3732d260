"""The two runtimes of the local model side by side (issue 10 item 6): load time, one question, bulk passages,
and how far apart their vectors are.

    python benchmarks/embed_runtimes.py

'numpy' is knowledge/search/minilm.py over the wheel's safetensors; 'torch' is sentence-transformers (the
`.[torch]` extra must be installed). Each is loaded in a fresh interpreter so the load time includes its imports.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
started = time.perf_counter()
from knowledge.search.embeddings import LocalEmbeddings
model = LocalEmbeddings(runtime=sys.argv[1])
loaded = time.perf_counter() - started
sys.path.insert(0, "benchmarks")
from _common import percentile
from knowledge.search.evaluation import EVAL_SET, load_questions
questions = [q.question for q in load_questions(EVAL_SET)]
model._encode(questions[:3])
seconds = []
for q in questions:
    t = time.perf_counter(); model._encode([q]); seconds.append(time.perf_counter() - t)
sentence = "Employees may carry over up to five days of unused annual leave into the next leave year. "
passages = [f"Section {i}. " + sentence * 12 for i in range(256)]  # about 200 tokens each, like real chunks
t = time.perf_counter(); vectors = model._encode(passages); bulk = time.perf_counter() - t
import numpy as np
np.save(sys.argv[2], np.vstack([model._encode(questions), vectors]))
print(json.dumps({"load_s": round(loaded, 2), "question_p50_ms": round(percentile(seconds, 50) * 1000, 2),
                  "question_p95_ms": round(percentile(seconds, 95) * 1000, 2),
                  "passages_per_s": round(len(passages) / bulk, 1)}))
"""


def run(runtime: str, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, runtime, str(out)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    import tempfile

    import numpy as np

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in ("numpy", "torch"):
            results[runtime] = run(runtime, Path(tmp) / f"{runtime}.npy")
        a, b = np.load(Path(tmp) / "numpy.npy"), np.load(Path(tmp) / "torch.npy")
        results["max_abs_difference"] = float(np.abs(a - b).max())
        results["min_cosine"] = float((a * b).sum(axis=1).min())
    path = write_result("embed_runtimes", results)
    for runtime in ("numpy", "torch"):
        r = results[runtime]
        print(f"{runtime:6} load {r['load_s']} s  question p50 {r['question_p50_ms']} ms "
              f"p95 {r['question_p95_ms']} ms  bulk {r['passages_per_s']} passages/s")
    print(f"vectors: max |difference| {results['max_abs_difference']:.2e}, min cosine {results['min_cosine']:.7f}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
