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
import hashlib
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = [
    "ConfigError", "Device", "Layer", "Format", "FixedPointConfig", "Hardware",
    "Config", "load_config", "parse_config", "config_hash", "read_yaml",
]


class ConfigError(Exception):
    """A configuration that cannot be built. The message is one line:
    ``<file>: <key>: <reason>``."""


def _positive(v):
    return None if v > 0 else "must be > 0"


def _non_negative(v):
    return None if v >= 0 else "must be >= 0"


def _between(lo, hi):
    def check(v):
        return None if lo <= v <= hi else f"must be between {lo} and {hi}"
    return check


def _magnitude(lo, hi):
    """A value in [lo, hi] (``lo`` 0, or > 0 for a value that must be > 0): bounds of a device
    value in its unit, wide enough for any real junction, narrow enough that no coefficient
    derived from the card overflows a float."""
    def check(v):
        if v < 0 or (v == 0 and lo > 0):
            return "must be > 0" if lo > 0 else "must be >= 0"
        return None if lo <= v <= hi else f"out of range: must be between {lo:g} and {hi:g}"
    return check


def _one_of(*choices):
    def check(v):
        return None if v in choices else f"must be one of {', '.join(choices)}"
    return check


def _spec(doc, check=None, default=dataclasses.MISSING):
    meta = {"doc": doc, "check": check}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


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
    tau_th_ns: float = _spec("thermal time constant R_th*C_th", _DEVICE_RANGE)
    dt_ns: float = _spec("time step (interval between input frames)", _DEVICE_RANGE)
    pulse_ns: float = _spec("width of the current pulse that may switch the junction",
                            _DEVICE_RANGE)
    tau0_ns: float = _spec("attempt time of the Neel-Arrhenius law", _DEVICE_RANGE)
    delta0: float = _spec("thermal stability factor E_b/(k_B T0) at ambient", _DEVICE_RANGE)
    T0_K: float = _spec("ambient temperature", _DEVICE_RANGE)
    Tc_K: float = _spec("Curie temperature (Bloch law M_s(T) = M_s0 (1-(T/Tc)^1.5))", _DEVICE_RANGE)
    R_P_ohm: float = _spec("resistance in the parallel state", _DEVICE_RANGE)
    tmr: float = _spec("tunnel magnetoresistance ratio, R_AP = R_P (1 + tmr)",
                       _magnitude(0, 1e9))
    rest_state: str = _spec("state the neuron rests in while it integrates (P or AP)", _one_of("P", "AP"))
    R_th_K_per_uW: float = _spec("thermal resistance junction to ambient", _DEVICE_RANGE)
    I_c0_uA: float = _spec("critical switching current at 0 K (currents are normalised to it)",
                           _DEVICE_RANGE)
    ic0_ms_exponent: typing.Optional[float] = _spec(
        "n in I_c0(T) = I_c0 (M_s(T)/M_s(T0))**n; absent: I_c0 does not change with temperature",
        _between(0.0, 10.0), default=None)
    T_max_K: typing.Optional[float] = _spec(
        "hottest the junction may get (below Tc_K); the heat saturates there. Absent: no bound",
        _DEVICE_RANGE, default=None)
    V_bd_V: typing.Optional[float] = _spec(
        "breakdown voltage of the tunnel barrier; the current saturates at V_bd_V / R in the rest "
        "state. Absent: no bound", _DEVICE_RANGE, default=None)
    tau_th_ns_devices: typing.Optional[list] = _spec(
        "thermal time constants of K junction geometries the layer mixes (neuron n, or in a "
        "network channel c, is device n mod K); they differ in thermal resistance, R_th "
        "scaled by tau / tau_th_ns at the card's heat capacity. Absent: one device",
        lambda v: _device_list(v), default=None)
    threshold_sigma_ic0: typing.Optional[float] = _spec(
        "device-to-device spread: standard deviation of each junction's switching threshold "
        "around the card's (units of I_c0); every neuron gets its own offset, drawn once. "
        "Absent: identical junctions", _between(0.0, 0.5), default=None)
    thermal_sigma_rel: typing.Optional[float] = _spec(
        "device-to-device spread of the thermal constants: each junction's thermal resistance "
        "and, independently, its time constant are scaled by 1 + N(0, sigma^2) (clipped at "
        "-0.5), drawn once. Absent: no thermal spread", _between(0.0, 0.3), default=None)
    spread_seed: typing.Optional[int] = _spec(
        "seed of the per-junction draw (which chip); absent: 0", _between(0, 2**32 - 1),
        default=None)


@dataclass(frozen=True)
class Layer:
    """The IP layer: M inputs, N thermal neurons, and where its weights come from."""
    inputs: int = _spec("M, inputs per time step", _between(1, 4096))
    neurons: int = _spec("N, thermal neurons", _between(1, 4096))
    weight_seed: int = _spec("seed of the generator of the shipped illustrative weights", _non_negative)


@dataclass(frozen=True)
class Format:
    """A fixed-point format: ``width`` bits, ``frac`` of them after the binary point."""
    width: int = _spec("total bits", _between(1, 32))
    frac: int = _spec("fraction bits (value = integer * 2**-frac)", _between(0, 40))


@dataclass(frozen=True)
class FixedPointConfig:
    """Widths and modes of the integer datapath (see docs/fixed-point.md)."""
    x: Format = _spec("input sample, signed")
    w: Format = _spec("synaptic weight, signed")
    b: Format = _spec("bias, signed")
    i: Format = _spec("requantised input current (units of I_c0), signed")
    theta: Format = _spec("thermal state (heat units), unsigned")
    gamma: Format = _spec("threshold drop per heat unit, unsigned coefficient")
    alpha_frac: int = _spec("fraction bits of the dissipation factor (multiply mode)", _between(1, 24))
    z_width: int = _spec("pre-activation width; frac is that of i", _between(2, 14))
    y_width: int = _spec("switching-probability LUT output width", _between(1, 16))
    decay: str = _spec("dissipation: multiply (theta*a >> F) or shift (alpha = 1 - 2**-k)",
                       _one_of("multiply", "shift"))
    output: str = _spec("lut (probability), spike (z >= 0) or stochastic (lfsr < LUT[z])",
                        _one_of("lut", "spike", "stochastic"))
    lfsr_seed: int = _spec("nonzero seed of the 16-bit Galois LFSR", _between(1, 0xFFFF))
    threshold: str = _spec("linear (thr0 - gamma theta, the slope at ambient) or table (the full "
                           "I_50(T) of the card, a table indexed by the heat's top bits)",
                           _one_of("linear", "table"), default="linear")
    table_bits: int = _spec("address bits of the threshold table (table mode)", _between(2, 12),
                            default=6)


@dataclass(frozen=True)
class Hardware:
    """Parameters of the generated emulator."""
    lanes: int = _spec("P, MAC lanes; neurons are time-multiplexed over them", _between(1, 64))


@dataclass(frozen=True)
class Config:
    """A complete design."""
    name: str = _spec("design name, used for build folders and the Verilog top")
    device: Device = _spec("MTJ device card")
    layer: Layer = _spec("layer shape")
    fixed_point: FixedPointConfig = _spec("integer datapath")
    hardware: Hardware = _spec("emulator parameters")
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file it came from"})


def _check_name(v):
    ok = v and (v[0].isalpha()) and all(c.isalnum() or c == "_" for c in v)
    return None if ok else "must be a Verilog identifier (letters, digits, _; starts with a letter)"


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
        if typing.get_origin(typ) is typing.Union:          # Optional[X]: null means absent
            typ = next(t for t in typing.get_args(typ) if t is not type(None))
            if value is None:
                values[name] = None
                continue
        if dataclasses.is_dataclass(typ):
            value = build_dataclass(typ, value, where, source)
        else:
            if typ is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, typ) or isinstance(value, bool):
                raise ConfigError(f"{source}: {where}: must be {typ.__name__}, got {value!r}")
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
        raise ConfigError(f"{source}: name: {reason}, got {cfg.name!r}")
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


def read_yaml(path):
    """The parsed contents of a YAML file, or a one-line ConfigError naming the file.

    A file that is not UTF-8 text, is not valid YAML or gives one key twice in a mapping is
    refused, with the line where the parser stopped.
    """
    path = Path(path)
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
    """SHA-256 (first 16 hex digits) of the canonical JSON form of a config."""
    blob = json.dumps(config_to_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
