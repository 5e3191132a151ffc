"""The network description: one YAML file describes a whole IPNet for training and hardware.

The schema is defined once, as frozen dataclasses in :mod:`sw.network_schema` (imported
here), checked by :func:`sw.config.build_dataclass` (one error line: file, key, reason).
:func:`derive_network` turns a description into :class:`NetFixed`: every
layer's shapes, formats, shifts and accumulator width, and for the thermal
layer the :class:`~sw.fixed.FixedPoint` of its neurons, derived from the
named design YAML exactly as for the single-layer emulator.

A network is a chain of layers over event frames (C x H x W counts):

    conv   out = conv2d(x, w, stride, padding), then sum pooling pool x pool
    dense  out = w @ flatten(x)   (a conv whose kernel covers its whole input)

and each layer ends in one activation:

    relu     a = sat_u(out.width)(acc >> out_shift)              next layer's input
    thermal  MTJ thermal neurons of the design (sw/fixed.py)       y = LUT[z] (or a spike)
             with read: read, the next layer takes READ[heat] * scale instead of y; with
             read: both, y and the read interleaved (channels 2c, 2c + 1)
    none     logit = sat_s(out.width)(acc >> out_shift)          last layer only

The class head sums the logits of every frame since reset,
``score = sat_s(score_width)(score + logit)``, and the class is the first
index of the largest score (docs/network.md).
"""

from __future__ import annotations

import dataclasses
import re

from .config import ConfigError, Format, build_dataclass, load_config, read_yaml
from .fixed import derive_fixed_point, read_scale
from .network_fixed import LayerFixed, NetFixed
from .network_schema import (AUTO, InputSpec, LayerSpec, NetFold, NetHardware, NetTraining,
                             NetworkConfig)
from .config import NAME_MAX

__all__ = ["AUTO", "InputSpec", "LayerSpec", "NetFold", "NetHardware", "NetTraining",
           "NetworkConfig", "LayerFixed", "NetFixed", "load_network", "parse_network",
           "derive_network", "with_lanes", "software_lanes", "SCORE_EXTRA_BITS"]

SCORE_EXTRA_BITS = 8    #: the head's score holds 2**8 frames of full-scale logits before saturating


def _fail(source, key, reason):
    raise ConfigError(f"{source}: {key}: {reason}")


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_VERILOG_KEYWORDS = frozenset(
    "always and assign begin buf case casex casez cmos deassign default defparam disable edge "
    "else end endcase endfunction endmodule endprimitive endspecify endtable endtask event for "
    "force forever fork function highz0 highz1 if initial inout input integer join large "
    "macromodule medium module nand negedge nmos nor not notif0 notif1 or output parameter pmos "
    "posedge primitive pull0 pull1 pulldown pullup rcmos real realtime reg release repeat rnmos "
    "rpmos rtran rtranif0 rtranif1 scalared small specify specparam strong0 strong1 supply0 "
    "supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg vectored "
    "wait wand weak0 weak1 while wire wor xnor xor logic bit byte int".split())


def _check_identifier(source, key, value):
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        _fail(source, key, f"must be an identifier (ASCII letters, digits, _; starts with a "
                           f"letter), got {value!r}")
    if value in _VERILOG_KEYWORDS:
        _fail(source, key, f"must not be a Verilog keyword, got {value!r}")
    if key == "name" and len(value) > NAME_MAX:
        _fail(source, key, f"must be at most {NAME_MAX} characters (it names the build folder "
                           f"and its files), got a name of {len(value)} characters")


def parse_network(data, source="<memory>", host_head=False):
    """Build a :class:`NetworkConfig` from a parsed YAML mapping and check it
    (``host_head``: as :func:`derive_network`).

    Raises
    ------
    ConfigError
        With one line naming ``source``, the key and the reason.
    """
    cfg = build_dataclass(NetworkConfig, data, "", source)
    _check_identifier(source, "name", cfg.name)
    if not isinstance(cfg.layers, list) or not cfg.layers:
        _fail(source, "layers", "must be a non-empty list of layers")
    layers = tuple(build_dataclass(LayerSpec, item, f"layers[{k}]", source)
                   for k, item in enumerate(cfg.layers))
    cfg = dataclasses.replace(cfg, layers=layers, source=source)
    hw = cfg.hardware
    if hw.lanes == AUTO and hw.fold is None:
        _fail(source, "hardware.fold", f"missing: lanes: {AUTO} needs the device (and goal) "
                                       f"the lanes are chosen for")
    if hw.lanes != AUTO and hw.fold is not None:
        _fail(source, "hardware.fold", f"only with lanes: {AUTO}, got lanes: {hw.lanes}")
    if hw.fold is not None and hw.fold.event_density is not None and hw.input != "events":
        _fail(source, "hardware.fold.event_density",
              f"only with hardware.input: events, got input: {hw.input}")
    derive_network(software_lanes(cfg), host_head)
    return cfg


def with_lanes(cfg, lanes):
    """``cfg`` with ``hardware.lanes`` = ``lanes`` (its fold, if any, dropped)."""
    return dataclasses.replace(cfg, hardware=NetHardware(lanes=lanes, input=cfg.hardware.input))


def software_lanes(cfg):
    """``cfg`` for the software models: with ``lanes: auto``, 1 lane. Training, the float
    and the integer golden models compute the same values for any lane count (the lanes
    only schedule the hardware); the generator and the benches choose the lanes with
    :func:`hw.net_fold.resolve_lanes`."""
    return with_lanes(cfg, 1) if cfg.hardware.lanes == AUTO else cfg


def load_network(path):
    """Read and check a network YAML."""
    return parse_network(read_yaml(path), str(path))


def _thermal_fixed_point(cfg, design, spec, key, x, fan_in, neurons, pool_shift):
    """The neurons' FixedPoint: the design's device card and neuron formats, this layer's
    input, weight and bias formats, fan-in and neuron count, the network's lanes.

    Sum pooling is folded into the input's binary point (x.frac + pool_shift), so the
    design's i_shift and bias_shift include the average's division.
    """
    x_width, x_frac, x_signed = x
    fpc = design.fixed_point
    layer_fp = dataclasses.replace(
        fpc,
        x=Format(width=x_width + (0 if x_signed else 1), frac=x_frac + pool_shift),
        w=spec.weight, b=spec.bias)
    sub = dataclasses.replace(
        design, fixed_point=layer_fp,
        layer=dataclasses.replace(design.layer, inputs=fan_in, neurons=neurons),
        hardware=dataclasses.replace(design.hardware, lanes=cfg.hardware.lanes),
        source=f"{cfg.source}: {key} (design {design.source})")
    fp = derive_fixed_point(sub)
    channels = spec.outputs
    k = len(design.device.tau_th_ns_devices or ())
    if k and channels % k:
        _fail(cfg.source, "design", f"{k} devices (device.tau_th_ns_devices of "
                                    f"{design.source}) must divide layer {key}'s {channels} "
                                    f"channels: channel c is device c mod K")
    return fp


def derive_network(cfg, host_head=False):
    """Derive every layer's integer constants from a :class:`NetworkConfig`.

    ``host_head``: the host reads the last layer's logits of every frame and applies the task's
    own head (the benchmark's point and sequence tasks), so the task need not be a class task;
    the hardware's head classifies.

    Raises
    ------
    ConfigError
        When shapes do not chain, a shift would be negative, or the thermal layer
        or the head is not as the hardware needs it.
    """
    src = cfg.source
    if cfg.hardware.lanes == AUTO:
        _fail(src, "hardware.lanes", f"{AUTO}: choose the lanes first (hw.net_fold.resolve_lanes, "
                                     f"or sw.network.software_lanes for the software models)")
    try:
        design = load_config(cfg.design_path())
    except ConfigError as exc:
        raise ConfigError(f"{src}: design: {exc}") from None
    names = set()
    shape = (cfg.input.channels, cfg.input.size, cfg.input.size)
    x = (cfg.input.width, 0, False)
    layers = []
    thermal = [k for k, s in enumerate(cfg.layers) if s.activation == "thermal"]
    if not thermal:
        _fail(src, "layers", "needs at least one layer with activation thermal, got 0")
    if len(thermal) > 1 and (design.device.threshold_sigma_ic0 or design.device.thermal_sigma_rel):
        _fail(src, "design", f"{len(thermal)} thermal layers on a chip with device spread "
                             f"({design.source}): its draws are per neuron of one layer")
    last = len(cfg.layers) - 1
    for k, spec in enumerate(cfg.layers):
        key = f"layers[{k}]"
        _check_identifier(src, f"{key}.name", spec.name)
        if spec.name in names:
            _fail(src, f"{key}.name", f"duplicate layer name {spec.name!r}")
        names.add(spec.name)
        if (spec.activation == "none") != (k == last):
            _fail(src, f"{key}.activation",
                  "none (logits) must be the last layer's activation, and only its")
        if spec.activation == "thermal" and spec.out is not None:
            _fail(src, f"{key}.out", "must be absent: a thermal layer's output is the design's LUT "
                                     "(or spike) format")
        if spec.activation != "thermal" and spec.out is None:
            _fail(src, f"{key}.out", f"missing (needed after activation {spec.activation})")
        c_in, h, w = shape
        if spec.kind == "dense":
            for opt, default in (("kernel", 1), ("stride", 1), ("padding", 0), ("pool", 1)):
                if getattr(spec, opt) != default:
                    _fail(src, f"{key}.{opt}", f"not used by a dense layer (leave it out), "
                                               f"got {getattr(spec, opt)}")
            kernel, stride, pad, pool = (h, w), 1, 0, 1
        else:
            kernel, stride, pad, pool = (spec.kernel, spec.kernel), spec.stride, spec.padding, spec.pool
        hc = (h + 2 * pad - kernel[0]) // stride + 1
        wc = (w + 2 * pad - kernel[1]) // stride + 1
        if hc < 1 or wc < 1:
            _fail(src, f"{key}.kernel", f"kernel {kernel[0]} does not fit the {h} x {w} input "
                                        f"with padding {pad}")
        if pool & (pool - 1):
            _fail(src, f"{key}.pool", f"must be a power of 2, got {pool}")
        if hc % pool or wc % pool:
            _fail(src, f"{key}.pool", f"must divide the {hc} x {wc} convolution output, got {pool}")
        pool_shift = 2 * (pool.bit_length() - 1)
        conv_shape = (spec.outputs, hc, wc)
        out_shape = (spec.outputs, hc // pool, wc // pool)
        x_width, x_frac, x_signed = x
        fx = x_frac + pool_shift
        fw, fb = spec.weight.frac, spec.bias.frac
        if fb > fx - pool_shift + fw:
            _fail(src, f"{key}.bias.frac", f"must be <= input frac + weight.frac "
                                           f"({x_frac} + {fw}), got {fb}")
        bias_shift = fx + fw - fb
        fan_in = c_in * kernel[0] * kernel[1]
        window = fan_in * pool * pool
        x_max = (1 << (x_width - 1)) if x_signed else (1 << x_width) - 1
        max_sum = window * x_max * (1 << (spec.weight.width - 1)) \
            + (1 << (spec.bias.width - 1)) * (1 << bias_shift)
        acc_width = max_sum.bit_length() + 1
        if acc_width > 52:
            _fail(src, key, f"accumulator would need {acc_width} bits (> 52): narrow the "
                            f"weight or bias format, or the fan-in")
        fp = None
        if spec.activation == "thermal":
            if spec.outputs % cfg.hardware.lanes:
                _fail(src, f"{key}.outputs", f"a thermal layer's channels must be a multiple of "
                                             f"hardware.lanes ({cfg.hardware.lanes}), got {spec.outputs}")
            fp = _thermal_fixed_point(cfg, design, spec, key, x, window,
                                      out_shape[0] * out_shape[1] * out_shape[2], pool_shift)
            acc_width = max(acc_width, fp.acc_width)
            out = (fp.y_out_width, fp.y_width if fp.output == "lut" else 0, False)
            out_shift = -1
            if spec.read != "none":
                try:
                    read_scale(fp)
                except ValueError as exc:
                    _fail(src, f"{key}.read", f"{spec.read}: {exc} (design {design.source})")
        else:
            if spec.read != "none":
                _fail(src, f"{key}.read", f"only a thermal layer has a resistance read, "
                                          f"got {spec.read} after activation {spec.activation}")
            out = (spec.out.width, spec.out.frac, spec.activation == "none")
            out_shift = fx + fw - spec.out.frac
            if out_shift < 0:
                what, terms = "input frac + weight.frac", f"{x_frac} + {fw}"
                if pool_shift:
                    what, terms = what + " + pool shift", terms + f" + {pool_shift}"
                _fail(src, f"{key}.out.frac", f"must be <= {what} ({terms}), got {spec.out.frac}")
        layers.append(LayerFixed(
            index=k, name=spec.name, kind=spec.kind, activation=spec.activation,
            in_shape=shape, conv_shape=conv_shape, out_shape=out_shape, kernel=kernel,
            stride=stride, padding=pad, pool=pool, pool_shift=pool_shift,
            x_width=x_width, x_frac=x_frac, x_signed=x_signed,
            w_width=spec.weight.width, w_frac=fw, b_width=spec.bias.width, b_frac=fb,
            bias_shift=bias_shift, acc_width=acc_width,
            out_width=out[0], out_frac=out[1], out_signed=out[2], out_shift=out_shift, fp=fp,
            read=spec.read))
        shape = layers[-1].act_shape
        x = out
    if cfg.hardware.input == "events" and layers[0].pool != 1:
        _fail(src, "hardware.input", f"events: the first layer scatters each event into its "
                                     f"outputs and cannot pool; layers[0].pool is {layers[0].pool}")
    if shape[1:] != (1, 1):
        _fail(src, f"layers[{last}]", f"the last layer must give a vector (a dense layer), "
                                      f"got shape {shape}")
    from .data.datasets import TASKS
    task = TASKS.get(cfg.training.task)
    if task is None:
        _fail(src, "training.task", f"unknown task {cfg.training.task!r} "
                                    f"(allowed: {', '.join(TASKS)})")
    if task.kind != "class" and not host_head:
        _fail(src, "training.task", f"the hardware head classifies; {task.name} is a "
                                    f"{task.kind} task")
    if task.outputs != shape[0]:
        _fail(src, f"layers[{last}].outputs", f"must equal the classes of {task.name} "
                                              f"({task.outputs}), got {shape[0]}")
    return NetFixed(name=cfg.name, input_width=cfg.input.width, input_shape=
                    (cfg.input.channels, cfg.input.size, cfg.input.size), layers=tuple(layers),
                    lanes=cfg.hardware.lanes, classes=shape[0],
                    score_width=layers[-1].out_width + SCORE_EXTRA_BITS, design=design,
                    input_mode=cfg.hardware.input)


def describe(net):
    """Lines describing every layer: shapes, formats, shifts, MACs."""
    from tabulate import tabulate
    fmt = lambda w, f, s: f"{'s' if s else 'u'}{w}.{f}"  # noqa: E731
    rows = [[lf.name, lf.kind, lf.activation + ("" if lf.read == "none" else f"+{lf.read}"),
             "x".join(map(str, lf.in_shape)),
             "x".join(map(str, lf.out_shape)), f"{lf.kernel[0]}/{lf.stride}/{lf.padding}/{lf.pool}",
             fmt(lf.x_width, lf.x_frac, lf.x_signed), fmt(lf.w_width, lf.w_frac, True),
             fmt(lf.out_width, lf.out_frac, lf.out_signed), lf.acc_width, lf.macs]
            for lf in net.layers]
    lines = tabulate(rows, headers=["layer", "kind", "act", "in", "out", "k/s/p/pool", "x", "w",
                                    "out", "acc", "MACs"], tablefmt="plain",
                     colalign=("left",) * 3 + ("right",) * 8).splitlines()
    lines.append(f"total MACs per frame: {net.macs}; head: {net.classes} classes, "
                 f"score s{net.score_width}; lanes {net.lanes}")
    return lines
