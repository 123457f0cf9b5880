"""The install's choice of torch index (.ci/torch_index.py): explicit settings, nvidia-smi, and the probe of
the CPU index against real local servers (one that answers, one that refuses, one that never answers)."""
from __future__ import annotations

import http.server
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import config

SCRIPT = config.REPO_ROOT / ".ci" / "torch_index.py"
_spec = importlib.util.spec_from_file_location("torch_index", SCRIPT)
torch_index = importlib.util.module_from_spec(_spec)
sys.modules["torch_index"] = torch_index
_spec.loader.exec_module(torch_index)


@pytest.fixture()
def no_gpu_tools(tmp_path, monkeypatch) -> Path:
    """A PATH without nvidia-smi (an empty folder); returns that folder."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


@pytest.fixture()
def index_server():
    """A local HTTP server with a ``/whl/cpu/torch/`` page, like PyTorch's index; yields its index URL."""
    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            found = self.path == "/whl/cpu/torch/"
            self.send_response(200 if found else 404)
            self.end_headers()
            if found:
                self.wfile.write(b"<a href='torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl'>torch</a>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("setting", ["default", "DEFAULT", "pypi", " default "])
def test_default_means_pip_default_without_probe(setting):
    choice = torch_index.choose(setting, cpu_index="http://127.0.0.1:1/never-asked")
    assert choice.url == "" and "as asked" in choice.reason


def test_a_url_is_taken_as_given():
    choice = torch_index.choose("https://mirror.example/whl/cpu", cpu_index="http://127.0.0.1:1/never-asked")
    assert choice == torch_index.Choice("https://mirror.example/whl/cpu",
                                        "TORCH_INDEX_URL=https://mirror.example/whl/cpu: as asked")


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_macos_and_windows_use_pypi(system):
    choice = torch_index.choose("", cpu_index="http://127.0.0.1:1/never-asked", system=system)
    assert choice.url == "" and "already the small build" in choice.reason


def test_nvidia_smi_means_the_cuda_build(no_gpu_tools, index_server):
    tool = no_gpu_tools / "nvidia-smi"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    choice = torch_index.choose("auto", cpu_index=index_server, system="Linux")
    assert choice.url == "" and str(tool) in choice.reason and f"TORCH_INDEX_URL={index_server}" in choice.reason


@pytest.mark.parametrize("setting", ["", "auto", None])
def test_no_gpu_and_a_reachable_cpu_index(no_gpu_tools, index_server, setting):
    choice = torch_index.choose(setting, cpu_index=index_server, system="Linux")
    assert choice.url == index_server
    assert "no nvidia-smi here" in choice.reason and "HTTP 200" in choice.reason


def test_refused_connection_falls_back_at_once(no_gpu_tools):
    began = time.monotonic()
    choice = torch_index.choose("", cpu_index=f"http://127.0.0.1:{_free_port()}/whl/cpu", timeout=5, system="Linux")
    assert choice.url == "" and "cannot be reached" in choice.reason and "TORCH_INDEX_URL=default" in choice.reason
    assert time.monotonic() - began < 2


def test_an_index_that_never_answers_costs_the_timeout_only(no_gpu_tools):
    with socket.socket() as silent:   # accepts connections (the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        began = time.monotonic()
        choice = torch_index.choose("", cpu_index=f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu",
                                    timeout=1.0, system="Linux")
        seconds = time.monotonic() - began
    assert choice.url == "" and "cannot be reached" in choice.reason
    assert 0.9 <= seconds < 2.5


def test_an_index_without_torch_is_not_used(no_gpu_tools, index_server):
    choice = torch_index.choose("", cpu_index=index_server.replace("/whl/cpu", "/elsewhere"), system="Linux")
    assert choice.url == "" and "HTTP Error 404" in choice.reason


def test_command_line_prints_the_url_alone_on_stdout(index_server):
    env = {**os.environ, "TORCH_INDEX_URL": "default"}
    by_env = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=30)
    assert by_env.returncode == 0 and by_env.stdout == "\n"
    assert by_env.stderr.startswith("torch index: (pip default) - TORCH_INDEX_URL=default")
    assert "[decided in 0.0 s]" in by_env.stderr
    by_arg = subprocess.run([sys.executable, str(SCRIPT), index_server], capture_output=True, text=True, env=env,
                            timeout=30)
    assert by_arg.stdout == index_server + "\n"   # an argument wins over the environment
