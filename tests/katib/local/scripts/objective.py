"""A trial for the runner tests: prints Katib-style metric lines for a known function of its arguments.

loss = (x - 0.3)^2 + (y + 0.2)^2 + penalty(opt) + 1 / epoch, reported once per epoch, so the minimum
over epochs is the last one. Switches make it fail, stay silent, sleep or record what it received.
"""

import argparse
import json
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--y", type=float, default=0.0)
parser.add_argument("--epochs", type=float, default=1)
parser.add_argument("--opt", default="a")
parser.add_argument("--fail-above", type=float, default=None, help="exit 3 when x is above this")
parser.add_argument("--silent", action="store_true", help="print no metrics")
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--record", default=None, help="write argv, cwd and selected env to this JSON file")
args = parser.parse_args()

if args.record:
    seen = {
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "trial": os.environ.get("KWP_TRIAL_NAME"),
        "extra": os.environ.get("EXTRA"),
        "from_template": os.environ.get("FROM_TEMPLATE"),
    }
    with open(args.record, "w") as handle:
        json.dump(seen, handle)
if args.sleep:
    time.sleep(args.sleep)
if args.fail_above is not None and args.x > args.fail_above:
    print(f"x={args.x} is too large", file=sys.stderr)
    sys.exit(3)
penalty = {"a": 0.0, "b": 0.1}[args.opt]
base = (args.x - 0.3) ** 2 + (args.y + 0.2) ** 2 + penalty
for epoch in range(1, int(args.epochs) + 1):
    if not args.silent:
        print(f"epoch={epoch} loss={base + 1.0 / epoch:.6f} accuracy={1.0 / (1.0 + base):.4f}", flush=True)
