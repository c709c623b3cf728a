"""``eidos-cli bundle check``: a pre-flight check of a bundle against its real charts.

The checks are plain functions over plain data (values trees, chart defaults and schemas,
rendered objects), tested without I/O: :mod:`.values_keys`, :mod:`.crds`, :mod:`.namespaces`,
:mod:`.references`, :mod:`.schema`. Reading the install plan is :mod:`.installplan`; getting
charts and running ``helm template`` is :mod:`.charts`; :mod:`.run` puts them together and
:mod:`.report` formats the result.
"""
