"""Evidence files of an assessment, by responsibility:

- ``sniffing``: what kind of file this is, judged by its content (pure, no database);
- ``uploads``: receiving a file over HTTP and the limits an upload must meet (size, name);
- ``inspection``: what a file holds, refused before it is stored (zip bombs, PDF scripts);
- ``scanning``: the malware scanner interface and its clamd client (no database);
- ``services``: the writes (upload, versions, deletion, scan verdicts) and who may make them;
- ``tasks``: the scan and its sweep, on a worker;
- ``selectors``: the reads (list rows, current versions, files expiring early).

Callers import from the submodules; this package exports nothing.
"""
