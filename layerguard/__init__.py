"""layerguard: offline preview engine and command line.

The engine runs any Pulumi Python program under the SDK's mock runtime with preview semantics and
analyses it with any Python CrossGuard policy pack over the real Analyzer gRPC protocol. It never
imports the layerguard program (`components/`) or its policy pack (`policy/`).
"""

__version__ = "0.1.0"
