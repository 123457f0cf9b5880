"""What a system costs to build, ship and run (notebook 06).

* :func:`latencies`: seconds per query, one query at a time (as a user waits for it), after a
  warm-up, never from the answer cache; :func:`token_costs` splits them into a cost per prompt
  token and per generated token; :func:`interleaved_latencies` times several models alternately; :func:`summarize_latency` gives the median and 90th
  percentile, :func:`median_estimate` the median with a bootstrap interval.
* :func:`merged_copy` folds a LoRA adapter into a copy of its base model (peft's
  ``merge_and_unload``); :func:`int8_copy` quantizes a model's linear layers to 8-bit integers
  (PyTorch's dynamic quantization).
* :func:`artifact_bytes` / :func:`serialized_bytes`: what must be stored or shipped.
* :func:`total_cost` and :func:`break_even`: one-off cost plus per-query cost over a query volume,
  and the volume at which two systems cost the same.
* :func:`run_module_in_child`: a ``python -m`` run in a fresh process, with its wall time and its
  own peak memory (the ``.ci`` measurement scripts use it).

Costs are seconds of this machine's CPU time, not money: the reader multiplies by a price.
"""
from __future__ import annotations

import copy
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import generation
from .evaluate import Estimate

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Latency:
    """Per-query latency over ``n`` queries (seconds)."""

    median: float
    p90: float
    n: int

    def __str__(self) -> str:
        return f"median {self.median:.2f} s, p90 {self.p90:.2f} s (n = {self.n})"


def latencies(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", prompts: Sequence[generation.Messages],
              warmup: int = 3, **kwargs: Any) -> tuple[list[float], list[generation.Answer]]:
    """Wall seconds to answer each prompt alone (batch of one, answer cache off), in order, and the
    answers themselves (their ``new_tokens`` explain much of the time).

    The first ``warmup`` prompts are answered once before timing starts and not counted (the first
    calls pay one-off costs: memory allocation, kernel selection). Keyword arguments go to
    :func:`helpers.generation.generate`.
    """
    if not prompts:
        raise ValueError("no prompts to time")
    if warmup < 0:
        raise ValueError(f"warmup={warmup}: must be 0 or more")
    for p in prompts[:warmup]:
        _timed_answer(model, tokenizer, p, **kwargs)
    timed = [_timed_answer(model, tokenizer, p, **kwargs) for p in prompts]
    return [s for s, _ in timed], [a for _, a in timed]


def _timed_answer(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", prompt: generation.Messages,
                  **kwargs: Any) -> tuple[float, generation.Answer]:
    """One prompt answered alone with the answer cache off, and the wall seconds it took."""
    start = time.perf_counter()
    answer = generation.generate(model, tokenizer, [prompt], batch_size=1, cache=False, **kwargs)[0]
    return time.perf_counter() - start, answer


def interleaved_latencies(models: Mapping[str, "PreTrainedModel"], tokenizer: "PreTrainedTokenizerBase",
                          prompts: Sequence[generation.Messages], warmup: int = 3,
                          **kwargs: Any) -> dict[str, tuple[list[float], list[generation.Answer]]]:
    """Like :func:`latencies` for several models on the same prompts, alternating between them query by
    query (order A, B, ... then reversed for the next query), so that a slow drift of the machine
    (heat, another process) falls on every model alike instead of on whichever was timed last.
    Returns, per model, the seconds and the answers, in prompt order."""
    if len(models) < 2:
        raise ValueError("interleaving needs at least two models")
    if not prompts:
        raise ValueError("no prompts to time")
    names = list(models)
    for name in names:
        for p in prompts[:warmup]:
            _timed_answer(models[name], tokenizer, p, **kwargs)
    out: dict[str, tuple[list[float], list[generation.Answer]]] = {name: ([], []) for name in names}
    for i, p in enumerate(prompts):
        for name in (names if i % 2 == 0 else names[::-1]):
            seconds, answer = _timed_answer(models[name], tokenizer, p, **kwargs)
            out[name][0].append(seconds)
            out[name][1].append(answer)
    return out


@dataclass(frozen=True)
class TokenCosts:
    """A least-squares fit ``seconds = fixed + per_prompt_token * prompt tokens + per_new_token * new tokens``."""

    fixed: float
    per_prompt_token: float
    per_new_token: float
    n: int


def token_costs(prompt_tokens: Sequence[int], new_tokens: Sequence[int], seconds: Sequence[float]) -> TokenCosts:
    """Split per-query time into a fixed part, a cost per prompt token and a cost per generated token
    (``numpy.linalg.lstsq``). Reading the prompt is one batched pass; each generated token is one more
    pass through the whole model, so the two rates differ by much."""
    import numpy as np

    if not (len(prompt_tokens) == len(new_tokens) == len(seconds)) or len(seconds) < 3:
        raise ValueError(f"need at least 3 queries with all three numbers ({len(prompt_tokens)}, "
                         f"{len(new_tokens)}, {len(seconds)})")
    design = np.column_stack([np.ones(len(seconds)), np.asarray(prompt_tokens, float), np.asarray(new_tokens, float)])
    if np.linalg.matrix_rank(design) < 3:
        raise ValueError("prompt and reply lengths must vary independently to separate their costs")
    (fixed, per_prompt, per_new), *_ = np.linalg.lstsq(design, np.asarray(seconds, float), rcond=None)
    return TokenCosts(float(fixed), float(per_prompt), float(per_new), len(seconds))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation (numpy's default method)."""
    import numpy as np

    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q={q}: must be within 0..100")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarize_latency(seconds: Sequence[float]) -> Latency:
    """Median and 90th percentile of per-query seconds."""
    return Latency(median=statistics.median(seconds), p90=percentile(seconds, 90), n=len(seconds))


def median_estimate(seconds: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000,
                    seed: int = 0) -> Estimate:
    """The median of per-query seconds with a percentile bootstrap interval (``scipy.stats.bootstrap``),
    for plotting latency with its uncertainty."""
    import numpy as np
    from scipy.stats import bootstrap

    data = np.asarray(seconds, dtype=float)
    if data.size < 2:
        raise ValueError("a median interval needs at least two values")
    res = bootstrap((data,), np.median, confidence_level=confidence, n_resamples=n_resamples,
                    method="percentile", rng=np.random.default_rng(seed))
    return Estimate(float(np.median(data)), float(res.confidence_interval.low),
                    float(res.confidence_interval.high), int(data.size))


def merged_copy(peft_model: Any) -> "PreTrainedModel":
    """A copy of ``peft_model`` with its LoRA weights added into the base weights (peft's
    ``merge_and_unload``): the same function, without the adapter's extra matrix products at run
    time. The original model is left as it was.

    Only the adapted layers are copied: every other tensor (embeddings, norms, the layers LoRA does
    not touch) is shared with ``peft_model``, whose weights no one changes in place, so the copy
    costs the adapted matrices' bytes instead of a whole second model (about 0.5 GB for the series'
    generator). A shared tensor is never written: merging writes only into the copied layers. Never
    change either model's weights in place afterwards (the other would change too)."""
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer

    if not isinstance(peft_model, PeftModel):
        raise TypeError(f"expected a peft PeftModel, got {type(peft_model).__name__}")
    import torch

    adapted = {id(t) for m in peft_model.modules() if isinstance(m, LoraLayer)
               for t in (*m.parameters(), *m.buffers())}
    # deepcopy's memo maps an object to its copy: a new Parameter over the same storage shares the memory
    # but not the Parameter object, so converting one model (``.to(torch.bfloat16)``) leaves the other as it was
    shared: dict[int, Any] = {id(p): torch.nn.Parameter(p.data, requires_grad=p.requires_grad)
                              for p in peft_model.parameters() if id(p) not in adapted}
    shared.update({id(b): b for b in peft_model.buffers() if id(b) not in adapted})
    with warnings.catch_warnings():
        # peft reads transformers' deprecated ``is_gradient_checkpointing`` (see helpers.finetune)
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        return copy.deepcopy(peft_model, shared).merge_and_unload().eval()


def int8_copy(model: "PreTrainedModel", per_channel: bool = True) -> "PreTrainedModel":
    """A copy of ``model`` whose ``nn.Linear`` layers hold 8-bit integer weights and quantize their
    inputs on the fly (PyTorch dynamic quantization, CPU only). Embeddings and norms stay float32.

    ``per_channel``: one scale per output row of each weight matrix (``per_channel_dynamic_qconfig``)
    instead of one per matrix (``default_dynamic_qconfig``); finer scales lose less precision where
    rows differ in range.

    Written with ``torch.ao.quantization.quantize_dynamic``: the one int8 path that ships inside
    the torch wheel the series pins (2.13). PyTorch marks it deprecated in favour of the separate
    ``torchao`` package; its warning is silenced here because the function still works and
    ``torchao`` would add a dependency whose CPU kernels need ``torch.compile`` to be fast.
    """
    import torch

    if next(model.parameters()).device.type != "cpu":
        raise ValueError("dynamic int8 quantization runs on the CPU only; load the model with RAGFT_DEVICE=cpu")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        # quantize_dynamic copies the model itself (inplace=False): one float32 copy at a time, not two
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.qint8,
                                                           inplace=False)
    return quantized.eval()


def serialized_bytes(model: Any) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what shipping this model's weights takes."""
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def artifact_bytes(path: Path | str) -> int:
    """Size of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    raise FileNotFoundError(f"{path}: no such file or folder")


def total_cost(one_off: float, per_query: float, n_queries: float) -> float:
    """One-off cost plus ``n_queries`` times the cost of one query."""
    if one_off < 0 or per_query < 0 or n_queries < 0:
        raise ValueError(f"costs and volume must be non-negative (got {one_off}, {per_query}, {n_queries})")
    return one_off + per_query * n_queries


def break_even(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    """The query volume at which systems ``a`` and ``b`` (each ``(one_off, per_query)``) cost the
    same, or ``None`` if one is never more expensive than the other for any positive volume."""
    (fixed_a, each_a), (fixed_b, each_b) = a, b
    if each_a == each_b:
        return None
    n = (fixed_b - fixed_a) / (each_a - each_b)
    return n if n > 0 else None


def cheapest(systems: Mapping[str, tuple[float, float]], n_queries: float) -> str:
    """The system with the lowest total cost at ``n_queries`` (ties: the first given)."""
    if not systems:
        raise ValueError("no systems")
    return min(systems, key=lambda name: total_cost(*systems[name], n_queries))


@dataclass(frozen=True)
class ChildRun:
    """One :func:`run_module_in_child` run: exit status, wall seconds, the child's own peak resident
    memory in bytes, and what it printed."""

    returncode: int
    seconds: float
    peak_bytes: int
    stdout: str
    stderr: str


# Runs the module as ``python -m`` would, and at exit (also on SystemExit or an error) writes the
# process's VmHWM, its own peak resident set, to the file named by RAGFT_PEAK_FILE.
_PEAK_WRAPPER = """import os, re, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status", encoding="ascii") as status:
        peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
    with open(os.environ["RAGFT_PEAK_FILE"], "w", encoding="ascii") as out:
        out.write(peak)
"""


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """The systems no other system beats on both counts, ordered by cost: ``points`` maps a name to
    (cost, lower is better; value, higher is better). A system is on the front unless another has a
    cost as low and a value as high, and is strictly better on one of them."""
    def dominated(n: str) -> bool:
        c, v = points[n]
        return any(c2 <= c and v2 >= v and (c2 < c or v2 > v) for m, (c2, v2) in points.items() if m != n)

    return sorted((n for n in points if not dominated(n)), key=lambda n: (points[n][0], -points[n][1]))


def run_module_in_child(module: str, args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                        cwd: Path | str | None = None) -> ChildRun:
    """``python -m module args`` in a fresh process (environment ``env``, default this one's): its
    exit status, wall seconds, output, and its own peak resident memory.

    The peak is the child's ``VmHWM`` (Linux ``/proc``), read by the child itself at exit. Not
    ``ru_maxrss`` (``resource.getrusage`` in the child, or ``RUSAGE_CHILDREN`` / ``wait4`` in the
    parent): Linux carries the forked parent's peak across ``exec``, so a child started by a process
    that once held a 7 GB model reports 7 GB whatever it used. Raises ``RuntimeError`` where there is
    no ``/proc/self/status`` (macOS, Windows)."""
    if not Path("/proc/self/status").exists():
        raise RuntimeError("run_module_in_child measures peak memory from /proc/self/status: Linux only")
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak_kb"
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, module, *args], cwd=cwd, capture_output=True,
                              text=True, env={**(os.environ if env is None else env), "RAGFT_PEAK_FILE": str(peak_file)})
        seconds = time.perf_counter() - began
        peak_kb = int(peak_file.read_text(encoding="ascii")) if peak_file.exists() else 0
    return ChildRun(done.returncode, seconds, peak_kb * 1024, done.stdout, done.stderr)
