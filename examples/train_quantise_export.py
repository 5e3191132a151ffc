"""Train a described network, quantise it, and export it as hardware, through the Python API.

    python examples/train_quantise_export.py [NETWORK] [--epochs 1] [--qat-epochs 1] [--out DIR] [--runs DIR]

1. train the network of the YAML: float epochs, then quantisation-aware epochs on the
   integer formats the hardware uses; the integer weights and their provenance (accuracy,
   junction temperatures against the device card) are saved as .npz and .json;
2. load them back as a design (the loader checks hash, shapes and formats);
3. export the build folder: Verilog, the weight ROM images ($readmemh), manifest;
4. read the weight ROM images back from the build folder (the layout of
   ``hw/net_rom_layout.py``, undone here by hand) and check they hold the trained weights.

The default of 1 + 1 epochs is a smoke run (seconds); ``make network`` trains the shipped
weights with the YAML's own epochs.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sw.train.network_train import train_network

ROOT = Path(__file__).resolve().parent.parent


def read_words(path, width):
    """Signed ``width``-bit words of a $readmemh image."""
    words = np.array([int(w, 16) for w in Path(path).read_text().split()
                      if not w.startswith(("//", "@"))], dtype=np.int64)
    return np.where(words >= 1 << (width - 1), words - (1 << width), words)


def weights_from_roms(build, net, manifest):
    """Every layer's torch-layout weights, from the lanes' weight ROM images. Lane ``l`` holds
    output channels l, l + P, ... of each layer, each channel's fan-in weights in window order
    (kernel row, kernel column, input channel)."""
    lanes, roms = net.lanes, manifest["roms"]
    images = [read_words(build / f"wrom{l}.hex", roms["weight_width"]) for l in range(lanes)]
    for lf, base in zip(net.layers, roms["weight_bases"]):
        c_in, h, w = lf.in_shape
        c_out, groups = lf.out_shape[0], -(-lf.out_shape[0] // lanes)
        rows = np.zeros((groups * lanes, lf.fan_in), dtype=np.int64)
        for l in range(lanes):
            rows[l::lanes] = images[l][base:base + groups * lf.fan_in].reshape(groups, lf.fan_in)
        kh, kw = (h, w) if lf.kind == "dense" else lf.kernel
        weights = rows[:c_out].reshape(c_out, kh, kw, c_in).transpose(0, 3, 1, 2)
        yield weights.reshape(lf.weight_shape)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", nargs="?", default=str(ROOT / "configs" / "network.yaml"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--out", default="build/examples")
    parser.add_argument("--runs", default="build/networks", help="data cache and checkpoints")
    args = parser.parse_args(argv)
    out = Path(args.out)

    weights = out / "trained" / "example"                                     # 1
    info = train_network(args.network, args.runs, fresh=True, out=weights,
                         epochs=args.epochs, qat_epochs=args.qat_epochs)
    acc, phys = info["accuracy"], info["physics"]
    print(f"trained {args.epochs} + {args.qat_epochs} epochs: float {acc['float']:.4f}, "
          f"QAT {acc['qat']:.4f}, integer {acc['integer']:.4f}; max junction temperature "
          f"{phys['max_temperature_K']:.0f} K (Curie {phys['Tc_K']:.0f} K)")

    design = load_network_design(args.network, weights.with_suffix(".npz"))    # 2
    build = generate_network(design, out)                                     # 3
    manifest = json.loads((build / "manifest.json").read_text())
    print(f"exported {build}: {', '.join(sorted(manifest['files']))}")

    same = all(np.array_equal(w, w_rom) for (w, _), w_rom in                 # 4
               zip(design.params, weights_from_roms(build, design.net, manifest)))
    print(f"the weight ROM images read back equal the trained weights: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
