"""Policies for aws."""
