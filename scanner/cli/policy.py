"""`modelscan policy validate|show`."""

from __future__ import annotations

import click

from scanner.cli import fail


@click.group()
def policy() -> None:
    """Validate and show organisation policies."""


@policy.command()
@click.argument("policies", nargs=-1, required=True, metavar="FILE|NAME...")
def validate(policies) -> None:
    """Validate policy files against the policy schema (exit 2 on the first invalid one)."""
    from scanner.policy.model import PolicyError, load_policy

    for ref in policies:
        try:
            p = load_policy(ref)
        except PolicyError as exc:
            raise fail(str(exc)) from None
        click.echo(f"ok: {ref}: policy '{p.name}' ({p.hash[:19]})")


@policy.command()
@click.argument("ref", required=False, metavar="[FILE|NAME]")
def show(ref) -> None:
    """Print a policy as the scanner reads it (after 'extends')."""
    import yaml

    from scanner.evidence import thaw
    from scanner.policy.model import PolicyError, load_policy

    try:
        p = load_policy(ref)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    click.echo(yaml.safe_dump(thaw(dict(p.raw)), sort_keys=False, allow_unicode=True), nl=False)
