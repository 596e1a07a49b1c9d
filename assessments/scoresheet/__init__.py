"""Excel score sheets (评分表) for assessors: ``workbook`` builds and reads the workbook (no
writes), ``services`` imports an uploaded one. Callers import from the submodules."""
