"""The PostgreSQL tests' server check (tests/pg_server.py) in a real pytest run: without
a usable server they skip saying why, under CI they fail saying why, and an error that is
not about reaching the server fails everywhere (once, any error became a skip)."""

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
PROBE = "from pg_server import require_server\n\n\ndef test_needs_the_server():\n    require_server()\n"
NO_SERVER = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens on port 1


def probe(tmp_path, url, ci):
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "TUNEYARD_TEST_POSTGRES": url,
           "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider",
                           str(tmp_path / "test_probe.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_no_server_is_a_skip_naming_why_outside_ci(tmp_path, ci):
    done = probe(tmp_path, NO_SERVER, ci)
    assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
    assert "no PostgreSQL server accepts a login at 127.0.0.1:1 as postgres" in done.stdout


@pytest.mark.parametrize("ci", ["1", "true"])
def test_no_server_is_a_failure_naming_why_under_ci(tmp_path, ci):
    done = probe(tmp_path, NO_SERVER, ci)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout
    assert "cannot run under CI: no PostgreSQL server accepts a login at 127.0.0.1:1" in done.stdout


def test_an_error_that_is_not_about_the_server_fails_outside_ci_too(tmp_path):
    done = probe(tmp_path, "postgresql://postgres@127.0.0.1:1/postgres?no_such_option=1", None)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout
    assert "invalid dsn" in done.stdout


@pytest.mark.parametrize(("ci", "outcome", "code"), [(None, "1 skipped", 0), ("1", "1 failed", 1)])
def test_a_refused_login_skips_outside_ci_and_fails_under_it(tmp_path, ci, outcome, code):
    # The machine's server refuses a role it does not know (and no server refuses it too).
    done = probe(tmp_path, "postgresql://no_such_role@127.0.0.1:5432/postgres", ci)
    assert done.returncode == code and outcome in done.stdout, done.stdout
    assert "no PostgreSQL server accepts a login at 127.0.0.1:5432 as no_such_role" in done.stdout


@pytest.mark.parametrize(("ci", "outcome", "code"), [(None, "1 skipped", 0), ("1", "1 failed", 1)])
def test_no_psycopg2_skips_outside_ci_and_fails_under_it(tmp_path, ci, outcome, code):
    (tmp_path / "psycopg2.py").write_text("raise ImportError('psycopg2 stand-in: not installed')\n")
    done = probe(tmp_path, NO_SERVER, ci)  # the working directory comes first on the path
    assert done.returncode == code and outcome in done.stdout, done.stdout
    assert "psycopg2 is not installed (psycopg2 stand-in: not installed)" in done.stdout
