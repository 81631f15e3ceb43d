"""Text functions: CONCAT, LEFT, RIGHT, MID, LEN, UPPER, LOWER, TRIM, SUBSTITUTE, CONTAINS, TEXT.

Every argument that is not a number is read as text (`to_text`; blank is ""). Positions are
1-based like spreadsheets. CONTAINS ignores case. TRIM removes spaces, tabs and line breaks at
both ends and turns every run of them inside into one space.

SUBSTITUTE(text, old, new) replaces every occurrence of ``old`` (case-sensitive, left to right,
occurrences do not overlap; an empty ``old`` changes nothing). With a fourth argument
``instance`` it replaces only that occurrence, counted from 1 among the ones the three-argument
form would replace (``SUBSTITUTE("a-b-c", "-", "+", 2) = "a-b+c"``); a fraction is cut toward
zero. When there is no such occurrence, or ``instance`` is blank, zero or negative, the text
comes back unchanged (Excel gives #VALUE! for the last three; unchanged text keeps a typo from
blanking a computed field).

TEXT(value) is the canonical text of `semantics.to_text`. TEXT(value, format) takes a format
that must be written in the formula as a text in quotes (it is checked when the formula is
defined) and is one of `FORMATS`:

- numbers ``"0"``, ``"0.0"``, ``"0.00"``, ``"0.000"``, ``"#,##0"``, ``"#,##0.00"``: that many
  decimals, rounded half away from zero; ``#,##0`` groups thousands with ``,``; the decimal
  point is ``.`` (Excel style, whatever the language). Money gives its amount, without the
  currency code. A value that rounds to zero has no minus sign (``-0.004`` is ``0.00``).
- percents ``"0%"`` and ``"0.0%"``: a number read as a fraction (``0.155`` is ``15.5%``).
- dates ``"YYYY-MM-DD"``, ``"DD.MM.YYYY"``, ``"DD/MM/YYYY"``, ``"MM/DD/YYYY"``, ``"DD.MM.YY"``,
  for dates and datetimes; for datetimes also each of them followed by ``" HH:MM"`` or
  ``" HH:MM:SS"`` (24-hour clock). Datetimes are seen in the installation's time zone. Years
  have four digits (``0999``), ``YY`` the last two.

A blank value gives "" in every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal

from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.ast import Span, TextLiteral
from cardfile.formula_engine.errors import FormulaTypeError, FormulaValueError
from cardfile.formula_engine.functions.registry import (
    NUMBER,
    TEXT,
    Arg,
    fixed,
    register,
    require,
)
from cardfile.formula_engine.semantics import DECIMAL_CONTEXT, Money, local, to_text

_SPACES = re.compile(r"[ \t\r\n]+")


def _count(value) -> int:
    return max(0, int(value if value is not None else 0))


@register("CONCAT", (1, None), fixed(t.TEXT))
def concat(ctx, *values):
    return "".join(to_text(value, ctx.tz) for value in values)


@register("LEFT", (1, 2), fixed(t.TEXT, TEXT, NUMBER))
def left(ctx, value, count=Decimal(1)):
    return to_text(value, ctx.tz)[: _count(count)]


@register("RIGHT", (1, 2), fixed(t.TEXT, TEXT, NUMBER))
def right(ctx, value, count=Decimal(1)):
    count = _count(count)
    return to_text(value, ctx.tz)[-count:] if count else ""


@register("MID", (3, 3), fixed(t.TEXT, TEXT, NUMBER, NUMBER))
def mid(ctx, value, start, count):
    begin = max(1, int(start or 1)) - 1
    return to_text(value, ctx.tz)[begin : begin + _count(count)]


@register("LEN", (1, 1), fixed(t.INTEGER, TEXT))
def len_(ctx, value):
    return Decimal(len(to_text(value, ctx.tz)))


@register("UPPER", (1, 1), fixed(t.TEXT, TEXT))
def upper(ctx, value):
    return to_text(value, ctx.tz).upper()


@register("LOWER", (1, 1), fixed(t.TEXT, TEXT))
def lower(ctx, value):
    return to_text(value, ctx.tz).lower()


@register("TRIM", (1, 1), fixed(t.TEXT, TEXT))
def trim(ctx, value):
    return _SPACES.sub(" ", to_text(value, ctx.tz)).strip(" ")


@register("SUBSTITUTE", (3, 4), fixed(t.TEXT, TEXT, TEXT, TEXT, NUMBER))
def substitute(ctx, value, old, new, *instance):
    text, old, new = to_text(value, ctx.tz), to_text(old, ctx.tz), to_text(new, ctx.tz)
    if not old:
        return text
    if not instance:
        return text.replace(old, new)
    nth = int(instance[0] or 0)
    pieces = text.split(old)  # the pieces between the occurrences replace() would replace
    if not 1 <= nth < len(pieces):
        return text
    return old.join(pieces[:nth]) + new + old.join(pieces[nth:])


@register("CONTAINS", (2, 2), fixed(t.BOOLEAN, TEXT, TEXT))
def contains(ctx, value, part):
    return to_text(part, ctx.tz).lower() in to_text(value, ctx.tz).lower()


@dataclass(frozen=True)
class TextFormat:
    """A format of TEXT: numbers with ``places`` decimals (thousands ``grouped``; a ``percent``
    is multiplied by 100 and gets ``%``), or a date ``pattern`` in YYYY, YY, MM and DD with an
    optional ``clock`` (``"HH:MM"`` or ``"HH:MM:SS"``) after a space."""

    kinds: frozenset[t.Kind]
    expected: str
    places: int = 0
    grouped: bool = False
    percent: bool = False
    pattern: str = ""
    clock: str = ""

    @property
    def is_number(self) -> bool:
        return not self.pattern


DATE_PATTERNS = ("YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YY")
CLOCKS = ("HH:MM", "HH:MM:SS")


def _formats() -> dict[str, TextFormat]:
    numbers = (t.NUMERIC, "a number or money")  # labels as in registry.py (import time)
    fractions = (t.PLAIN_NUMBERS, "a number")
    dates = (frozenset({t.Kind.DATE, t.Kind.DATETIME}), "a date")
    moments = (frozenset({t.Kind.DATETIME}), "a datetime")
    formats = {
        "0": TextFormat(*numbers),
        "0.0": TextFormat(*numbers, places=1),
        "0.00": TextFormat(*numbers, places=2),
        "0.000": TextFormat(*numbers, places=3),
        "#,##0": TextFormat(*numbers, grouped=True),
        "#,##0.00": TextFormat(*numbers, places=2, grouped=True),
        "0%": TextFormat(*fractions, percent=True),
        "0.0%": TextFormat(*fractions, places=1, percent=True),
    }
    for pattern in DATE_PATTERNS:
        formats[pattern] = TextFormat(*dates, pattern=pattern)
        for clock in CLOCKS:
            formats[f"{pattern} {clock}"] = TextFormat(*moments, pattern=pattern, clock=clock)
    return formats


FORMATS = _formats()


def _unknown_format(value: object, span: Span | None = None) -> FormulaTypeError:
    accepted = [f'"{name}"' for name in FORMATS]
    return FormulaTypeError(
        _("Unknown TEXT format {format!r}; use one of {accepted}.").format(
            format=value, accepted=", ".join(accepted)
        ),
        span=span,
        expected=accepted,
    )


def _text_type(args: list[Arg]) -> t.FormulaType:
    if len(args) == 1:
        return t.TEXT
    value, format_ = args
    if not isinstance(format_.node, TextLiteral):
        raise FormulaTypeError(
            _('The format of TEXT must be written as a text in quotes, such as "0.00".'),
            span=format_.node.span,
            expected=[_("a format in quotes")],
        )
    spec = FORMATS.get(format_.node.value)
    if spec is None:
        raise _unknown_format(format_.node.value, format_.node.span)
    require(value, spec.kinds, spec.expected)
    return t.TEXT


def fixed_point(amount: Decimal, places: int, *, grouped: bool = False) -> str:
    """``amount`` with ``places`` decimals, rounded half away from zero, without exponent; a
    value that rounds to zero has no sign. ``grouped`` puts "," between thousands."""
    context = Context(prec=max(DECIMAL_CONTEXT.prec, amount.adjusted() + places + 3))
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=context)
    text = format(rounded.copy_abs(), ",f" if grouped else "f")
    return f"-{text}" if rounded < 0 else text


def format_text(value: object, name: str, tz: tzinfo | None) -> str:
    """``value`` written in the TEXT format ``name`` (see the module's docstring)."""
    spec = FORMATS.get(name)
    if spec is None:
        raise _unknown_format(name)
    if value is None:
        return ""
    if spec.is_number and not spec.percent and isinstance(value, Money):
        value = value.amount
    if spec.is_number:
        fits = isinstance(value, Decimal)
    else:
        fits = isinstance(value, datetime if spec.clock else date)
    if not fits:
        raise FormulaValueError(
            _("The format {format!r} needs {expected}.").format(
                format=name, expected=spec.expected
            ),
            expected=[spec.expected],
        )
    if not spec.is_number:
        return _date_text(local(value, tz) if isinstance(value, datetime) else value, spec)
    if spec.percent:  # the fraction in points; scaleb only moves the point, nothing is rounded
        digits = max(DECIMAL_CONTEXT.prec, len(value.as_tuple().digits))
        value = value.scaleb(2, context=Context(prec=digits))
    return fixed_point(value, spec.places, grouped=spec.grouped) + ("%" if spec.percent else "")


def _date_text(moment: date, spec: TextFormat) -> str:
    text = (
        spec.pattern.replace("YYYY", f"{moment.year:04d}")
        .replace("YY", f"{moment.year % 100:02d}")
        .replace("MM", f"{moment.month:02d}")
        .replace("DD", f"{moment.day:02d}")
    )
    if spec.clock:  # only datetimes get here with a clock
        text += f" {moment.hour:02d}:{moment.minute:02d}"
        text += f":{moment.second:02d}" if spec.clock == "HH:MM:SS" else ""
    return text


@register("TEXT", (1, 2), _text_type)
def text(ctx, value, *format_):
    if not format_:
        return to_text(value, ctx.tz)
    return format_text(value, format_[0], ctx.tz)
