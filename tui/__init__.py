"""The workbench: a Textual TUI of linked panes over any huntbench source."""
