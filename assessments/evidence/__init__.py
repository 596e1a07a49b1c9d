"""Evidence files of an assessment, by responsibility:

- ``sniffing``: what kind of file this is, judged by its content (pure, no database);
- ``uploads``: receiving a file over HTTP and the limits an upload must meet (size, name);
- ``services``: the writes (upload, versions, deletion) and who may make them;
- ``selectors``: the reads (list rows, current versions, files expiring early).

Callers import from the submodules; this package exports nothing.
"""
