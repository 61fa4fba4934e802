"""The Dear PyGui studio: the only package that imports dearpygui."""
