// The native network bench's main (sim/native.py): the clock and the sequence loop in C++, no
// VPI and no Python while the simulation runs. It drives the harness exactly as the cocotb
// bench does (sim/tb_network.py): for each line of the plan file, in that sequence's folder
// (where the harness reads stim.hex and writes mon.hex and y.hex): reset for two rising
// edges, set frames, beats (stimulus words) and the handshake-stress seeds, pulse start for one rising edge, run
// until done rises, one more rising edge; then write "<cycles> <frame_error>" to result.txt.
// Plan line: <folder> <frames> <beats> <gap_seed> <gap_prob> <stall_seed> <stall_prob> <max_cycles>.
// Progress (optional arguments PROGRESS TOTAL): "<sequences done> <TOTAL> 0 0 <frames done>"
// after each sequence, the progress-file format of the cocotb benches (values are compared
// afterwards, in Python).
#include "Vnet_harness.h"
#include "verilated.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PLAN [PROGRESS TOTAL]\n", argv[0]);
        return 2;
    }
    const std::string progress = argc > 3 ? argv[2] : "";
    const std::string total = argc > 3 ? argv[3] : "0";
    VerilatedContext ctx;
    Vnet_harness top{&ctx};
    auto tick = [&]() {
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
    };
    top.clk = 0;
    top.rst = 0;
    top.start = 0;
    top.frames = 0;
    top.beats = 0;
    top.gap_seed = top.gap_prob = top.stall_seed = top.stall_prob = 0;
    top.eval();
    std::ifstream plan(argv[1]);
    std::string line;
    unsigned long done = 0, frames_done = 0;
    while (std::getline(plan, line)) {
        if (line.empty()) continue;
        std::istringstream f(line);
        std::string dir;
        unsigned long frames, beats, gap_seed, gap_prob, stall_seed, stall_prob, max_cycles;
        if (!(f >> dir >> frames >> beats >> gap_seed >> gap_prob >> stall_seed >> stall_prob >> max_cycles)) {
            std::fprintf(stderr, "%s: bad plan line: %s\n", argv[1], line.c_str());
            return 2;
        }
        if (chdir(dir.c_str()) != 0) {
            std::fprintf(stderr, "%s: no such folder\n", dir.c_str());
            return 2;
        }
        top.rst = 1;
        tick();
        tick();
        top.rst = 0;
        top.frames = frames;
        top.beats = beats;
        top.gap_seed = gap_seed;
        top.gap_prob = gap_prob;
        top.stall_seed = stall_seed;
        top.stall_prob = stall_prob;
        top.start = 1;
        tick();
        top.start = 0;
        unsigned long n = 0;
        while (!top.done) {
            tick();
            if (++n > max_cycles) {
                std::fprintf(stderr, "%s: no done after %lu cycles\n", dir.c_str(), max_cycles);
                return 3;
            }
        }
        tick();
        FILE* out = std::fopen("result.txt", "w");
        std::fprintf(out, "%lu %u\n", (unsigned long)top.cycles, (unsigned)top.frame_error);
        std::fclose(out);
        ++done;
        frames_done += frames;
        if (!progress.empty()) {
            FILE* p = std::fopen(progress.c_str(), "w");
            if (p) {
                std::fprintf(p, "%lu %s 0 0 %lu\n", done, total.c_str(), frames_done);
                std::fclose(p);
            }
        }
    }
    top.final();
    return 0;
}
