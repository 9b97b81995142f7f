"""Offline dataset tools, beside the runtime pipeline: ``lightning-vid-data`` (:mod:`.command`)
runs :mod:`.extract` (frame folders), :mod:`.reencode` (short GOP), :mod:`.check` (the files
the loaders would skip) and the synthetic benchmark, each over many files with :mod:`.jobs`
(parallel, resumable, a progress bar and a JSON report)."""
