"""Drop-in replacement of a model's activation modules."""

from __future__ import annotations

import inspect

from torch import nn

DEFAULT_TARGETS = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
)


def _arity(factory) -> int:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return 0
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional)


def replace_activations(model: nn.Module, factory, targets=DEFAULT_TARGETS) -> list[str]:
    """Replace every submodule of a type in ``targets`` by ``factory``'s product, in place.

    ``factory`` is an activation name or callable understood by
    :func:`~photonn.activations.get_activation`, or a callable taking no
    argument, the old module, or ``(qualified_name, old_module)``; it is called
    once per replaced module so that each gets its own parameters. Activations
    applied functionally (``torch.relu`` inside ``forward``) cannot be seen
    and are left alone. Returns the qualified names of the replaced modules.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    targets = tuple(targets) if not isinstance(targets, type) else (targets,)
    if isinstance(model, targets):
        raise ValueError(
            f"the model itself is a {type(model).__name__}; replace it directly, or wrap it "
            "in a container"
        )
    if isinstance(factory, str):
        from .registry import get_activation

        name_ = factory

        def factory():
            return get_activation(name_)

    if not callable(factory):
        raise TypeError(f"factory must be a callable or an activation name, got {factory!r}")
    n_args = _arity(factory)
    if n_args > 2:
        raise TypeError("factory must take 0, 1 (old module) or 2 (name, old module) arguments")
    replaced = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if not isinstance(child, targets):
                continue
            qual = f"{parent_name}.{child_name}" if parent_name else child_name
            args = ((), (child,), (qual, child))[n_args]
            new = factory(*args)
            if not isinstance(new, nn.Module):
                raise TypeError(f"factory returned {type(new).__name__} for {qual!r}, not a Module")
            setattr(parent, child_name, new)
            replaced.append(qual)
    return replaced
