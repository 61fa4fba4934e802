"""Edit operations as plain objects with apply/undo (paint strokes, layer swaps, pose edits).

Imports core only: no GUI, no GL.
"""
