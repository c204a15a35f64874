"""KFP component ``tune``: a Katib Experiment on the cluster (create, wait, re-attach) or run locally.

Logic lives in :mod:`components.tune.run` (modes), :mod:`components.tune.cluster` (Kubernetes calls)
and :mod:`components.tune.outputs`; ``component.py`` only maps KFP artifacts onto them.
"""

#: Where an Experiment runs: on the cluster through Katib, or here through the local runner.
MODES = ("kubernetes", "local")
