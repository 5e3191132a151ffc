"""Memory energy per inference: the bits each model's memory reads and writes, times
published per-access energies; against the MTJ's thermal memory.

Model (docs/results-method.md says the same in prose):

- Digital memories hold 16-bit words (states, gate activations, recurrent
  weights, buffered feature maps). Per frame:
  * RNN: read h and W_hh (H*H), write h.
  * GRU: read h and W_hh (3H*H), write and read 3H gate values, write h.
  * LSTM (and ResNet-LSTM): read h, c and W_hh (4H*H), write and read 4H gate values,
    write h and c.
  * (2+1)D CNN: each causal temporal convolution of kernel k keeps the last k-1 feature
    maps: write one map, read k maps.
  * 3D CNN: the same for the input frames (conv1) and for conv1's maps (conv2).
  * frame-sum: read and write the running sum of the readout.
- Energy per 64-bit access, Horowitz (ISSCC 2014, 45 nm): 8 KB SRAM 10 pJ, 32 KB SRAM
  20 pJ, 1 MB SRAM 100 pJ, DRAM 2 nJ (the middle of the quoted 1.3-2.6 nJ).
  The tier is the smallest that holds the model's whole memory footprint.
- IPNet: the heat *is* the state. No bit is read or written to remember; the
  memory's marginal energy is 0. As a conservative figure we charge IPNet with all
  Joule heat of its thermal layer, sum of I**2 R t_p over neurons and frames, with
  the currents of the trained network on the test set, after the datapath saturates
  them at the card's limit (:func:`sw.train.physics.junction_physics`), and R, t_p and
  I_c0 from the device card. That is energy the neurons spend on computing anyway.
- A resistance read (``fixed_point.read_bits`` = b, IPNet's ``read`` option) costs one
  analog-to-digital conversion per junction and frame, E = FoM * 2**b with the Walden figure
  of merit FoM = 10 fJ per conversion step (:data:`ADC_FOM_FJ`): Murmann's ADC performance
  survey puts the best published converters below 1 fJ per step and most between 1 and 100,
  so 10 is a middling, not a best-case, figure. The read current's own Joule heat (about
  0.1 V across R_AP for a nanosecond, a few fJ) is left out.
"""

from __future__ import annotations

from ipnet_mtj.sw.device import resistance

__all__ = ["ACCESS_PJ", "digital_memory", "thermal_joule_pj", "read_adc_pj", "WORD_BITS",
           "ADC_FOM_FJ", "ADC_SOURCE"]

WORD_BITS = 16
ACCESS_PJ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0), (float("inf"), 2000.0))
SOURCE = "Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm)"
#: Walden figure of merit of the read's converter, fJ per conversion step
ADC_FOM_FJ = 10.0
ADC_SOURCE = "B. Murmann, ADC Performance Survey 1997-2024 (Walden figure of merit)"


def _tier(footprint_bytes):
    return next(pj for size, pj in ACCESS_PJ if footprint_bytes <= size)


def digital_memory(model_name, steps, features, channels, size=32, k=3):
    """Bits read + written per inference and energy (pJ) of a digital memory.

    Returns
    -------
    dict with ``bits``, ``footprint_bytes``, ``pj_per_64b`` and ``pj``.
    """
    h = features
    c1, c2 = channels
    map1 = c1 * (size // 2) ** 2            # conv1 output
    map2 = c2 * 16                          # conv2 output after 4x4 pooling
    frame = 2 * size * size
    words_per_step, footprint_words = {
        "rnn": (h + h * h + h, h + h * h),
        "gru": (h + 3 * h * h + 6 * h + h, h + 3 * h * h + 3 * h),
        "lstm": (2 * h + 4 * h * h + 8 * h + 2 * h, 2 * h + 4 * h * h + 4 * h),
        "cnn2p1d": ((1 + k) * (map1 + map2), (k - 1) * (map1 + map2)),
        "cnn3d": ((1 + k) * (frame + map1), (k - 1) * (frame + map1)),
        "framesum": (2 * h, h),
    }[{"resnet_lstm": "lstm"}.get(model_name, model_name)]
    bits = words_per_step * WORD_BITS * steps
    footprint = footprint_words * WORD_BITS / 8
    pj_per_access = _tier(footprint)
    return {"bits": bits, "footprint_bytes": footprint, "pj_per_64b": pj_per_access,
            "pj": bits / 64 * pj_per_access}


def thermal_joule_pj(mean_square_current, neurons, steps, device):
    """Joule heat (pJ) of ``neurons`` MTJs over ``steps`` frames.

    ``mean_square_current`` is the mean of (I / I_c0)**2 over neurons and frames.
    """
    r_ohm = resistance(device)
    i_c0 = device.I_c0_uA * 1e-6
    joules = mean_square_current * i_c0 ** 2 * r_ohm * device.pulse_ns * 1e-9 * neurons * steps
    return joules * 1e12


def read_adc_pj(neurons, steps, bits):
    """Energy (pJ) of the resistance reads of ``neurons`` junctions over ``steps`` frames:
    one ``bits``-bit conversion each, ADC_FOM_FJ * 2**bits fJ."""
    return neurons * steps * ADC_FOM_FJ * 2 ** bits * 1e-3
