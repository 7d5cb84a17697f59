"""Run a preset by name: look it up among the loaded plugins' presets, check its input, send it.

Kept apart from :mod:`.model` so that the model (a Preset and its path grammar) needs neither the
plugin manager nor the runner: this module sits above both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .plugins import api_lookup, preset_registry

if TYPE_CHECKING:
    from ..core.results import PathLike, Result
    from ..core.runner import Runner

__all__ = ["run_preset"]


def run_preset(
    runner: Runner,
    name: str,
    preset_input: object = None,
    *,
    check_response: bool = False,
    strict: Optional[bool] = None,
    output: Optional[PathLike] = None,
) -> Result:
    """Run the preset called ``name`` (the Python twin of ``mp-custom-action preset NAME``).

    ``projectId`` defaults to the runner's project id (MP_PROJECT_ID). The input is checked before
    anything is sent; ``check_response`` warns (never fails) on a body that does not match the
    preset's schema for its status. A preset may use an API selector a plugin adds, whatever
    selectors ``runner`` was made with.
    """
    preset = preset_registry(strict=strict).get(name)
    inputs = preset.to_inputs(preset_input, project_id=runner.credentials.project_id)
    result = runner.send(runner.prepare(inputs, apis=api_lookup), output=output)
    if check_response:
        preset.warn_response(result)
    return result
