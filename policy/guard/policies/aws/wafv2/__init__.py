"""Policies for aws/wafv2."""
