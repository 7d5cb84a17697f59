"""``python -m mp_custom_action``: the same as the ``mp-custom-action`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
