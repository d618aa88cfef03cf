"""Dialogs and full screens over the workbench (help, tag, prompt, query editor, hunts, text)."""
