"""The litellm releases this fast-litellm was tested against."""

TESTED_RANGE = ">=1.106.2,<1.110"
_LOW, _HIGH = (1, 106, 2), (1, 110, 0)


def is_tested(version: str) -> bool:
    try:
        parts = tuple(int(p) for p in version.split(".")[:3])
    except ValueError:
        return False
    return _LOW <= parts < _HIGH
