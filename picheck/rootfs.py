"""Cached Debian arm64 root file systems run under qemu-user: the Pi's user space.

Raspberry Pi OS 64-bit is Debian arm64: 13 "trixie" (Python 3.13) today, 12 "bookworm"
(Python 3.11, glibc 2.36) before it. Each is what a device application sees, minus the kernel.
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
PI_OS = {"bookworm": "Debian 12, Python 3.11", "trixie": "Debian 13, Python 3.13"}
MIRROR = "http://deb.debian.org/debian"
PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
HANDLER = "edge-forecaster-aarch64"
QEMU = CACHE / "qemu-aarch64"
ELF_MAGIC = r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
ELF_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
CPUS = {"pi4": "cortex-a72", "pi5": "cortex-a76"}


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


def ensure_host_tools(say: object) -> None:
    """Root, debootstrap, qemu 10 and an aarch64 binfmt handler, or a clear refusal."""
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
    if not (BINFMT / HANDLER).exists():
        # Our own handler, registered after (so before) any other aarch64 one; flag F opens the
        # interpreter now, so it works inside the chroot.
        (BINFMT / "register").write_text(f":{HANDLER}:M::{ELF_MAGIC}:{ELF_MASK}:{QEMU}:F\n")


def ensure_qemu(say: object) -> None:
    """qemu-aarch64 10 (Debian 13's qemu-user, static), once, into the cache.

    Debian 12's qemu 7.2 shows programs the host's x86 /proc/cpuinfo, and ai-edge-litert and
    onnxruntime then crash creating an interpreter; qemu 10 emulates cpuinfo.
    """
    if QEMU.exists():
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
        shutil.copy(t / "x" / "usr/bin/qemu-aarch64", QEMU)


def ensure_rootfs(say: object, pi_os: str = "bookworm") -> Path:
    """Build the root file system of a Debian release once (about a minute), then reuse it."""
    root = CACHE / f"{pi_os}-arm64"
    if (root / ".ready").exists():
        return root
    say(f"building a {pi_os} arm64 root file system in {root} (once) ...")
    if root.exists():
        unmount(root)
        shutil.rmtree(root)
    CACHE.mkdir(parents=True, exist_ok=True)
    # --foreign downloads natively; unpacking the .debs on the host replaces the emulated
    # second stage (5 minutes) with a few seconds
    run(
        "debootstrap",
        "--arch=arm64",
        "--foreign",
        "--variant=minbase",
        f"--include={PACKAGES}",
        pi_os,
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
    (root / ".ready").touch()
    return root


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
