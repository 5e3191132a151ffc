"""An AXI4-Stream wrapper around a generated component, from its manifest's ports.

The component's streams (``x`` in, ``y`` out) carry a struct payload whose ``last`` field
is the topmost bit; the wrapper maps them onto AXI4-Stream as an integrator expects:

- ``s_axis_tdata``/``tvalid``/``tready``/``tlast`` -> ``x``: ``tdata`` holds the data value,
  zero-extended (unsigned data: the network's event counts) or sign-extended (signed: the
  layer's samples) to whole bytes by the sender; a value outside the data field's range
  saturates to its nearest end (an event count of 16 or more is 15 for 4-bit data), exactly
  as the golden model quantises its input (``sw.netref.quantise_frames``: floor, then
  saturate), never wraps; ``tlast`` is the data's ``last``. With event input
  (``hardware.input: events``) ``tdata`` holds the event's fields below ``last`` (count,
  channel, col, row) at the manifest's offsets, zero-padded to whole bytes, passed as they
  are (the sender saturates the count, as for the golden model);
- ``y`` -> ``m_axis_tdata``/``tvalid``/``tready``/``tlast``: ``tdata`` holds every payload
  field below ``last`` at the manifest's offsets, zero-padded to whole bytes;
- ``aclk`` and the active-low ``aresetn`` (synchronous, as AXI specifies) drive the
  component's rising-edge clock and active-high synchronous reset;
- the component's error flag (``frame_error`` or ``step_error``) is passed through;
  debug ports (``monitor``, ``state``) end in wires that nothing reads.

The handshakes pass straight through: the component's streams follow Amaranth's
``lib.stream`` rules, which are AXI4-Stream's (valid does not wait for ready, valid and
payload hold until the transfer). ``tests/test_axis.py`` checks them with cocotbext-axi.
"""

from __future__ import annotations

import shutil

from ipnet_mtj.hw.lint_waivers import LINT_WAIVERS

__all__ = ["axis_wrapper", "axis_layout", "integration_files"]


def _by_name(ports):
    return {p["name"]: p for p in ports}


def _bytes(bits):
    return 8 * -(-bits // 8)


def axis_layout(manifest):
    """The wrapper's module name, tdata widths and field map: a dict for the manifest."""
    ports = _by_name(manifest["ports"])
    top = manifest.get("network") or manifest["design"]
    x, y = ports["x__payload"]["fields"], ports["y__payload"]["fields"]
    events = "count" in x
    if not events and (x["data"]["offset"], x["last"]["offset"]) != (0, x["data"]["width"]):
        raise ValueError(f"x__payload: expected data at bit 0 and last above it, got {x}")
    for name, fields in (("x", x), ("y", y)):
        if fields["last"]["offset"] != max(f["offset"] for f in fields.values()):
            raise ValueError(f"{name}__payload: last must be the topmost field, got {fields}")
    y_bits = y["last"]["offset"]
    error = next(p["name"] for p in manifest["ports"] if p["name"].endswith("_error"))
    return {
        "module": f"{top}_axis",
        "file": f"{top}_axis.v",
        "s_axis": ({"tdata_width": _bytes(x["last"]["offset"]),
                    "fields": {k: v for k, v in x.items() if k != "last"}} if events else
                   {"tdata_width": _bytes(x["data"]["width"]), "fields": {"data": x["data"]}}),
        "m_axis": {"tdata_width": _bytes(y_bits),
                   "fields": {k: v for k, v in y.items() if k != "last"}},
        "error": error,
        "reset": {"name": "aresetn", "polarity": "active-low", "synchronous": True},
        "clock": {"name": "aclk", "edge": "rising"},
    }


def axis_wrapper(manifest):
    """Verilog text of the AXI4-Stream wrapper of the component described by ``manifest``."""
    lay = axis_layout(manifest)
    top = manifest.get("network") or manifest["design"]
    ports = _by_name(manifest["ports"])
    x_fields = ports["x__payload"]["fields"]
    events = "count" in x_fields
    xw = x_fields["last"]["offset"] if events else x_fields["data"]["width"]
    x_signed = False if events else x_fields["data"]["signed"]
    yb = ports["y__payload"]["fields"]["last"]["offset"]
    sw, mw = lay["s_axis"]["tdata_width"], lay["m_axis"]["tdata_width"]
    pad = f"{{{mw - yb}'d0, y__payload[{yb - 1}:0]}}" if mw > yb else f"y__payload[{yb - 1}:0]"
    fields = ", ".join(f"{k} [{v['offset'] + v['width'] - 1}:{v['offset']}]"
                       f"{' signed' if v['signed'] else ''}"
                       for k, v in lay["m_axis"]["fields"].items())
    err = lay["error"]
    used = {"x__payload", "x__valid", "x__ready", "y__payload", "y__valid", "y__ready", err}
    debug = [p for p in manifest["ports"] if p["name"] not in used]
    if any(p["direction"] != "out" for p in debug):
        raise ValueError(f"inputs the wrapper cannot drive: {[p['name'] for p in debug]}")
    debug_wires = "".join(f"    wire [{p['width'] - 1}:0] debug_{p['name']};   // not used\n"
                          for p in debug)
    debug_pins = "".join(f",\n        .{p['name']}(debug_{p['name']})" for p in debug)
    if events:
        data = f"s_axis_tdata[{xw - 1}:0]"
        note = "the event's fields below last, as the manifest places them"
    else:
        data = _saturate(sw, xw, x_signed)
        note = (f"s_axis_tdata saturated to the data field ({xw} bits, "
                f"{'signed' if x_signed else 'unsigned'}), as the golden model does")
    return f"""// Generated by gen/axis.py: {top} behind AXI4-Stream. m_axis_tdata fields: {fields}.
module {lay['module']} (
    input  wire              aclk,
    input  wire              aresetn,
    input  wire [{sw - 1}:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,
    output wire [{mw - 1}:0] m_axis_tdata,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready,
    output wire              m_axis_tlast,
    output wire              {err}
);
    wire [{yb}:0] y__payload;
    // {note}
    wire [{xw - 1}:0] s_axis_data = {data};
{debug_wires}    {top} core (
        .clk(aclk),
        .rst(~aresetn),
        .x__payload({{s_axis_tlast, s_axis_data}}),
        .x__valid(s_axis_tvalid),
        .x__ready(s_axis_tready),
        .y__payload(y__payload),
        .y__valid(m_axis_tvalid),
        .y__ready(m_axis_tready),
        .{err}({err}){debug_pins}
    );
    assign m_axis_tdata = {pad};
    assign m_axis_tlast = y__payload[{yb}];
endmodule
"""


def _saturate(sw, xw, signed):
    """Verilog expression: ``s_axis_tdata`` ([sw-1:0], zero- or sign-extended) saturated to
    ``xw`` bits: the nearest value of the data field's range."""
    if sw == xw:
        return f"s_axis_tdata[{xw - 1}:0]"
    if not signed:
        return (f"(|s_axis_tdata[{sw - 1}:{xw}]) ? {{{xw}{{1'b1}}}} : "
                f"s_axis_tdata[{xw - 1}:0]")
    fits = f"(&s_axis_tdata[{sw - 1}:{xw - 1}] || ~|s_axis_tdata[{sw - 1}:{xw - 1}])"
    top = f"{{1'b1, {{{xw - 1}{{1'b0}}}}}}" if xw > 1 else "1'b1"
    bottom = f"{{1'b0, {{{xw - 1}{{1'b1}}}}}}" if xw > 1 else "1'b0"
    return (f"{fits} ? s_axis_tdata[{xw - 1}:0] : "
            f"(s_axis_tdata[{sw - 1}] ? {top} : {bottom})")


def integration_files(folder, top, ports):
    """Write the AXI4-Stream wrapper and the lint waivers next to the Verilog; their paths."""
    stub = {"design": top, "ports": ports}
    wrapper = folder / axis_layout(stub)["file"]
    wrapper.write_text(axis_wrapper(stub))
    waivers = folder / "lint.vlt"
    shutil.copyfile(LINT_WAIVERS, waivers)
    return [wrapper, waivers]
