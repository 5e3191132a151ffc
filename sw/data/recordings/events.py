"""The event array every reader returns: tonic's structured layout, so tonic's transforms apply.

Fields: ``x``, ``y`` (pixel, int16, 0 at the sensor's left and top as the file stores
them), ``t`` (microseconds, int64) and ``p`` (polarity, bool: True for an ON event, a rise
in brightness).
"""

from __future__ import annotations

import numpy as np

from ipnet_mtj.sw.errors import ConfigError

__all__ = ["EVENTS", "events", "DataError", "PUBLISHED", "TONIC_MISSING"]

TONIC_MISSING = ("tonic is not installed (make installs it: pip install --no-deps tonic==1.7.0 "
                 "importRosbag==1.0.4)")

EVENTS = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])

#: where each data set is published (named in the errors when it is missing)
PUBLISHED = {
    "DVSGesture": "https://research.ibm.com/interactive/dvsgesture/ (DvsGesture.tar.gz)",
    "NMNIST": "https://www.garrickorchard.com/datasets/n-mnist (Train.zip, Test.zip)",
    "DDD20": "https://sites.google.com/view/davis-driving-dataset-2020/home (rec*.hdf5)",
}


class DataError(ConfigError):
    """A recording that cannot be read: the message is one line naming the file and what is
    wrong (the command line prints it as ``error: <message>``)."""


def events(x, y, t, p):
    """A structured event array from four equally long sequences."""
    out = np.empty(len(t), dtype=EVENTS)
    out["x"], out["y"], out["t"], out["p"] = x, y, t, p
    return out
