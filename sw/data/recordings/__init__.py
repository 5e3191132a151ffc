"""Event-camera recordings as distributed: readers, sample lists and binning to frames.

One module per job: :mod:`.events` (the event array every reader returns),
:mod:`.aedat` (IBM's AEDAT 3.1 files), :mod:`.dvsgesture`, :mod:`.nmnist` and
:mod:`.ddd20` (each data set's folder layout, splits and labels), :mod:`.framing`
(events to the accelerator's frames: the one function training, the golden
model and the RTL benches are fed by) and :mod:`.tasks` (a task's split as the
(x, y) arrays of the generated tasks). docs/real-data.md is the contract.
"""
