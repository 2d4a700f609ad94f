"""Backends the nodes can protect, one component per kind, each an `interfaces.Upstream`.

`service` is the demo app built by the stack (`components/app.py`, `InternalApp`); `existing` is a
backend outside the stack (`existing.py`); `private-apigateway` is a private REST API reached through
an interface endpoint the stack creates (`private_apigateway.py`).
"""
