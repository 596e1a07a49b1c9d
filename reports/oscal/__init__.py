"""OSCAL assessment-results documents of approved assessments and of published rankings."""
