"""The flip-flop RAM compiler: every RAM of the design as a macro of standard cells.

A RAM (a memory with a write port) is replaced by an instance of a macro, one per shape
(words x bits), written here as plain Verilog and synthesised with the rest of the design:

* the words are cut into **banks** of :data:`BANK_ROWS` rows (the last bank holds the rest);
  a bank is one module, so Yosys and ABC map it once however many times it is used. Every
  bank decodes all the low address bits (5 for 32 rows) and the macro all the high ones,
  so a write to an address beyond the last word changes nothing; a read of such an
  address returns an undefined value (some row's, or 0), as the RTL's memory returns X;
* a row is ``width`` D flip-flops that load the write data when the write enable is high
  and the write address selects that row (the library has no enable flip-flop: a
  multiplexer holds the value);
* a bank's read data is a binary tree of 2:1 multiplexers on the low address bits; the
  banks' outputs meet in a second tree on the high bits; the macro's output register loads
  it when the read enable is high and holds otherwise (a synchronous read port);
* every net that would drive more than :data:`FANOUT` loads (an address or data bit
  spread over the rows, banks or multiplexers; a row's or the output register's enable)
  drives a tree of the library's buffer instead, each buffer driving at most
  :data:`FANOUT` loads, as a RAM compiler's drivers do; without them a 2048-word RAM's
  address bit would drive thousands of pins and the timing would be the wire's, not the
  logic's. The clock is left ideal (no clock tree before placement);
* a word is written at the rising edge of ``clk``; a read at the same edge returns the
  word as it was before that write (no write-through), as the RTL's memories do.

This is the structure of open flip-flop RAM generators (DFFRAM), without their hand
placement. Only the port shapes the accelerator uses are taken: one write port and one
synchronous read port on the same rising clock, a write enable for the whole word, no
read reset, no write-through. Anything else, or a size outside :data:`MAX_WORDS` and
:data:`MAX_WIDTH`, is refused with one line naming the memory (:func:`check_rams`), before
any tool runs on it. The contents at power-up are undefined, as in silicon: the Verilog
``initial`` values of the design's RAMs are not built, and the gate-level simulation
starts them at X.
"""

from __future__ import annotations

from ipnet_mtj.sw.cli import UsageError

__all__ = ["BANK_ROWS", "FANOUT", "MAX_WORDS", "MAX_WIDTH", "MACRO_PREFIX", "check_rams",
           "macro_name", "macro_verilog", "macro_models", "without_macros", "macro_netlist",
           "techmap_verilog",
           "ram_structure"]

BANK_ROWS = 32
FANOUT = 8
MAX_WORDS = 65536
MAX_WIDTH = 64
MACRO_PREFIX = "ipnet_ffram_"


def _num(value):
    return int(value, 2) if isinstance(value, str) else int(value)


def _address_bits(words):
    return max(1, (words - 1).bit_length())


def macro_name(words, width):
    """The macro module of a shape: ``ipnet_ffram_<words>x<width>``."""
    return f"{MACRO_PREFIX}{words}x{width}"


def _bank_name(rows, width, abits):
    """``ipnet_ffram_bank_<rows>x<width>``, with ``_a<abits>`` when the bank decodes more
    address bits than its rows need (the last, partial bank of a macro)."""
    own = "" if abits == _address_bits(rows) else f"_a{abits}"
    return f"{MACRO_PREFIX}bank_{rows}x{width}{own}"


def ram_structure(words):
    """(banks, rows of a full bank, rows of the last bank) of a RAM of ``words``."""
    rows = min(BANK_ROWS, words)
    banks = -(-words // rows)
    return banks, rows, words - rows * (banks - 1)


def check_rams(modules):
    """The shapes of the design's RAMs, after checking each fits the compiler.

    Parameters
    ----------
    modules : dict
        The ``modules`` of Yosys' JSON netlist after ``memory -nomap``.

    Returns
    -------
    list of (int, int)
        The distinct (words, width) of the RAMs, sorted.

    Raises
    ------
    UsageError
        One line naming the first memory that does not fit, and why.
    """
    shapes = set()
    for module, body in sorted(modules.items()):
        for cell_name, cell in sorted(body.get("cells", {}).items()):
            if cell["type"] != "$mem_v2":
                continue
            p, c = cell["parameters"], cell["connections"]
            if _num(p["WR_PORTS"]) == 0:
                continue                                   # a ROM: built as logic
            name = str(p.get("MEMID", cell_name)).lstrip("\\")
            where = f"memory {name} of {module.lstrip(chr(92))}"
            words, width = _num(p["SIZE"]), _num(p["WIDTH"])
            problems = []
            if _num(p["RD_PORTS"]) != 1 or _num(p["WR_PORTS"]) != 1:
                problems.append(f"{_num(p['RD_PORTS'])} read and {_num(p['WR_PORTS'])} write "
                                "ports (the compiler takes 1 and 1)")
            elif not (_num(p["RD_CLK_ENABLE"]) == 1 and _num(p["RD_CLK_POLARITY"]) == 1
                      and _num(p["WR_CLK_ENABLE"]) == 1 and _num(p["WR_CLK_POLARITY"]) == 1
                      and c["RD_CLK"] == c["WR_CLK"]):
                problems.append("read and write ports not both on the same rising clock")
            elif _num(p["RD_TRANSPARENCY_MASK"]):
                problems.append("a write-through read port")
            elif c["RD_ARST"] != ["0"] or c["RD_SRST"] != ["0"]:
                problems.append("a read port with a reset")
            elif len(set(map(str, c["WR_EN"]))) != 1:
                problems.append("a write enable per bit (the compiler writes whole words)")
            elif _num(p.get("OFFSET", 0)):
                problems.append("an address offset")
            elif _num(p["ABITS"]) != _address_bits(words):
                problems.append(f"a {_num(p['ABITS'])}-bit address for {words} words (the "
                                f"compiler takes {_address_bits(words)} bits)")
            elif "1" in str(p.get("INIT", "")):
                problems.append("initial contents (a RAM macro powers up undefined; the "
                                "compiler builds no preloaded RAM)")
            if not 2 <= words <= MAX_WORDS or not 1 <= width <= MAX_WIDTH:
                problems.append(f"unsupported memory size {words} x {width} (the compiler "
                                f"builds 2..{MAX_WORDS} words of 1..{MAX_WIDTH} bits)")
            if problems:
                raise UsageError(f"{where}: {problems[0]}")
            shapes.add((words, width))
    return sorted(shapes)


class _Writer:
    """Lines of a module, with buffer trees for the nets that drive many loads."""

    def __init__(self, buffer):
        self.lines = []
        self.cell, self.pin_in, self.pin_out = buffer
        self.count = 0

    def fan(self, source, loads):
        """``loads`` nets (one per load, in order) that carry ``source``, none driving more
        than :data:`FANOUT` loads: ``source`` itself when it has few enough loads, else
        the leaves of a tree of buffers."""
        if loads <= FANOUT:
            return [source] * loads
        leaves = -(-loads // FANOUT)
        parents = self.fan(source, leaves)
        nets = []
        for j in range(leaves):
            net = f"buf{self.count}"
            self.count += 1
            self.lines.append(f"  wire {net}; {self.cell} {net}_cell (.{self.pin_in}"
                              f"({parents[j]}), .{self.pin_out}({net}));")
            nets.append(net)
        return [nets[i // FANOUT] for i in range(loads)]

    def mux_trees(self, prefix, leaves, select, width):
        """One binary tree of 2:1 multiplexers per bit over ``leaves`` (vector nets of
        ``width`` bits), the LSB of ``select`` (a vector net) at the leaves; each select
        bit buffered for the multiplexers of its level. Returns the roots, one per bit.
        A missing leaf reads 0."""
        level, depth = [[f"{leaf}[{i}]" for i in range(width)] for leaf in leaves], 0
        while len(level) > 1:
            pairs = -(-len(level) // 2)
            sel = self.fan(f"{select}[{depth}]", pairs * width)
            nxt = []
            for j in range(pairs):
                a = level[2 * j]
                b = level[2 * j + 1] if 2 * j + 1 < len(level) else ["1'b0"] * width
                bits = []
                for i in range(width):
                    wire = f"{prefix}{depth}_{j}_{i}"
                    self.lines.append(f"  wire {wire} = {sel[j * width + i]} ? {b[i]} : {a[i]};")
                    bits.append(wire)
                nxt.append(bits)
            level, depth = nxt, depth + 1
        return level[0]

    def decode(self, enable, address, bits, count):
        """``count`` select nets: select ``k`` is ``enable`` and ``address`` (a vector net of
        ``bits``) equal to ``k``; the enable and every address bit buffered for them."""
        en = self.fan(enable, count)
        addr = [self.fan(f"{address}[{b}]", count) for b in range(bits)]
        out = []
        for k in range(count):
            terms = [en[k]] + [(addr[b][k] if (k >> b) & 1 else f"~{addr[b][k]}")
                               for b in range(bits)]
            self.lines.append(f"  wire sel{k} = {' & '.join(terms)};")
            out.append(f"sel{k}")
        return out


def _bank_verilog(rows, width, ab, buffer):
    w = _Writer(buffer)
    w.lines += [f"module {_bank_name(rows, width, ab)} (clk, we, wa, wd, ra, rd);",
                "  input clk, we;", f"  input [{ab - 1}:0] wa, ra;",
                f"  input [{width - 1}:0] wd;", f"  output [{width - 1}:0] rd;"]
    data = [w.fan(f"wd[{i}]", rows) for i in range(width)]
    for r, sel in enumerate(w.decode("we", "wa", ab, rows)):
        en = w.fan(sel, width)
        w.lines.append(f"  reg [{width - 1}:0] row{r};")
        w.lines += [f"  always @(posedge clk) if ({en[i]}) row{r}[{i}] <= {data[i][r]};"
                    for i in range(width)]
    roots = w.mux_trees("m", [f"row{r}" for r in range(rows)], "ra", width)
    w.lines += [f"  assign rd = {{{', '.join(reversed(roots))}}};", "endmodule", ""]
    return w.lines


def _macro_verilog(words, width, buffer):
    banks, rows, last = ram_structure(words)
    ab = _address_bits(words)
    low = _address_bits(rows) if banks > 1 else ab
    w = _Writer(buffer)
    w.lines += [f"// {words} words x {width} bits: {banks} bank(s) of {rows} rows"
                + (f", the last of {last}" if last != rows else ""),
                f"module {macro_name(words, width)} (clk, we, wa, wd, re, ra, rd);",
                "  input clk, we, re;", f"  input [{ab - 1}:0] wa, ra;",
                f"  input [{width - 1}:0] wd;", f"  output reg [{width - 1}:0] rd;"]
    if banks == 1:
        selects = ["we"]
    else:
        w.lines.append(f"  wire [{ab - low - 1}:0] wb = wa[{ab - 1}:{low}];")
        w.lines.append(f"  wire [{ab - low - 1}:0] rb = ra[{ab - 1}:{low}];")
        selects = w.decode("we", "wb", ab - low, banks)
    nets = {f"{port}[{i}]": w.fan(f"{port}[{i}]", banks)
            for port, n in (("wa", low), ("ra", low), ("wd", width)) for i in range(n)}
    outs = []
    for b in range(banks):
        n = last if b == banks - 1 else rows
        # every bank decodes all the low address bits: a write beyond the last word
        # selects no row, instead of aliasing onto a row of the partial last bank
        bus = {port: "{" + ", ".join(nets[f"{port}[{i}]"][b] for i in reversed(range(count)))
               + "}" for port, count in (("wa", low), ("ra", low), ("wd", width))}
        w.lines += [f"  wire [{width - 1}:0] bank{b}_rd;",
                    f"  {_bank_name(n, width, low)} bank{b} (.clk(clk), .we({selects[b]}), "
                    f".wa({bus['wa']}), .wd({bus['wd']}), .ra({bus['ra']}), .rd(bank{b}_rd));"]
        outs.append(f"bank{b}_rd")
    roots = (w.mux_trees("s", outs, "rb", width) if banks > 1
             else [f"bank0_rd[{i}]" for i in range(width)])
    re_ = w.fan("re", width)
    w.lines += [f"  always @(posedge clk) if ({re_[i]}) rd[{i}] <= {roots[i]};"
                for i in range(width)]
    w.lines += ["endmodule", ""]
    return w.lines


def macro_verilog(shapes, buffer):
    """The Verilog of the macros (and their banks) for ``shapes`` [(words, width)];
    ``buffer`` is the library's buffer (cell, input pin, output pin)."""
    lines = ["// Flip-flop RAM macros written by ipnet_mtj.gen.asic.ffram (docs/asic.md)", ""]
    banks = set()
    for words, width in shapes:
        count, rows, last = ram_structure(words)
        low = _address_bits(rows) if count > 1 else _address_bits(words)
        banks |= {(rows, width, low), (last, width, low)}
    for rows, width, abits in sorted(banks):
        lines += _bank_verilog(rows, width, abits, buffer)
    for words, width in shapes:
        lines += _macro_verilog(words, width, buffer)
    return "\n".join(lines)


def macro_models(shapes):
    """Behavioural Verilog of the macros for ``shapes``, with the same names and ports: what
    an SRAM macro's simulation model is to its layout. The gate-level simulation of a large
    design uses them in place of the macros' cells (docs/asic.md); the macros' own cells
    are simulated in the layer's gate-level bench and checked against these models by
    :func:`sim.gate_level.check_macros`."""
    lines = ["// Behavioural models of the flip-flop RAM macros (ipnet_mtj.gen.asic.ffram)", ""]
    for words, width in shapes:
        ab = _address_bits(words)
        lines += [f"module {macro_name(words, width)} (clk, we, wa, wd, re, ra, rd);",
                  "  input clk, we, re;", f"  input [{ab - 1}:0] wa, ra;",
                  f"  input [{width - 1}:0] wd;", f"  output reg [{width - 1}:0] rd;",
                  f"  reg [{width - 1}:0] mem [0:{words - 1}];",
                  "  always @(posedge clk) begin",
                  "    if (we) mem[wa] <= wd;",
                  "    if (re) rd <= mem[ra];          // the word before this edge's write",
                  "  end", "endmodule", ""]
    return "\n".join(lines)


def without_macros(netlist_text):
    """A hierarchical netlist with the macros' (and their banks') module definitions taken
    out, for simulation with :func:`macro_models` in their place."""
    import re
    return re.sub(rf"^module {MACRO_PREFIX}\w*\s*\(.*?^endmodule\s*\n", "", netlist_text,
                  flags=re.M | re.S)


def macro_netlist(netlist_text, words, width):
    """The modules of a hierarchical netlist that make up macro ``words`` x ``width``: the
    macro's own and its banks', for simulating the macro apart."""
    import re
    modules = {m.group(1): m.group(0) for m in
               re.finditer(r"^module\s+(\S+)\s*\(.*?^endmodule\s*\n", netlist_text,
                           re.M | re.S)}
    name = macro_name(words, width)
    if name not in modules:
        raise ValueError(f"the netlist has no macro {name}")
    text = modules[name]
    banks = sorted(set(re.findall(rf"^\s*({MACRO_PREFIX}bank_\w+)\s", text, re.M)))
    return "".join([text] + [modules[b] for b in banks])


def techmap_verilog(shapes):
    """A Yosys techmap file that turns each RAM ``$mem_v2`` cell of ``shapes`` into its
    macro; ROMs (no write port) are left to Yosys, which builds them as logic."""
    arms, known = [], []
    for words, width in shapes:
        ab = _address_bits(words)
        match = f"(SIZE == {words} && WIDTH == {width})"
        known.append(match)
        arms.append(
            f"  if (WR_PORTS == 1 && {match}) begin : ram\n"
            f"    {macro_name(words, width)} _TECHMAP_REPLACE_ (.clk(WR_CLK[0]), "
            f".we(WR_EN[0]), .wa(WR_ADDR[{ab - 1}:0]), .wd(WR_DATA), .re(RD_EN[0]), "
            f".ra(RD_ADDR[{ab - 1}:0]), .rd(RD_DATA));\n  end")
    fail = f"!(WR_PORTS == 1 && ({' || '.join(known)}))" if known else "1"
    body = "\n".join(arms)
    return f"""// RAMs onto the flip-flop RAM macros (ipnet_mtj.gen.asic.ffram)
(* techmap_celltype = "$mem_v2" *)
module ipnet_ffram_map (RD_CLK, RD_EN, RD_ARST, RD_SRST, RD_ADDR, RD_DATA, WR_CLK, WR_EN,
                        WR_ADDR, WR_DATA);
  parameter MEMID = "";
  parameter signed SIZE = 4;
  parameter signed OFFSET = 0;
  parameter signed ABITS = 2;
  parameter signed WIDTH = 8;
  parameter signed INIT = 1'bx;
  parameter signed RD_PORTS = 1;
  parameter RD_CLK_ENABLE = 1'b1;
  parameter RD_CLK_POLARITY = 1'b1;
  parameter RD_TRANSPARENCY_MASK = 1'b0;
  parameter RD_COLLISION_X_MASK = 1'b0;
  parameter RD_WIDE_CONTINUATION = 1'b0;
  parameter RD_CE_OVER_SRST = 1'b0;
  parameter RD_ARST_VALUE = 1'b0;
  parameter RD_SRST_VALUE = 1'b0;
  parameter RD_INIT_VALUE = 1'b0;
  parameter signed WR_PORTS = 1;
  parameter WR_CLK_ENABLE = 1'b1;
  parameter WR_CLK_POLARITY = 1'b1;
  parameter WR_PRIORITY_MASK = 1'b0;
  parameter WR_WIDE_CONTINUATION = 1'b0;
  input [RD_PORTS-1:0] RD_CLK, RD_EN, RD_ARST, RD_SRST;
  input [RD_PORTS*ABITS-1:0] RD_ADDR;
  output [RD_PORTS*WIDTH-1:0] RD_DATA;
  input [WR_PORTS-1:0] WR_CLK;
  input [WR_PORTS*WIDTH-1:0] WR_EN, WR_DATA;
  input [WR_PORTS*ABITS-1:0] WR_ADDR;
  wire _TECHMAP_FAIL_ = {fail};
  generate
{body}
  endgenerate
endmodule
"""
