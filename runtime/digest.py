"""SHA-256 of the files a device loads, without OpenSSL where CPython has its own.

hashlib maps OpenSSL's libcrypto on import. For hashing files of tens of KB a runtime process
does not need it: peak resident memory of Python 3.11 with numpy, hashing once, is 24.9 MB with
CPython's built-in `_sha256` and 28.6 MB with `hashlib` (3 runs each, `ru_maxrss`). numpy 1.x
loads OpenSSL anyway (through `secrets`: the classic Pi environment); numpy 2 does not. The
built-in module is private (`_sha2` from 3.12), so hashlib stays the fallback;
tests/runtime/test_digest.py checks the digests against hashlib's and that the runtime adds no
`_hashlib` to what numpy loaded.
"""

from __future__ import annotations

from pathlib import Path

try:
    from _sha2 import sha256  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256", "sha256_file"]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
