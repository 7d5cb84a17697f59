"""Built-in preset definitions (OpenAPI JSON documents); data only, shipped as mp_custom_action._actions."""
