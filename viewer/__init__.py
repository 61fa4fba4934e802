"""The viewport: orbit camera, splat renderers (GLSL via moderngl; a torch reference), picking.

Imports core, never app. Import submodules directly (``viewer.camera``, ``viewer.gl_renderer``) so
that using the camera alone does not load OpenGL.
"""
