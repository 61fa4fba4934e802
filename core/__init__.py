"""Generation core: body models, layered Gaussian avatars, LBS, file formats.

Nothing in here imports a GUI or OpenGL, so it runs in scripts, tests and on a GPU box.
"""
