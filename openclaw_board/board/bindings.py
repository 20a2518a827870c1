"""The key table (view/keys.py) as Textual bindings, for the widgets and screens that hold them."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from .view.keys import FOOTER_ORDER, Bind, Scope, binds


def bindings(scope: Scope) -> list[BindingType]:
    """One Binding per action: its labelled key first (the footer shows that one), then the others."""
    by_action: dict[str, list[Bind]] = {}
    for b in binds(scope):
        if b.action != "command_palette":  # Textual binds its palette itself
            by_action.setdefault(b.action, []).append(b)
    out: list[Binding] = []
    for action, group in by_action.items():
        primary = next((b for b in group if b.footer or b.description), group[0])
        keys = [primary.key, *(b.key for b in group if b is not primary)]
        out.append(Binding(",".join(keys), action, primary.footer or primary.description, show=bool(primary.footer)))
    return [*sorted(out, key=lambda b: FOOTER_ORDER.index(b.action) if b.action in FOOTER_ORDER else len(FOOTER_ORDER))]
