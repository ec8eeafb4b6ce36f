"""Cached Debian arm64 and armhf root file systems run under qemu-user: the Pi's user space.

Raspberry Pi OS 64-bit is Debian arm64: 13 "trixie" (Python 3.13) today, 12 "bookworm"
(Python 3.11, glibc 2.36) before it. The 32-bit OS is Debian-based armhf; Debian's own armhf
(ARMv7, Pi 2 and later) stands in for it. Each is what a device application sees, minus the kernel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.errors import UserError

CACHE = Path(os.environ.get("PI_CHECK_CACHE", "/var/cache/edge-forecaster"))
# --os: (Debian release, architecture, what it is)
PI_OS = {
    "bookworm": ("bookworm", "arm64", "Debian 12, Python 3.11"),
    "trixie": ("trixie", "arm64", "Debian 13, Python 3.13"),
    "bookworm-armhf": ("bookworm", "armhf", "Debian 12 32-bit, ARMv7, Python 3.11"),
}
MIRROR = "http://deb.debian.org/debian"
# gcc and libc6-dev: the Pi's own compiler builds the generated C files (export/c.py); on armhf
# numpy comes from Debian (PyPI has no armv7l wheel of it, nor of any interpreter)
PACKAGES = "python3,python3-venv,python3-pip,ca-certificates,gcc,libc6-dev"
EXTRA_PACKAGES = {"armhf": ",python3-numpy"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")
# architecture -> qemu-user binary, binfmt handler name, ELF magic and mask
_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
EMULATORS = {
    "arm64": (
        "qemu-aarch64",
        "edge-forecaster-aarch64",
        r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
        _MASK,
    ),
    "armhf": (
        "qemu-arm",
        "edge-forecaster-arm",
        r"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00",
        _MASK,
    ),
}
CPUS = {"pi4": "cortex-a72", "pi5": "cortex-a76"}
ARMHF_CPU = "cortex-a7"  # qemu-arm emulates 32-bit cores only; the Pi 2's, ARMv7 as Debian armhf


class NeedsRoot(UserError):
    """Not root: chroot, mounts and binfmt registration are impossible."""


class NoEmulation(UserError):
    """binfmt_misc or qemu-user cannot be set up on this machine."""


def run(*cmd: str, **kw: object) -> subprocess.CompletedProcess:
    """Run a host command, raising with its output on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise UserError(f"{' '.join(cmd[:4])} failed: {(proc.stderr or proc.stdout)[-800:]}")
    return proc


def ensure_host_tools(say: object, arch: str = "arm64") -> None:
    """Root, debootstrap, qemu 10 and a binfmt handler for arch, or a clear refusal."""
    if os.geteuid() != 0:
        raise NeedsRoot("pi-check needs root (chroot, mounts, binfmt_misc): run it as root")
    if not shutil.which("debootstrap"):
        say("installing debootstrap (apt) ...")
        try:
            run("apt-get", "update", "-qq")
            run("apt-get", "install", "-y", "-qq", "debootstrap")
        except UserError as e:
            raise NoEmulation(f"cannot install debootstrap: {e}") from None
    ensure_qemu(say)
    if not (BINFMT / "register").exists():
        proc = subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise NoEmulation(
                f"binfmt_misc is not available here ({proc.stderr.strip()}): "
                "emulated arm64 binaries cannot run"
            )
    binary, handler, magic, mask = EMULATORS[arch]
    if not (BINFMT / handler).exists():
        # Our own handler, registered after (so before) any other one for arch; flag F opens
        # the interpreter now, so it works inside the chroot.
        (BINFMT / "register").write_text(f":{handler}:M::{magic}:{mask}:{CACHE / binary}:F\n")


def ensure_qemu(say: object) -> None:
    """qemu-aarch64 and qemu-arm 10 (Debian 13's qemu-user, static), once, into the cache.

    Debian 12's qemu 7.2 shows programs the host's x86 /proc/cpuinfo, and ai-edge-litert and
    onnxruntime then crash creating an interpreter; qemu 10 emulates cpuinfo.
    """
    binaries = [binary for binary, *_ in EMULATORS.values()]
    if all((CACHE / b).exists() for b in binaries):
        return
    say("fetching qemu-user 10 from Debian 13 (once) ...")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "lists" / "partial").mkdir(parents=True)
        (t / "sources.list").write_text(f"deb {MIRROR} trixie main\n")
        opts = [
            f"-oDir::Etc::SourceList={t / 'sources.list'}",
            "-oDir::Etc::SourceParts=/dev/null",
            f"-oDir::State::Lists={t / 'lists'}",
            "-oAPT::Sandbox::User=root",
        ]
        try:
            run("apt-get", *opts, "update", "-qq")
            run("apt-get", *opts, "download", "qemu-user", cwd=tmp)
            deb = next(t.glob("qemu-user_*.deb"))
            run("dpkg-deb", "-x", str(deb), str(t / "x"))
        except (UserError, StopIteration) as e:
            raise NoEmulation(f"cannot fetch qemu-user from Debian 13: {e}") from None
        for binary in binaries:  # a registered handler holds its binary open: keep it
            if not (CACHE / binary).exists():
                shutil.copy(t / "x" / "usr/bin" / binary, CACHE / binary)


def ensure_rootfs(say: object, pi_os: str = "bookworm") -> Path:
    """Build the root file system of a Debian release once (about a minute), then reuse it."""
    release, arch, _ = PI_OS[pi_os]
    packages = PACKAGES + EXTRA_PACKAGES.get(arch, "")
    root = CACHE / f"{release}-{arch}"
    ready = root / ".ready"  # holds the package list it was built with
    if ready.exists() and ready.read_text() == packages:
        link_alternatives(root)
        return root
    if ready.exists():
        say(f"the cached {pi_os} root file system was built without some of {packages}")
    say(f"building a {release} {arch} root file system in {root} (once) ...")
    if root.exists():
        unmount(root)
        shutil.rmtree(root)
    CACHE.mkdir(parents=True, exist_ok=True)
    # --foreign downloads natively; unpacking the .debs on the host replaces the emulated
    # second stage (5 minutes) with a few seconds
    run(
        "debootstrap",
        f"--arch={arch}",
        "--foreign",
        "--variant=minbase",
        f"--include={packages}",
        release,
        str(root),
        MIRROR,
    )
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        run("dpkg-deb", "-x", str(deb), str(root))
    proc_dir = root / "proc"  # debootstrap makes it a link to the host's /proc in a container
    if proc_dir.is_symlink():
        proc_dir.unlink()
    for d in ("proc", "sys", "dev", "work", "tmp"):
        (root / d).mkdir(exist_ok=True)
    link_alternatives(root)
    ready.write_text(packages)
    return root


def link_alternatives(root: Path) -> None:
    """The links the skipped maintainer scripts would have made with update-alternatives: the
    reference BLAS and LAPACK, which Debian's numpy loads (libblas.so.3 was missing on armhf)."""
    for lib in root.glob("usr/lib/*/*/lib*.so.3"):
        link = lib.parent.parent / lib.name
        if lib.parent.name in ("blas", "lapack") and not link.exists():
            link.symlink_to(f"{lib.parent.name}/{lib.name}")


def unmount(root: Path) -> None:
    """Unmount everything mounted under root (innermost first)."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m.startswith(str(root) + "/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


@contextmanager
def mounted(root: Path) -> Iterator[Path]:
    """proc, sys and /dev inside root (LiteRT reads /sys to pick its CPU kernels), and DNS/CA."""
    try:
        for src, dst, kind in (("proc", "proc", "proc"), ("sysfs", "sys", "sysfs")):
            run("mount", "-t", kind, src, str(root / dst))
        run("mount", "--rbind", "/dev", str(root / "dev"))  # with /dev/pts: the serial tests
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        certs = root / "etc/ssl/certs"
        certs.mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", certs / "ca-certificates.crt")
        yield root
    finally:
        unmount(root)


def chroot(
    root: Path, cpu: str, command: str, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """Run a shell command in the emulated system with a clean environment."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "QEMU_CPU": cpu,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    chroot_bin = shutil.which("chroot") or "/usr/sbin/chroot"  # on the host's PATH, not env's
    return subprocess.run(
        [chroot_bin, str(root), "/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
