"""Ray, when these tests start it, listens on the loopback address only and reports nothing.

Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER once, on import: "0" makes it take 127.0.0.1 as the node address
(else the machine's outward address, on which its servers would listen). Set here, before any test module of
this folder imports ray; the Ray processes the tests start inherit it.
"""

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
