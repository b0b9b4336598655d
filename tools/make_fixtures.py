#!/usr/bin/env python3
"""Regenerates every PyTorch parity fixture under tests/fixtures/.

Each module in tools/fixtures/ defines `generate(out_root: pathlib.Path)`; this driver imports and runs
them all (or only those named on the command line). The fixtures are committed, so the C++ build and
tests never need Python; run this only when a fixture's definition changes.

    python3 tools/make_fixtures.py              # all modules
    python3 tools/make_fixtures.py tensor_ops   # just one
"""
import argparse
import importlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="fixture modules to run (default: every tools/fixtures/*.py)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tools"))
    available = sorted(p.stem for p in (ROOT / "tools" / "fixtures").glob("*.py") if not p.stem.startswith("_"))
    names = args.modules or available
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"unknown fixture module(s) {unknown}; available: {available}")
    for name in names:
        module = importlib.import_module(f"fixtures.{name}")
        print(f"[make_fixtures] {name}")
        module.generate(ROOT / "tests" / "fixtures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
