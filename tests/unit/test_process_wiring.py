"""How a process is wired: one job store per worker process, and ingest without Dramatiq."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_worker_process_has_one_job_store_shared_by_the_lifecycle_and_the_actors():
    out = run_python(
        "from hookyard.base.settings import Settings\n"
        "from hookyard.jobs.lifecycle import JobLifecycle\n"
        "from hookyard.jobs import runtime\n"
        "from workers.runner import boot\n"
        "rt, broker = boot(Settings.from_env({}))\n"
        "[lifecycle] = [m for m in broker.middleware if isinstance(m, JobLifecycle)]\n"
        "print(lifecycle.jobs is rt.jobs is runtime.current().jobs)\n")
    assert out == "True"


def test_ingest_imports_no_dramatiq():
    out = run_python("import sys\nimport ingest.app\nprint('dramatiq' in sys.modules)\n")
    assert out == "False"


def test_what_gunicorn_s_master_loads_imports_no_prometheus_client():
    """prometheus_client picks in-process or multiprocess values when first imported; the
    master loads these modules before gunicorn_conf sets PROMETHEUS_MULTIPROC_DIR, so an
    import here would leave every worker counting into its own memory, never exported."""
    out = run_python("import sys\n"
                     "import ingest.gunicorn_conf\n"
                     "import ingest.gunicorn_logging\n"
                     "import ingest.gunicorn_worker\n"
                     "print('prometheus_client' in sys.modules)\n")
    assert out == "False"
