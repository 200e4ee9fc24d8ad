"""The pure-Python twins: one module per native tool module, same function names, same answers.

Each ``ironcode.twin.<module>`` mirrors ``native/tool/src/<module>.rs`` function for function, so
the two can be read side by side. Parity is tested (``test/test_parity.py``): both backends return
the same value or raise the same error kind.

Intended differences (the only ones; everything else is a bug):

- ``stats``: both sample /proc, but each backend keeps its own previous CPU sample, and two samples
  are never taken at the same instant, so values differ by what changed between calls.
- Error *messages* may differ in wording; error *kinds* never do.
- ``fuzzy``: each backend ranks with its own algorithms (native: nucleo, skim, sublime; Python:
  rapidfuzz), so the *order* of ``fuzzy_search`` results differs, and with a ``limit`` so may which
  items make the cut. Which items match (the in-order, smart-case rule) is the same, and tested.
"""


def __getattr__(name: str):
    """``ironcode.twin.read`` etc. without importing every twin (and its libraries) up front."""
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
