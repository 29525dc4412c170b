"""Quantities against Kubernetes' own grammar (k8s.io/apimachinery resource.Quantity):

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <sign>            ::= "+" | "-"
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>

(n and u are accepted by upstream's parser though its comment omits them; the exponent is
an integer there.) Every string the grammar makes parses, to the value it spells; the
near misses around it (whitespace, a trailing newline, two suffixes, ...) are refused.
Kafkube caps exponents at |64| (upstream's is far beyond any real resource); the
generated exponents stay within it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schemas.quantity import parse_quantity

BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

digits = st.text(alphabet="0123456789", min_size=1, max_size=12)
numbers = st.one_of(
    digits,
    st.tuples(digits, digits).map(".".join),
    digits.map(lambda d: d + "."),
    digits.map(lambda d: "." + d),
)
signs = st.sampled_from(["", "+", "-"])
exponents = st.tuples(st.sampled_from("eE"), signs, st.integers(0, 64)).map(
    lambda t: (f"{t[0]}{t[1]}{t[2]}", int(f"{t[1]}{t[2]}")))
suffixes = st.one_of(
    st.sampled_from(sorted(BINARY)).map(lambda s: (s, Decimal(1024) ** BINARY[s])),
    st.sampled_from(sorted(DECIMAL)).map(lambda s: (s, Decimal(10) ** DECIMAL[s])),
    exponents.map(lambda e: (e[0], Decimal(10) ** e[1])),
)


@st.composite
def parts(draw: st.DrawFn) -> tuple[str, str, str, Decimal]:
    """Sign, number and suffix of a quantity of the grammar, and the value they spell."""
    sign, number, (suffix, multiplier) = draw(signs), draw(numbers), draw(suffixes)
    return sign, number, suffix, Decimal(f"{sign}{number}") * multiplier


def quantities() -> st.SearchStrategy[tuple[str, Decimal]]:
    """A string of the grammar and the value it spells."""
    return parts().map(lambda p: (f"{p[0]}{p[1]}{p[2]}", p[3]))


@given(quantities())
@example(("64Mi", Decimal(64 * 2**20)))
@example(("-.5e-3", Decimal("-0.0005")))
@example(("1.E", Decimal(10) ** 18))
def test_every_quantity_of_the_grammar_parses_to_its_value(case: tuple[str, Decimal]) -> None:
    text, value = case
    assert parse_quantity(text) == value


WHITESPACE = [" ", "\t", "\n", "\r\n", "\r", "\v", "\f", "\u00a0", "\u2003"]


# ("i" is left out: after E, P, T, G or M it makes a binary suffix, not a second one)
SECOND_SUFFIXES = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
                   "e", "e3", "E-2", "K"]


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A quantity of the grammar, spoiled in one of the ways people (and YAML) spoil them."""
    sign, number, suffix, _ = draw(parts())
    text = f"{sign}{number}{suffix}"
    space = draw(st.sampled_from(WHITESPACE))
    spoil = draw(st.sampled_from(["lead", "trail", "inside", "suffix", "sign", "dot", "junk"]))
    if spoil == "lead":
        return space + text
    if spoil == "trail":
        return text + space
    if spoil == "inside":  # anywhere inside: within the number, or before the suffix
        at = draw(st.integers(1, len(text) - 1)) if len(text) > 1 else 1
        return text[:at] + space + text[at:]
    if spoil == "suffix":  # a second suffix after a first one
        first = suffix or draw(st.sampled_from(["Ki", "m", "k", "M", "e3"]))
        return f"{sign}{number}{first}{draw(st.sampled_from(SECOND_SUFFIXES))}"
    if spoil == "sign":
        return draw(st.sampled_from(["++", "--", "+-", "-+"])) + number + suffix
    if spoil == "dot":  # a second decimal point
        return f"{sign}{number}.5{suffix}" if "." in number else f"{sign}{number}..5{suffix}"
    return text + draw(st.sampled_from(["x", "_0", "\u0661", "\uff11", "B", "b"]))  # junk, non-ASCII digits


@given(near_misses())
@example("64Mi\n")
@example("64Mi ")
@example(" 64Mi")
@example("64 Mi")
@example("64MiMi")
@example("1KiKi")
@example("1mm")
@example("1e3Ki")
@example("1Kie3")
@example("++1")
@example("1..5")
def test_near_misses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


@pytest.mark.parametrize("text", [
    "", "+", "-", ".", "+.", "e3", "Ki", "1e", "1E+", "1e3.5", "1e-", "1K", "1ki", "1KI", "1mi", "1b",
    "inf", "Infinity", "NaN", "1_000", "0x10", "1,5", "1e65", "1e-65",
])
def test_outside_the_grammar(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)
