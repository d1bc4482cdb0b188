"""The `polytraders` command line: one module per command group."""
