"""Which ``redis-server`` the local stack, tests and benchmarks start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devstack.redis_server import find_redis_server


def fake_binary(folder: Path) -> Path:
    folder.mkdir(parents=True)
    binary = folder / "redis-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


@pytest.fixture
def inside_a_virtualenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    venv = tmp_path / "venv"
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "python"))
    return venv


def test_a_system_redis_server_wins_over_the_virtualenv_copy(
        tmp_path: Path, inside_a_virtualenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv_copy = fake_binary(inside_a_virtualenv / "bin")
    system = fake_binary(tmp_path / "usr" / "bin")
    monkeypatch.setenv("PATH", f"{venv_copy.parent}:{system.parent}")

    assert find_redis_server() == str(system)


def test_the_virtualenv_copy_is_used_when_it_is_the_only_one(
        tmp_path: Path, inside_a_virtualenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv_copy = fake_binary(inside_a_virtualenv / "bin")
    monkeypatch.setenv("PATH", f"{venv_copy.parent}:{tmp_path / 'empty'}")

    assert find_redis_server() == str(venv_copy)


def test_the_first_redis_server_on_path_wins_outside_a_virtualenv(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    first = fake_binary(tmp_path / "a")
    fake_binary(tmp_path / "b")
    monkeypatch.setenv("PATH", f"{first.parent}:{tmp_path / 'b'}")

    assert find_redis_server() == str(first)
