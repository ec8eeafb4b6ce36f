"""`verify`: hold every file this machine can run to its export-time bound, against the
reference the export saved (Keras's forecasts)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import open_model
from ..errors import UserError
from ..interpreters import BACKENDS, available, backends_for, version_of
from ..manifest import Entry, find_entry, read_manifest, variant_key
from ..manifest import verify as check_file
from ..parity import Reference, check, parity_line
from .args import parse_tolerance


def add(sub: argparse._SubParsersAction) -> None:
    """The verify command's parser."""
    v = sub.add_parser(
        "verify",
        help="check every file on this machine's interpreters against the export's reference",
        description="Run every exported file this machine can run (each installed interpreter) "
        "on the test windows, the stream and the stress windows the export checked, against "
        "Keras's forecasts saved with the export (reference.npz), with the same bounds and "
        "range rules as the export's gate. Exits 1 naming any file over its bound here.",
    )
    v.add_argument("target", nargs="?", default="artifacts", help="artifacts folder")
    v.add_argument("--backend", choices=BACKENDS, help="only this interpreter")
    v.add_argument(
        "--tolerance",
        type=parse_tolerance,
        action="append",
        default=[],
        metavar="KEY=BOUND",
        help="override one bound, e.g. int8=0.01 or step:int8=0.01",
    )
    v.add_argument("--json", action="store_true", help="one JSON object per file and interpreter")
    v.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Hold every file this device can run to its export-time bound against the reference."""
    folder = Path(args.target)
    manifest = read_manifest(folder)
    ref_info = manifest.get("reference")
    if ref_info is None:
        raise UserError(f"{folder}/manifest.json lists no reference: re-export the model")
    entry = Entry(folder / ref_info["file"], ref_info, manifest["model"])
    check_file(entry)  # present, complete, the one this export wrote
    ref = Reference.load(entry.path)
    bounds = dict(args.tolerance)
    failed, ran = [], 0
    if not args.json:
        print(f"verifying {folder}/ against {ref_info['file']} (Keras's forecasts at export)")
    for f in manifest["files"]:
        key = variant_key(f["variant"], f["mode"])
        names = [args.backend] if args.backend else list(backends_for(f["format"]))
        names = [b for b in names if b in backends_for(f["format"]) and available(b)]
        if not names:
            if not args.json:
                print(f"{f['file']:<30} skipped: no interpreter for {f['format']} files here")
            continue
        check_file(find_entry(folder / f["file"]))  # a damaged file is an error, not a skip
        for name in names:
            try:
                model = open_model(folder / f["file"], backend=name)
            except UserError as e:  # e.g. a file that needs a newer tflite-runtime
                if not args.json:
                    print(f"{f['file']:<30} skipped on {name}: {e}")
                continue
            tolerance = bounds.get(key, f["parity"]["tolerance"])
            parity, _, _ = check(model, ref, tolerance, f.get("fixed_range", False))
            if args.json:
                print(json.dumps({"file": f["file"], "backend": name} | parity.to_dict()))
            else:
                line = parity_line(f["file"], f["bytes"], parity)
                print(f"{line}  on {name} {version_of(name)}")
            ran += 1
            if not parity.passed:
                failed.append(f"{f['file']} on {name}")
    if failed:
        print(f"error: over its bound on this machine: {', '.join(failed)}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"{ran} file/interpreter pair(s) within their bounds")
    return 0
