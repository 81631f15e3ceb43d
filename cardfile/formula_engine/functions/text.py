"""Text functions: CONCAT, LEFT, RIGHT, MID, LEN, UPPER, LOWER, TRIM, SUBSTITUTE, CONTAINS, TEXT.

Every argument that is not a number is read as text (`to_text`; blank is ""). Positions are
1-based like spreadsheets. CONTAINS ignores case. TRIM removes spaces, tabs and line breaks at
both ends and turns every run of them inside into one space.
"""

from __future__ import annotations

import re
from decimal import Decimal

from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions.registry import NUMBER, TEXT, fixed, register
from cardfile.formula_engine.semantics import to_text

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


@register("SUBSTITUTE", (3, 3), fixed(t.TEXT, TEXT, TEXT, TEXT))
def substitute(ctx, value, old, new):
    text, old = to_text(value, ctx.tz), to_text(old, ctx.tz)
    return text.replace(old, to_text(new, ctx.tz)) if old else text


@register("CONTAINS", (2, 2), fixed(t.BOOLEAN, TEXT, TEXT))
def contains(ctx, value, part):
    return to_text(part, ctx.tz).lower() in to_text(value, ctx.tz).lower()


@register("TEXT", (1, 1), fixed(t.TEXT, TEXT))
def text(ctx, value):
    return to_text(value, ctx.tz)
