"""The `tierslieu` command works from any directory, also from a built wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import IS_POSTGRES, PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_commands_from_a_wheel_in_another_directory(tmp_path: Path) -> None:
    if IS_POSTGRES:
        pytest.skip("the wheel is checked once, on the SQLite pass")
    if shutil.which("uv") is None and not _has_pip_wheel():
        pytest.skip("cannot build a wheel here")
    dist = tmp_path / "dist"
    build = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert build.returncode == 0, build.stderr
    wheel = next(dist.glob("tierslieu-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("tierslieu/_migrations/versions/") for n in names), (
        "migrations not shipped"
    )

    # Unpack the wheel (what an install does for a pure-Python package) away from the checkout.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEU_")}
    env["PYTHONPATH"] = str(site)
    env["TIERSLIEU_PASSWORD_HASH_PROFILE"] = "fast"
    cli = [
        sys.executable,
        "-c",
        "import sys, tierslieu.cli as c; "
        "assert 'site' in c.__file__, c.__file__; sys.exit(c.main(sys.argv[1:]))",
    ]

    upgraded = _run([*cli, "db", "upgrade"], workdir, env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (workdir / "tierslieu.db").exists()
    for _ in range(2):  # idempotent
        demo = _run([*cli, "demo"], workdir, env)
        assert demo.returncode == 0, demo.stderr
        assert "sophie@les-tilleuls.test" in demo.stdout
    admin = _run(
        [*cli, "create-admin", "chef.projet@exemple.test", "--password", PASSWORD], workdir, env
    )
    assert admin.returncode == 0, admin.stderr
    weak = _run([*cli, "create-admin", "x@exemple.test", "--password", "court"], workdir, env)
    assert weak.returncode == 1
    down = _run([*cli, "db", "downgrade"], workdir, env)
    assert down.returncode == 0, down.stderr


def _has_pip_wheel() -> bool:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        return False
    return True
