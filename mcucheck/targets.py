"""The microcontrollers `make mcu-check` builds for: a QEMU board, compiler flags, memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A Cortex-M core on a board QEMU 7.2 emulates."""

    name: str
    core: str
    machine: str  # qemu-system-arm -M
    cflags: tuple[str, ...]
    flash_kb: int  # the board's code memory at 0x00000000
    ram_kb: int  # its data memory at 0x20000000
    stack_bytes: int
    sources: tuple[str, ...]  # the C files it checks by default


TARGETS = {
    "m4f": Target(
        name="m4f",
        core="Cortex-M4F",
        machine="mps2-an386",
        cflags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        flash_kb=4096,
        ram_kb=4096,
        stack_bytes=8192,
        sources=("float32", "int8", "integer"),
    ),
    # QEMU 7.2 has no Cortex-M0+ board; the micro:bit's Cortex-M0 runs the same ARMv6-M code
    "m0plus": Target(
        name="m0plus",
        core="Cortex-M0 (ARMv6-M, as the M0+)",
        machine="microbit",
        cflags=("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
        flash_kb=256,
        ram_kb=16,
        stack_bytes=4096,
        sources=("int8", "integer"),
    ),
}


def linker_script(t: Target) -> str:
    """Flash at 0, RAM at 0x20000000 with the stack at its end (painted, to measure it)."""
    return f"""\
MEMORY
{{
    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = {t.flash_kb}K
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = {t.ram_kb}K
}}
ENTRY(Reset_Handler)
SECTIONS
{{
    .text : {{ KEEP(*(.vectors)) *(.text*) *(.rodata*) . = ALIGN(4); }} > FLASH
    .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
    _sidata = LOADADDR(.data);
    .data : {{ _sdata = .; *(.data*) . = ALIGN(4); _edata = .; }} > RAM AT > FLASH
    .bss (NOLOAD) : {{ _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; }} > RAM
    .stack (NOLOAD) :
    {{ . = ALIGN(8); _stack_bottom = .; . += {t.stack_bytes}; _estack = .; }} > RAM
}}
"""
