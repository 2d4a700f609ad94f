"""The one error type the engine reports as exit code 2."""


class EngineError(Exception):
    """Invalid stack settings, a failing program or a broken policy pack: nothing is analysed."""
