"""The port list of a generated component, for its manifest: what an integrator needs to wire it.

Every port comes from the component's own signature metadata (Amaranth's
``Component.metadata.as_json()``): its Verilog name, direction, width and signedness.
From the signature itself come the stream each port belongs to, its role in the stream
(payload, valid, ready), whether the component is the stream's sink or source, and the
fields of a structured payload (offset, width, signedness). Clock and reset are Amaranth's
``sync`` domain: rising edge, synchronous, active-high reset.
"""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib import data, stream, wiring

__all__ = ["port_manifest", "CLOCK", "RESET"]

CLOCK = {"name": "clk", "edge": "rising"}
RESET = {"name": "rst", "polarity": "active-high", "synchronous": True}


def _fields(shape):
    if not isinstance(shape, data.Layout):
        return None
    return {name: {"offset": f.offset, "width": Shape.cast(f.shape).width,
                   "signed": Shape.cast(f.shape).signed} for name, f in shape}


def port_manifest(component):
    """Every port of ``component``: a list of dicts, in signature order.

    Keys: ``name`` (as in the Verilog), ``direction`` (in/out), ``width``, ``signed``;
    for stream ports ``stream`` (the member's name), ``role`` (payload/valid/ready) and
    ``side`` (sink: the component takes the stream; source: it gives it); for a structured
    payload ``fields``.
    """
    meta = component.metadata.as_json()["interface"]["members"]
    ports = []
    for name, member in component.signature.members.items():
        entry = meta[name]
        if member.is_port:
            ports.append(_port(entry, member.shape))
            continue
        sig = member.signature
        is_stream = isinstance(sig, stream.Signature)
        side = "sink" if member.flow == wiring.In else "source"
        for sub_name, sub in sig.members.items():
            port = _port(entry["members"][sub_name], sub.shape)
            if is_stream:
                port.update(stream=name, role=sub_name, side=side)
            ports.append(port)
    return ports


def _port(entry, shape):
    port = {"name": entry["name"], "direction": entry["dir"], "width": entry["width"],
            "signed": entry["signed"]}
    fields = _fields(shape)
    if fields is not None:
        port["fields"] = fields
    return port
