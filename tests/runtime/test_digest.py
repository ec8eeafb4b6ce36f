"""The files' digests: SHA-256, without OpenSSL."""

from __future__ import annotations

import hashlib
import subprocess

from tests.conftest import PYTHON, REPO


def test_file_digests_are_sha256_without_loading_openssl(tmp_path):
    """runtime.digest is hashlib's SHA-256, and the runtime, loading a model's modules and
    hashing a file, adds no `_hashlib` (OpenSSL: about 3.6 MB of resident memory) to what numpy
    loaded (numpy 1.x loads it itself, through `secrets`; numpy 2 does not)."""
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 9000)  # more than one 1 MiB block
    code = (
        "import sys; from pathlib import Path; import numpy; "
        "print('_hashlib' in sys.modules); "
        "import runtime.forecaster; from runtime.digest import sha256_file; "
        f"print(sha256_file(Path({str(path)!r}))); print('_hashlib' in sys.modules)"
    )
    res = subprocess.run(
        [*PYTHON, "-c", code],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    by_numpy, digest, after = res.stdout.split()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert after == by_numpy
