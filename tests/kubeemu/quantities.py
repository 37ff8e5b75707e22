"""A Quantity sent as a JSON number, stored as the apiserver stores it: a canonical string.

`resource.Quantity`'s UnmarshalJSON takes a number as well as a string (the official Python
client always sends strings; `kubernetes_asyncio` under KubeSpawner sends `cpu: 0.5` and
`memory: 1000000000`), and the object is stored and served in canonical form: a decimal
mantissa with the largest SI suffix that keeps it whole, e.g. 0.5 -> "500m", 2.0 -> "2",
1000000000 -> "1G", 1536 -> "1536", 0.0000000001 -> "1n" (rounded up to nano, as the apiserver
does). See k8s.io/apimachinery/pkg/api/resource/quantity.go (CanonicalizeBytes, DecimalSI).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

_SI = [(18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k"), (0, ""), (-3, "m"),
       (-6, "u"), (-9, "n")]


def canonical_number(value: int | float) -> str:
    """The canonical DecimalSI string of a numeric quantity."""
    number = Decimal(str(value))  # str(): 0.1 is "0.1", not the binary float's expansion
    if number == 0:
        return "0"
    number = number.quantize(Decimal("1e-9"), rounding=ROUND_CEILING)  # nano is the finest
    for exponent, suffix in _SI:
        mantissa = number.scaleb(-exponent)
        if mantissa == mantissa.to_integral_value():
            return f"{int(mantissa)}{suffix}"
    raise AssertionError("unreachable: every quantity is a whole number of nanos")
