"""Segments stage: dynamic groups from nested all/any/not conditions, with entered/left history."""
