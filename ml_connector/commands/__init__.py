"""The CLI's commands, one module per area; each registers its sub-commands with `register(sub)`."""
