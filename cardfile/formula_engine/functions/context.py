"""Functions that read the evaluation context: ME() is the current user, MY_BRANCH() the branch.

Both are volatile: in a stored formula they are the user (and branch) who last wrote the record.
"""

from __future__ import annotations

from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions.registry import fixed, register


@register("ME", (0, 0), fixed(t.USER), volatile=True)
def me(ctx):
    return ctx.user_id


@register("MY_BRANCH", (0, 0), fixed(t.link("branch")), volatile=True)
def my_branch(ctx):
    return ctx.branch_id
