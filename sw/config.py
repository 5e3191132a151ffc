"""The design configuration: one YAML file describes one IP layer.

The schema is defined here, once, as frozen dataclasses. Every field carries
its documentation and its check; :func:`load_config` walks the YAML against
the dataclasses and refuses anything else with a :class:`ConfigError` whose
message names the file, the key and the reason, in one line.

Physical values carry their unit in the key name (``tau_th_ns``,
``R_P_ohm``, ...), so a YAML file is unambiguous without a unit parser.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError
from .jobs import content_hash
from .schema import between, non_negative, one_of, positive, spec

__all__ = [
    "ConfigError", "Device", "Layer", "Format", "FixedPointConfig", "Hardware",
    "Config", "load_config", "parse_config", "config_hash", "read_yaml",
]


def _magnitude(lo, hi):
    """A value in [lo, hi] (``lo`` 0, or > 0 for a value that must be > 0): bounds of a device
    value in its unit, wide enough for any real junction, narrow enough that no coefficient
    derived from the card overflows a float."""
    def check(v):
        if v < 0 or (v == 0 and lo > 0):
            return "must be > 0" if lo > 0 else "must be >= 0"
        return None if lo <= v <= hi else f"out of range: must be between {lo:g} and {hi:g}"
    return check


#: every positive device value lies in [1e-9, 1e9] of its unit (:func:`_magnitude`)
_DEVICE_RANGE = _magnitude(1e-9, 1e9)


def _device_list(v):
    """1 to 64 time constants, each a number in the device range."""
    if not 1 <= len(v) <= 64:
        return "must list 1 to 64 time constants"
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            return f"must hold numbers: {x!r} is not"
        reason = _DEVICE_RANGE(x)
        if reason:
            return f"{x!r}: {reason}"
    return None


@dataclass(frozen=True)
class Device:
    """MTJ device card, in physical units. The shipped values are illustrative,
    taken from typical published ranges, never measured."""
    tau_th_ns: float = spec("thermal time constant R_th*C_th", _DEVICE_RANGE)
    dt_ns: float = spec("time step (interval between input frames)", _DEVICE_RANGE)
    pulse_ns: float = spec("width of the current pulse that may switch the junction",
                           _DEVICE_RANGE)
    tau0_ns: float = spec("attempt time of the Neel-Arrhenius law", _DEVICE_RANGE)
    delta0: float = spec("thermal stability factor E_b/(k_B T0) at ambient", _DEVICE_RANGE)
    T0_K: float = spec("ambient temperature", _DEVICE_RANGE)
    Tc_K: float = spec("Curie temperature (Bloch law M_s(T) = M_s0 (1-(T/Tc)^1.5))", _DEVICE_RANGE)
    R_P_ohm: float = spec("resistance in the parallel state", _DEVICE_RANGE)
    tmr: float = spec("tunnel magnetoresistance ratio, R_AP = R_P (1 + tmr)",
                      _magnitude(0, 1e9))
    rest_state: str = spec("state the neuron rests in while it integrates (P or AP)", one_of("P", "AP"))
    R_th_K_per_uW: float = spec("thermal resistance junction to ambient", _DEVICE_RANGE)
    I_c0_uA: float = spec("critical switching current at 0 K (currents are normalised to it)",
                          _DEVICE_RANGE)
    ic0_ms_exponent: typing.Optional[float] = spec(
        "n in I_c0(T) = I_c0 (M_s(T)/M_s(T0))**n; absent: I_c0 does not change with temperature",
        between(0.0, 10.0), default=None)
    T_max_K: typing.Optional[float] = spec(
        "hottest the junction may get (below Tc_K); the heat saturates there. Absent: no bound",
        _DEVICE_RANGE, default=None)
    V_bd_V: typing.Optional[float] = spec(
        "breakdown voltage of the tunnel barrier; the current saturates at V_bd_V / R in the rest "
        "state. Absent: no bound", _DEVICE_RANGE, default=None)
    tau_th_ns_devices: typing.Optional[list] = spec(
        "thermal time constants of K junction geometries the layer mixes (neuron n, or in a "
        "network channel c, is device n mod K); they differ in thermal resistance, R_th "
        "scaled by tau / tau_th_ns at the card's heat capacity. Absent: one device",
        lambda v: _device_list(v), default=None)
    threshold_sigma_ic0: typing.Optional[float] = spec(
        "device-to-device spread: standard deviation of each junction's switching threshold "
        "around the card's (units of I_c0); every neuron gets its own offset, drawn once. "
        "Absent: identical junctions", between(0.0, 0.5), default=None)
    thermal_sigma_rel: typing.Optional[float] = spec(
        "device-to-device spread of the thermal constants: each junction's thermal resistance "
        "and, independently, its time constant are scaled by 1 + N(0, sigma^2) (clipped at "
        "-0.5), drawn once. Absent: no thermal spread", between(0.0, 0.3), default=None)
    spread_seed: typing.Optional[int] = spec(
        "seed of the per-junction draw (which chip); absent: 0", between(0, 2**32 - 1),
        default=None)
    tmr_spin_wave_per_K1p5: typing.Optional[float] = spec(
        "a in the electrodes' spin polarisation P(T) = P(0) (1 - a T**1.5), thermally excited "
        "spin waves (Shang et al., Phys. Rev. B 58, R2917, 1998); TMR(T) = 2 P**2 / (1 - P**2) "
        "(Julliere), through tmr at T0_K; R_P does not change. Needed by the resistance read "
        "(fixed_point.read_bits). Absent: TMR does not change with temperature",
        between(0.0, 1e-3), default=None)


@dataclass(frozen=True)
class Layer:
    """The IP layer: M inputs, N thermal neurons, and where its weights come from."""
    inputs: int = spec("M, inputs per time step", between(1, 4096))
    neurons: int = spec("N, thermal neurons", between(1, 4096))
    weight_seed: int = spec("seed of the generator of the shipped illustrative weights", non_negative)


@dataclass(frozen=True)
class Format:
    """A fixed-point format: ``width`` bits, ``frac`` of them after the binary point."""
    width: int = spec("total bits", between(1, 32))
    frac: int = spec("fraction bits (value = integer * 2**-frac)", between(0, 40))


@dataclass(frozen=True)
class FixedPointConfig:
    """Widths and modes of the integer datapath (see docs/fixed-point.md)."""
    x: Format = spec("input sample, signed")
    w: Format = spec("synaptic weight, signed")
    b: Format = spec("bias, signed")
    i: Format = spec("requantised input current (units of I_c0), signed")
    theta: Format = spec("thermal state (heat units), unsigned")
    gamma: Format = spec("threshold drop per heat unit, unsigned coefficient")
    alpha_frac: int = spec("fraction bits of the dissipation factor (multiply mode)", between(1, 24))
    z_width: int = spec("pre-activation width; frac is that of i", between(2, 14))
    y_width: int = spec("switching-probability LUT output width", between(1, 16))
    decay: str = spec("dissipation: multiply (theta*a >> F) or shift (alpha = 1 - 2**-k)",
                      one_of("multiply", "shift"))
    output: str = spec("lut (probability), spike (z >= 0) or stochastic (lfsr < LUT[z])",
                       one_of("lut", "spike", "stochastic"))
    lfsr_seed: int = spec("nonzero seed of the 16-bit Galois LFSR", between(1, 0xFFFF))
    threshold: str = spec("linear (thr0 - gamma theta, the slope at ambient) or table (the full "
                          "I_50(T) of the card, a table indexed by the heat's top bits)",
                           one_of("linear", "table"), default="linear")
    table_bits: int = spec("address bits of the threshold table (table mode) and of the read "
                           "table", between(2, 12), default=6)
    read_bits: typing.Optional[int] = spec(
        "bits of the resistance read: the sense amplifier's code of the junction's "
        "antiparallel conductance after each step, from ambient (0) to T_max (all ones), a "
        "table indexed by the heat (docs/neuron-model.md, \"The resistance read\"). Absent: "
        "no read", between(1, 8), default=None)


@dataclass(frozen=True)
class Hardware:
    """Parameters of the generated emulator."""
    lanes: int = spec("P, MAC lanes; neurons are time-multiplexed over them", between(1, 64))


@dataclass(frozen=True)
class Config:
    """A complete design."""
    name: str = spec("design name, used for build folders and the Verilog top")
    device: Device = spec("MTJ device card")
    layer: Layer = spec("layer shape")
    fixed_point: FixedPointConfig = spec("integer datapath")
    hardware: Hardware = spec("emulator parameters")
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file it came from"})


#: longest design or network name: it names the build folder and its files (``<name>_top.v``,
#: ``.<name>-old-XXXXXXXX``, ``<name>-bitstream``), which must stay under the file systems'
#: 255-byte limit of a file name
NAME_MAX = 100


def _check_name(v):
    ok = v and (v[0].isalpha()) and all(c.isalnum() or c == "_" for c in v)
    if not ok:
        return "must be a Verilog identifier (letters, digits, _; starts with a letter)"
    if len(v) > NAME_MAX:
        return (f"must be at most {NAME_MAX} characters (it names the build folder and its "
                f"files), got a name of {len(v)} characters")
    return None


def build_dataclass(cls, data, path, source):
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {path or '<top>'}: must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{source}: {where}: unknown key (allowed: {', '.join(known)})")
    values = {}
    for name, f in known.items():
        where = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is not dataclasses.MISSING:
                values[name] = f.default
                continue
            raise ConfigError(f"{source}: {where}: missing")
        value = data[name]
        typ = hints[name]
        if typing.get_origin(typ) in (typing.Union, types.UnionType):   # X | None: null = absent
            args = tuple(t for t in typing.get_args(typ) if t is not type(None))
            if value is None and len(args) < len(typing.get_args(typ)):
                values[name] = None
                continue
            typ = args[0] if len(args) == 1 else args        # X | Y: either, the check decides
        if dataclasses.is_dataclass(typ):
            value = build_dataclass(typ, value, where, source)
        else:
            if typ is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, typ) or isinstance(value, bool):
                names = " or ".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
                raise ConfigError(f"{source}: {where}: must be {names}, got {value!r}")
            if typ is float and not math.isfinite(value):
                raise ConfigError(f"{source}: {where}: must be a finite number, got {value!r}")
            check = f.metadata.get("check")
            reason = check(value) if check else None
            if reason:
                raise ConfigError(f"{source}: {where}: {reason}, got {value!r}")
        values[name] = value
    return cls(**values)


def parse_config(data, source="<memory>"):
    """Build a :class:`Config` from a parsed YAML mapping and check it.

    Raises
    ------
    ConfigError
        With one line naming ``source``, the key and the reason.
    """
    cfg = build_dataclass(Config, data, "", source)
    reason = _check_name(cfg.name)
    if reason:
        raise ConfigError(f"{source}: name: {reason}" + ("" if "got a name" in reason else
                                                           f", got {cfg.name!r}"))
    cfg = dataclasses.replace(cfg, source=source)
    if cfg.layer.neurons % cfg.hardware.lanes:
        raise ConfigError(
            f"{source}: layer.neurons: must be a multiple of hardware.lanes "
            f"({cfg.hardware.lanes}), got {cfg.layer.neurons}")
    # Widths against coefficients and shifts are checked where they are derived.
    from .fixed import derive_fixed_point
    derive_fixed_point(cfg)
    return cfg


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key, line, first):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error
    (PyYAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in first:
                        raise _DuplicateKey(key, key_node.start_mark.line + 1, first[key])
                except TypeError:       # unhashable: the safe loader refuses it itself
                    continue
                first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


#: largest YAML file read (the shipped ones are a few kB): a bigger one is refused before
#: reading, so a wrong path (a log, an image) stops at once
YAML_MAX_BYTES = 1 << 20


def read_yaml(path):
    """The parsed contents of a YAML file, or a one-line ConfigError naming the file.

    A file that is not UTF-8 text, is not valid YAML or gives one key twice in a mapping is
    refused, with the line where the parser stopped. A path that is not a regular file (a
    folder, ``/dev/zero``, a pipe) or holds more than :data:`YAML_MAX_BYTES` is refused
    before anything is read.
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "a device, pipe or socket"
            raise ConfigError(f"{path}: not a regular file ({kind}); give a YAML file")
        size = path.stat().st_size if path.exists() else 0
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if size > YAML_MAX_BYTES:
        raise ConfigError(f"{path}: {size} bytes, too large for a YAML description (at most "
                          f"{YAML_MAX_BYTES} bytes)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8)") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}: line {exc.line}: duplicate key {exc.key!r} "
                          f"(first given on line {exc.first})") from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(f"{path}: not a text file (control character #x{exc.character:04x} "
                          f"at character {exc.position})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}: not valid YAML ({problem})") from None


def load_config(path):
    """Read and check a YAML design file."""
    return parse_config(read_yaml(path), str(path))


def config_to_dict(cfg):
    """The config as a plain mapping, without ``source`` and without the optional keys that
    are at their default: a design that does not use a key added later (a bound, the
    threshold table) keeps its hash, so weights trained for it stay valid."""
    def plain(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.name == "source":
                continue
            value = getattr(obj, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            out[f.name] = plain(value) if dataclasses.is_dataclass(value) else value
        return out
    return plain(cfg)


def config_hash(cfg):
    """SHA-256 (first 16 hex digits) of the canonical JSON form of a config
    (:func:`sw.jobs.content_hash` of :func:`config_to_dict`)."""
    return content_hash(config_to_dict(cfg), length=16)
