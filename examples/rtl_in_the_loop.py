"""The shipped trained network's Verilog in the loop, through the Python API.

    python examples/rtl_in_the_loop.py [NETWORK] [--sequences 4]

Like hls4ml's ``predict`` or FINN's rtlsim: test sequences go through the generated Verilog
under Verilator (:func:`ipnet_mtj.sim.rtl_eval.predict_rtl`), and the labels it gives are
compared with the integer golden model's (:func:`ipnet_mtj.sw.netref.predict`).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.rtl_eval import predict_rtl
from ipnet_mtj.sw import netref

ROOT = Path(__file__).resolve().parent.parent


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", nargs="?", default=str(ROOT / "configs" / "network.yaml"))
    parser.add_argument("--sequences", type=int, default=4)
    args = parser.parse_args(argv)

    design = load_network_design(args.network)
    x, y = load_test_sequences(design, args.sequences)
    rtl, report = predict_rtl(design, x)
    golden = netref.predict(design.net, design.params, x)
    print(f"labels:     {y.tolist()}")
    print(f"RTL:        {rtl.tolist()}  ({report['cycles_per_frame']:.0f} cycles per frame)")
    print(f"golden:     {golden.tolist()}")
    print(f"RTL equals golden on {int(np.sum(rtl == golden))} of {len(x)} sequences")
    return 0 if np.array_equal(rtl, golden) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
