"""Functions that read the evaluation context: ME() is the current user, MY_BRANCH() the branch."""

from __future__ import annotations

from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions.registry import fixed, register


@register("ME", (0, 0), fixed(t.USER))
def me(ctx):
    return ctx.user_id


@register("MY_BRANCH", (0, 0), fixed(t.link("branch")))
def my_branch(ctx):
    return ctx.branch_id
