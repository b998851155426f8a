"""Messages and records are JSON only: Dramatiq's encoder is its JSONEncoder, and no code path
can unpickle (or otherwise deserialise code from) data that came from Redis or a request."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import dramatiq
from dramatiq.encoder import JSONEncoder

ROOT = Path(__file__).resolve().parents[2]
UNSAFE = {
    "pickle": re.compile(r"\b(c?pickle|PickleEncoder|dill|cloudpickle)\b"),
    "marshal": re.compile(r"\bmarshal\.loads?\b"),
    "shelve": re.compile(r"\bimport shelve\b"),
    "yaml.load without SafeLoader": re.compile(r"\byaml\.(unsafe_load|load|full_load)\("),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\("),
    "a custom Dramatiq encoder": re.compile(r"\bset_encoder\("),
}


def python_sources() -> list[Path]:
    return sorted(p for folder in ("services",) for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts and ".egg-info" not in str(p))


def test_no_code_uses_pickle_marshal_eval_or_unsafe_yaml():
    sources = python_sources()
    assert any(p.name == "broker.py" for p in sources)
    found = [f"{path.relative_to(ROOT)}:{number}: {what}"
             for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for what, pattern in UNSAFE.items() if pattern.search(line.split("#", 1)[0])]
    assert found == []


def test_dramatiq_encodes_messages_as_json_once_the_broker_is_installed():
    script = (
        "import dramatiq\n"
        "from dramatiq.encoder import JSONEncoder\n"
        "from workers.runner import boot\n"
        "from hookyard.base.settings import Settings\n"
        "boot(Settings.from_env({}))\n"
        "import hookyard.actors, workers.runner, ingest.app\n"
        "assert type(dramatiq.get_encoder()) is JSONEncoder, dramatiq.get_encoder()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PATH": "", "PYTHONPATH": str(ROOT / "services")}, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_default_encoder_in_this_process_is_json():
    assert type(dramatiq.get_encoder()) is JSONEncoder
    message = dramatiq.Message(queue_name="q", actor_name="a", args=("job-id",), kwargs={},
                               options={})
    assert message.encode().startswith(b"{")
