"""Bot runtime: the Bot interface, context, modes, authority enforcement, config and clock."""
