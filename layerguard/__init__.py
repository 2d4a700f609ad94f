"""layerguard: offline preview engine and command line.

The engine runs any Pulumi Python program under the SDK's mock runtime with preview semantics and
analyses it with any Python CrossGuard policy pack over the real Analyzer gRPC protocol. It never
imports the layerguard program (`components/`) or its policy pack (`policy/`).
"""

import os

# The engine starts language hosts and packs with `Popen(preexec_fn=...)` (lifecycle.py), which
# forks, from a process whose gRPC threads may be busy (two previews at once, `preview --all`'s
# workers). With gRPC's fork support on, its pthread_atfork child handler runs in the child before
# `exec` and can abort it ("epoll_wait error: Bad file descriptor": the pack "failed to start (exit
# -6)", 2 of 16 previews run two at a time without a zygote). Every child here either calls `exec`
# or, forked by the zygote, creates its gRPC servers only after the fork, which gRPC supports without
# fork support (grpc/grpc examples/python/multiprocessing/README.md: "calling fork without exec in
# your python process is supported *before* any gRPC servers have been instantiated"). So it is off
# unless the caller set it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

__version__ = "0.1.0"
