"""The reachability model of a stack (internet -> entries -> nodes -> app), built once per
AnalyzeStack and shared by the stack policies that reason about paths."""

from .model import INTERNET, Endpoint, Model, Problem, model_for

__all__ = ["INTERNET", "Endpoint", "Model", "Problem", "model_for"]
