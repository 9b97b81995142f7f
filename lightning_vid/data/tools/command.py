"""The ``lightning-vid-data`` command: the offline dataset tools behind one entry point.

    lightning-vid-data extract   VIDEOS --out FRAMES        videos -> JPEG frame folders
    lightning-vid-data reencode  VIDEOS --out REENCODED     short side 256, keyframe every 16
    lightning-vid-data check     --data-config CFG | PATHS  every file the loaders would skip
    lightning-vid-data synthetic --out DIR                  the synthetic motion benchmark

``lightning-vid-data <tool> --help`` lists each tool's options. Exit status: 0 when every file
was processed (and found good), 1 when some failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from lightning_vid.data.tools import check, extract, reencode

TOOLS = {"extract": (extract, "videos -> JPEG frame folders"),
         "reencode": (reencode, "videos -> short side 256, H.264 with a keyframe every 16"),
         "check": (check, "list every file the loaders would skip (decodes every frame)")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lightning-vid-data``; ``argv`` replaces ``sys.argv[1:]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["synthetic"]:  # its own parser: python -m lightning_vid.data.synthetic
        from lightning_vid.data import synthetic

        return synthetic.main(argv[1:], prog="lightning-vid-data synthetic")
    parser = argparse.ArgumentParser(prog="lightning-vid-data", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n")[1])
    tools = parser.add_subparsers(dest="tool", required=True, metavar="TOOL")
    for name, (module, summary) in TOOLS.items():
        sub = tools.add_parser(name, help=summary, description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
    tools.add_parser("synthetic", help="write the synthetic motion benchmark (--out DIR)")
    args = parser.parse_args(argv)
    return TOOLS[args.tool][0].run(args)


if __name__ == "__main__":
    sys.exit(main())
