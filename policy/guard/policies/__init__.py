"""Policies, one per module, laid out like what they guard (aws/<service>/..., wallarm/..., stack/...)."""
