"""The bad-input corpus (issue #13): ``generate.py`` writes it, ``tests/test_corpus.py`` runs it."""
