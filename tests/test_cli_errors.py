"""Command-line tools fail with one clear line and a non-zero exit, never a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _qunbot(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "-c", str(ROOT / "config.toml"), *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_chat_with_the_service_down_says_so_in_one_line():
    run = _qunbot("chat", "--as", "guide", "--url", f"http://127.0.0.1:{_closed_port()}", stdin="帮助\n")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "does not answer" in run.stderr and "make run" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_output_closed_early_is_not_a_traceback():
    # `qunbot ask ... | head -1`: the reader leaves after one line while answers keep coming.
    catalog, faq = ROOT / "data" / "catalog.csv", ROOT / "data" / "faq.csv"
    questions = "".join('{"q": "草莓多少钱"}\n' for _ in range(20000))
    cmd = (f"{sys.executable} -m bot ask --catalog {catalog} --faq {faq} | head -1")
    run = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], cwd=ROOT, input=questions,
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stdout.count("\n") == 1


def test_ask_takes_the_catalog_and_faq_from_the_config():
    run = _qunbot("ask", stdin="草莓多少钱\n营业时间\n")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and '"intent": "product"' in lines[0] and '"intent": "faq"' in lines[1]


def test_ask_with_a_missing_file_says_which():
    run = _qunbot("ask", "--catalog", "/nonexistent/catalog.csv", stdin="草莓\n")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "/nonexistent/catalog.csv" in run.stderr


def test_serve_on_a_port_in_use_says_so_before_starting_anything():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _qunbot("serve", "--port", str(port))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and f"port {port} on 127.0.0.1 is in use" in run.stderr
    assert "redis" not in run.stderr.lower()  # refused before start-up started the embedded Redis
