"""The core's built-in plugins: features the core ships but registers through the plugin
manager like any outside plugin, as pytest registers its own (``execution_modes``: the four
built-in ``exec_mode`` strategies). They are always registered and never "enabled": they have
no config section and are not listed among a deployment's enabled plugins."""
