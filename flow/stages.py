"""The flow's stages: every job the project does, each declared once, with its targets.

A stage is one verb of the ``ipnet`` command. Most take one YAML file as their target, and the
kind of that file decides which implementation runs, so the single layer and the network are
two targets of the same stage rather than two commands:

=============  =================================================  ===========================
kind           how it is recognised (top-level key of the YAML)   example
=============  =================================================  ===========================
``network``    ``layers:``                                        configs/network.yaml
``layer``      ``layer:``                                         configs/default.yaml
``experiment`` ``tasks:``                                         configs/results.yaml
``wm``         ``nback:``                                         configs/wm.yaml
=============  =================================================  ===========================

A stage's implementation is the ``main(argv)`` of a module further down the pipeline (sw, gen,
sim), named here by string and imported only when the stage runs, so ``ipnet --help`` starts
at once. ``argv`` is what follows the stage's name on the command line, with a fixed prefix
for the stages that share an implementation (``ipnet train NETWORK`` is ``net-train`` of
:mod:`ipnet_mtj.sw.train.cli`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Stage", "STAGES", "GROUPS", "KINDS", "stage_named", "kind_of"]

#: The kinds of target, in the order a message lists them, with the key that marks each.
KINDS = {"network": ("layers", "a network description"),
         "layer": ("layer", "a single-layer design"),
         "experiment": ("tasks", "a benchmark experiment"),
         "wm": ("nback", "a working-memory experiment")}


@dataclass(frozen=True)
class Target:
    """One implementation of a stage: ``module:function`` called with ``prefix + argv``."""
    main: str
    prefix: tuple = ()


@dataclass(frozen=True)
class Stage:
    """A verb of the ``ipnet`` command.

    Attributes
    ----------
    name : str
    summary : str
        One line for ``ipnet --help``.
    group : str
        A key of :data:`GROUPS`.
    targets : dict
        {kind: Target}; the kind ``None`` means the stage takes no YAML target (or any).
    aliases : tuple
        Older names that still work (not listed by ``ipnet --help`` on their own line).
    """
    name: str
    summary: str
    group: str
    targets: dict = field(default_factory=dict)
    aliases: tuple = ()


GROUPS = {"flow": "the flow: description -> trained weights -> hardware -> checks",
          "experiments": "experiments (resumable grids on the job runner)",
          "checks": "checks of the hardware against independent models"}

_TRAIN = "ipnet_mtj.sw.train.cli:main"
_HW_EVAL = "ipnet_mtj.flow.cli:eval_with_hardware"

STAGES = (
    Stage("train", "train a network description: float epochs, then quantisation-aware "
                   "(or one run of an experiment: --task --model)", "flow",
          {"network": Target(_TRAIN, ("net-train",)), "experiment": Target(_TRAIN, ("train",))},
          aliases=("net-train",)),
    Stage("eval", "accuracy of trained weights: float/QAT recorded, integer golden model or "
                  "--backend rtl (the Verilog under Verilator)", "flow",
          {"network": Target(_HW_EVAL, ("net-eval",)), "experiment": Target(_TRAIN, ("eval",))},
          aliases=("net-eval",)),
    Stage("verilog", "generate the accelerator: Verilog, AXI4-Stream wrapper, ROM images, "
                     "lint waivers, manifest (build/<name>/)", "flow",
          {"network": Target("ipnet_mtj.gen.network:main"),
           "layer": Target("ipnet_mtj.gen.__main__:main")}),
    Stage("lint", "verilator --lint-only -Wall on the generated Verilog (a layer design "
                  "and --network NETWORK)", "flow",
          {"layer": Target("ipnet_mtj.gen.lint:main")}),
    Stage("sim", "the generated Verilog on Icarus and Verilator against the integer golden "
                 "model, every value compared; the build report", "flow",
          {"network": Target("ipnet_mtj.sim.network:main"),
           "layer": Target("ipnet_mtj.sim.__main__:main")}),
    Stage("synth", "Yosys/nextpnr for the iCE40 UP5K and the ECP5: resources, Fmax, cycles "
                   "and frames per second", "flow",
          {"network": Target("ipnet_mtj.gen.network_synth:main"),
           "layer": Target("ipnet_mtj.gen.synth:main")}),
    Stage("bitstream", "the UP5K bitstream with the trained ROMs (a kept base, the weights "
                       "patched in with icebram)", "flow",
          {"network": Target("ipnet_mtj.gen.network_bitstream:main"),
           "layer": Target("ipnet_mtj.gen.synth:main", ("--bitstream",))}),
    Stage("asic", "the accelerator on OSU 0.18 um standard cells: area per block, "
                  "memories, Fmax (OpenSTA), frames/s, power and energy per frame; "
                  "--layout: placement and routing (qflow); "
                  "--gate-level: the netlist against the golden model", "flow",
          {"network": Target("ipnet_mtj.sim.gate_level:main_network"),
           "layer": Target("ipnet_mtj.sim.gate_level:main_layer")}),
    Stage("patch-weights", "retrained weights into the kept base bitstream, no place and "
                           "route (--weights NEW.npz)", "flow",
          {"network": Target("ipnet_mtj.gen.network_bitstream:main", ("--patch-only",))}),
    Stage("patch-bram", "new ROM images into any placed-and-routed iCE40/ECP5 bitstream "
                        "(icebram/ecpbram), read back and checked; or a patchable base "
                        "(subcommands patch, base)", "flow",
          {None: Target("ipnet_mtj.gen.bram_patch:main")}),
    Stage("data", "generate and cache an experiment's data sets", "experiments",
          {"experiment": Target(_TRAIN, ("data",))}),
    Stage("params", "parameter counts of every model of an experiment", "experiments",
          {"experiment": Target(_TRAIN, ("params",))}),
    Stage("results", "every model on every task, 3 seeds, one protocol -> results.md, .json "
                     "and figures", "experiments",
          {"experiment": Target(_TRAIN, ("results",))}),
    Stage("wm", "working memory: n-back, free recall, interference -> working-memory.md "
                "and figures", "experiments",
          {"wm": Target("ipnet_mtj.sw.wm.__main__:main")}),
    Stage("regress", "the layer over drawn designs, 10^7 neuron-steps each on Verilator -> "
                     "regression.md", "checks",
          {None: Target("ipnet_mtj.sim.regress:main")}),
    Stage("formal", "SymbiYosys proofs of one neuron update for all inputs (layer designs)",
          "checks", {None: Target("ipnet_mtj.gen.formal:main")}),
    Stage("bench", "speed of the integer reference and the float model; their distance "
                   "against the documented bound (a layer design)", "checks",
          {"layer": Target("ipnet_mtj.sim.bench:main")}),
    Stage("bench-asic", "the ASIC flow's speed: make asic's wall time on the network, "
                        "gate-level against RTL simulation of a layer (cycles/s)", "checks",
          {None: Target("ipnet_mtj.sim.asic_bench:main")}),
    Stage("bench-rtl", "RTL verification speed: the cocotb bench beside the native one "
                       "(frames/s per core), and the whole test set in shards", "checks",
          {None: Target("ipnet_mtj.sim.rtl_bench:main")}),
    Stage("bench-events", "an event-input network's cycles and frames/s against event density "
                          "(0-100 % and the test sets), beside its dense twin; every value "
                          "compared", "checks",
          {"network": Target("ipnet_mtj.sim.event_bench:main")}),
    Stage("bench-resources", "LUT, FF, block RAM and DSPs predicted from the description beside "
                             "Yosys's, iCE40 and ECP5 (synthesis only)", "checks",
          {None: Target("ipnet_mtj.gen.resource_bench:main")}),
)


def stage_named(name):
    """The :class:`Stage` called ``name`` (or one of its aliases), or None."""
    for stage in STAGES:
        if name == stage.name or name in stage.aliases:
            return stage
    return None


def kind_of(data):
    """The kind of a parsed YAML target (a key of :data:`KINDS`), or None."""
    if isinstance(data, dict):
        for kind, (key, _) in KINDS.items():
            if key in data:
                return kind
    return None
