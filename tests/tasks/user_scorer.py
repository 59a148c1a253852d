"""A user's own scoring function, used through the ``python`` scorer in the tests."""


def length_ok(case, output):
    """1 when the output is as long as the reference."""
    return float(len(output) == len(case.reference))
