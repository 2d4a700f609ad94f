"""Policies for aws/lb."""
